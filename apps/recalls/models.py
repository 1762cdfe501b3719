from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.models import TimeStampedModel
from apps.organizations.models import Organization


class DateRange(models.Func):
    function = "DATERANGE"
    output_field = DateRangeField()


class RecallKind(models.TextChoices):
    ANNUAL_EXAM = "annual_exam", _("Eye exam (after the last completed exam)")
    CONTACT_LENS_RENEWAL = "contact_lens_renewal", _("Contact lens renewal (after a contact lens order)")


class RecallRule(TimeStampedModel):
    """When a clinic calls its patients back: so many months after an exam or a contact lens order."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="recall_rules")
    kind = models.CharField(_("kind"), max_length=24, choices=RecallKind.choices)
    months = models.PositiveSmallIntegerField(_("months after"), default=12)
    is_enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("recall rule")
        verbose_name_plural = _("recall rules")
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="recalls_rule_kind_unique"),
            models.CheckConstraint(condition=Q(kind__in=RecallKind.values), name="recalls_rule_kind"),
            models.CheckConstraint(condition=Q(months__gte=1, months__lte=60), name="recalls_rule_months_range"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.months}"


class RecallStatus(models.TextChoices):
    DUE = "due", pgettext_lazy("recall", "To contact")
    CONTACTED = "contacted", pgettext_lazy("recall", "Contacted")
    BOOKED = "booked", pgettext_lazy("recall", "Booked")
    DECLINED = "declined", pgettext_lazy("recall", "Declined")


OPEN_STATUSES = (RecallStatus.DUE, RecallStatus.CONTACTED)


class Recall(TimeStampedModel):
    """One patient to call back under one rule, for the period from the event it counts from to the due date."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="recalls")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="recalls",
                                verbose_name=_("patient"))
    rule = models.ForeignKey(RecallRule, on_delete=models.CASCADE, related_name="recalls", verbose_name=_("rule"))
    anchor_date = models.DateField(_("counted from"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=10, choices=RecallStatus.choices, default=RecallStatus.DUE)
    message = models.ForeignKey("notifications.Message", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    appointment = models.ForeignKey("appointments.Appointment", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("appointment"))
    contacted_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    booking_requested_at = models.DateTimeField(_("patient asked to book at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("handled by"))

    class Meta:
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RecallStatus.values), name="recalls_recall_status"),
            models.CheckConstraint(condition=Q(anchor_date__lt=F("due_on")), name="recalls_recall_anchor_before_due"),
            models.CheckConstraint(condition=Q(status__in=OPEN_STATUSES, closed_at__isnull=True)
                                   | (~Q(status__in=OPEN_STATUSES) & Q(closed_at__isnull=False)),
                                   name="recalls_recall_closed_at"),
            # At most one recall per patient per rule period: two recalls of a rule for one patient never
            # cover overlapping [counted from, due on) periods, however the rows arrive.
            ExclusionConstraint(
                name="recalls_one_per_period",
                expressions=[(DateRange("anchor_date", "due_on"), RangeOperators.OVERLAPS),
                             ("rule", RangeOperators.EQUAL), ("patient", RangeOperators.EQUAL)],
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "due_on"], name="recalls_org_status_due")]

    def __str__(self):
        return f"{self.patient} · {self.rule.get_kind_display()} · {self.due_on}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
