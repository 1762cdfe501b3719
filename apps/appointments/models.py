import secrets

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.models import TimeStampedModel, Weekday
from apps.organizations.models import Organization

HEX_COLOR = r"^#[0-9a-fA-F]{6}$"


def _new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class TsTzRange(models.Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Provider(TimeStampedModel):
    """Someone patients book with: an optometrist, or staff who run their own agenda."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="providers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="providers",
        verbose_name=_("user"),
    )
    display_name = models.CharField(_("name"), max_length=120)
    color = models.CharField(_("colour"), max_length=7, default="#0d6efd")
    is_active = models.BooleanField(_("active"), default=True)
    # The secret in the provider's iCalendar feed URL; rotating it revokes old subscriptions.
    feed_token = models.CharField(max_length=64, unique=True, default=_new_feed_token, editable=False)

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], condition=Q(user__isnull=False),
                                    name="appointments_provider_user_unique"),
            models.CheckConstraint(condition=Q(color__regex=HEX_COLOR), name="appointments_provider_color"),
        ]

    def __str__(self):
        return self.display_name


class WorkingHours(models.Model):
    """One block of a provider's week, in the organization's local (wall-clock) time."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("to"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["provider", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="appointments_wh_weekday"),
            models.CheckConstraint(condition=Q(start_time__lt=F("end_time")), name="appointments_wh_start_before_end"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class TimeOff(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("to"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("time off")
        verbose_name_plural = _("time off")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="appointments_timeoff_start_before_end"),
        ]

    def __str__(self):
        return f"{self.provider}: {self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M}"


class AppointmentType(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="appointment_types")
    name = models.CharField(_("name"), max_length=120)
    duration_minutes = models.PositiveSmallIntegerField(_("default duration (minutes)"), default=30)
    color = models.CharField(_("colour"), max_length=7, default="#6c757d")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="appointments_type_name_unique"),
            models.CheckConstraint(condition=Q(duration_minutes__gte=5, duration_minutes__lte=480),
                                   name="appointments_type_duration_range"),
            models.CheckConstraint(condition=Q(color__regex=HEX_COLOR), name="appointments_type_color"),
        ]

    def __str__(self):
        return self.name


class SchedulingSettings(models.Model):
    """Per-clinic scheduling rules; a clinic without a row uses the defaults."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="scheduling_settings")
    late_cancel_hours = models.PositiveSmallIntegerField(
        _("late cancellation (hours before)"), default=24,
        help_text=_("A cancellation closer than this to the start counts as late."),
    )
    slot_minutes = models.PositiveSmallIntegerField(_("calendar slot (minutes)"), default=15)
    early_arrival_minutes = models.PositiveSmallIntegerField(
        _("early arrival (minutes before)"), default=60,
        help_text=_("How long before the start staff may record that the patient arrived."),
    )

    class Meta:
        verbose_name = _("scheduling settings")
        verbose_name_plural = _("scheduling settings")
        constraints = [
            models.CheckConstraint(condition=Q(slot_minutes__gte=5, slot_minutes__lte=120),
                                   name="appointments_settings_slot_range"),
            models.CheckConstraint(condition=Q(early_arrival_minutes__lte=720),
                                   name="appointments_settings_early_arrival_range"),
        ]

    def __str__(self):
        return str(self.organization)


# Labels carry a context: Spanish agrees them with "cita" (Confirmada, Cancelada...).
class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", pgettext_lazy("appointment", "Scheduled")
    ARRIVED = "arrived", pgettext_lazy("appointment", "Arrived")
    IN_PROGRESS = "in_progress", pgettext_lazy("appointment", "In progress")
    COMPLETED = "completed", pgettext_lazy("appointment", "Completed")
    NO_SHOW = "no_show", pgettext_lazy("appointment", "No-show")
    CANCELLED = "cancelled", pgettext_lazy("appointment", "Cancelled")


# Appointments in these states free their slot (the exclusion constraint ignores them).
RELEASED_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


class ConfirmationStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", pgettext_lazy("appointment", "Unconfirmed")
    REQUESTED = "requested", pgettext_lazy("appointment", "Confirmation requested")
    CONFIRMED = "confirmed", pgettext_lazy("appointment", "Confirmed")
    DECLINED = "declined", pgettext_lazy("appointment", "Declined")
    CALLBACK_REQUESTED = "callback_requested", pgettext_lazy("appointment", "Callback requested")
    NO_RESPONSE = "no_response", pgettext_lazy("appointment", "No response")


class CancelledBy(models.TextChoices):
    STAFF = "staff", _("Staff")
    PATIENT = "patient", _("Patient")


class EventSource(models.TextChoices):
    UI = "ui", _("Staff UI")
    API = "api", _("API")
    WHATSAPP = "whatsapp", _("WhatsApp")
    SYSTEM = "system", _("System")


class Appointment(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="appointments")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments",
                                verbose_name=_("patient"))
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments",
                                 verbose_name=_("provider"))
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments",
                                         verbose_name=_("appointment type"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    notes = models.TextField(_("notes"), blank=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+", verbose_name=_("booked by"))
    status = models.CharField(_("status"), max_length=20, choices=AppointmentStatus.choices,
                              default=AppointmentStatus.SCHEDULED)
    confirmation = models.CharField(_("confirmation"), max_length=20, choices=ConfirmationStatus.choices,
                                    default=ConfirmationStatus.UNCONFIRMED)
    cancelled_by = models.CharField(_("cancelled by"), max_length=10, choices=CancelledBy.choices, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)
    cancelled_late = models.BooleanField(_("late cancellation"), default=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="appointments_start_before_end"),
            models.CheckConstraint(condition=Q(status__in=AppointmentStatus.values), name="appointments_status"),
            models.CheckConstraint(condition=Q(confirmation__in=ConfirmationStatus.values),
                                   name="appointments_confirmation"),
            models.CheckConstraint(
                condition=(Q(status=AppointmentStatus.CANCELLED, cancelled_at__isnull=False)
                           & ~Q(cancelled_by=""))
                | (~Q(status=AppointmentStatus.CANCELLED) & Q(cancelled_at__isnull=True, cancelled_by="")),
                name="appointments_cancellation_fields",
            ),
            # The guarantee against double booking: PostgreSQL refuses a second live appointment
            # whose [start, end) overlaps one of the same provider, however the rows arrive.
            ExclusionConstraint(
                name="appointments_no_provider_overlap",
                expressions=[(TsTzRange("start", "end"), RangeOperators.OVERLAPS),
                             ("provider", RangeOperators.EQUAL)],
                condition=~Q(status__in=RELEASED_STATUSES),
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "start"], name="appointments_org_start"),
            models.Index(fields=["provider", "start"], name="appointments_provider_start"),
            models.Index(fields=["patient", "start"], name="appointments_patient_start"),
        ]

    def __str__(self):
        return f"{self.patient} · {self.start:%Y-%m-%d %H:%M}"

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def is_live(self) -> bool:
        return self.status not in RELEASED_STATUSES


class EventKind(models.TextChoices):
    BOOKED = "booked", _("Booked")
    MOVED = "moved", _("Moved")
    CANCELLED = "cancelled", _("Cancelled")
    STATUS = "status", _("Status changed")
    CONFIRMATION = "confirmation", _("Confirmation changed")
    UPDATED = "updated", _("Updated")


class AppointmentEvent(models.Model):
    """Append-only history of an appointment: who did what, when, from where."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_value = models.CharField(max_length=64, blank=True)
    to_value = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=10, choices=EventSource.choices, default=EventSource.UI)

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=EventSource.values), name="appointments_event_source"),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="appointments_event_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.from_value} → {self.to_value}"
