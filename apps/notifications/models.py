import uuid
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel, Weekday
from apps.notifications.templating import (
    validate_meta_language,
    validate_meta_parameters,
    validate_meta_template_name,
    validate_template_body,
)
from apps.organizations.models import Organization


class NotificationSettings(TimeStampedModel):
    """One clinic's messaging rules; created with usable defaults the first time it is read."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE,
                                        related_name="notification_settings")
    whatsapp_enabled = models.BooleanField(_("send WhatsApp messages"), default=True)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True,
                                   help_text=_("Local time. Leave both empty to allow any hour."))
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    closed_days = ArrayField(models.PositiveSmallIntegerField(choices=Weekday.choices), default=list, blank=True,
                             verbose_name=_("closed days"))
    confirm_keywords = models.CharField(_("words that confirm"), max_length=255,
                                        default="1, si, sí, confirmo, confirmar, ok",
                                        help_text=_("Separated by commas; case and accents are ignored."))
    callback_keywords = models.CharField(_("words that ask for a call"), max_length=255,
                                         default="3, llamar, llamenme, llamame, call me",
                                         help_text=_("Separated by commas; case and accents are ignored."))
    cancel_keywords = models.CharField(_("words that cancel"), max_length=255, default="2, no, cancelar, cancelo",
                                       help_text=_("Separated by commas; case and accents are ignored."))
    notify_booked = models.BooleanField(
        _("tell the patient when staff book an appointment"), default=False)
    notify_moved = models.BooleanField(
        _("tell the patient when staff move an appointment"), default=False)
    notify_cancelled = models.BooleanField(
        _("tell the patient when staff cancel an appointment"), default=False)
    no_response_hours = models.PositiveSmallIntegerField(
        _("mark as no response (hours before)"), default=2,
        help_text=_("A confirmation still unanswered this many hours before the appointment is marked no response."),
    )

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | (Q(quiet_start__isnull=False, quiet_end__isnull=False) & ~Q(quiet_start=F("quiet_end"))),
                name="notifications_settings_quiet_hours_pair",
            ),
        ]

    def __str__(self):
        return str(self.organization)


class ReminderRule(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="reminder_rules")
    lead_hours = models.PositiveSmallIntegerField(_("send this many hours before"), default=24)
    skip_within_hours = models.PositiveSmallIntegerField(
        _("don't send within (hours)"), default=2,
        help_text=_("Bookings made closer than this to the start get no reminder from this rule."),
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["-lead_hours"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "lead_hours"], name="notifications_rule_lead_unique"),
            models.CheckConstraint(condition=Q(lead_hours__gte=1, lead_hours__lte=720),
                                   name="notifications_rule_lead_range"),
            models.CheckConstraint(condition=Q(skip_within_hours__lt=F("lead_hours")),
                                   name="notifications_rule_skip_below_lead"),
        ]

    def __str__(self):
        return _("%(hours)s h before") % {"hours": self.lead_hours}


class TemplateKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder (asks to confirm)")
    CONFIRMED = "confirmed", _("Reply: appointment confirmed")
    CANCELLED = "cancelled", _("Reply: appointment cancelled")
    OPTED_OUT = "opted_out", _("Reply: STOP (no more messages)")
    OPTED_IN = "opted_in", _("Reply: START (messages again)")
    BUTTON_CONFIRM = "button_confirm", _("Button: confirm")
    BUTTON_CANCEL = "button_cancel", _("Button: cancel")
    CALLBACK = "callback", _("Reply: we will call you")
    BUTTON_CALLBACK = "button_callback", _("Button: call me")
    ORDER_READY = "order_ready", _("Order ready for pickup")
    RECALL = "recall", _("Recall: time for a check-up")
    BUTTON_BOOK = "button_book", _("Button: book")
    BOOKED = "booked", _("Staff booked an appointment")
    MOVED = "moved", _("Staff moved an appointment")
    CANCELLED_BY_STAFF = "cancelled_by_staff", _("Staff cancelled an appointment")


class MessageTemplate(TimeStampedModel):
    """A clinic's own wording; kinds and languages without one use the built-in defaults."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="message_templates")
    kind = models.CharField(_("kind"), max_length=20, choices=TemplateKind.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="es")
    body = models.TextField(_("text"), max_length=1000, validators=[validate_template_body])
    # The approved WhatsApp Cloud API template this text goes out as when only a template may
    # (outside the 24 h customer-service window). Other engines send `body`.
    meta_template_name = models.CharField(
        _("Meta template name"), max_length=512, blank=True, validators=[validate_meta_template_name],
        help_text=_("As approved in WhatsApp Manager, e.g. appointment_reminder. Empty: not sent through the "
                    "Cloud API outside the 24-hour window."),
    )
    meta_language = models.CharField(_("Meta template language"), max_length=15, blank=True,
                                     validators=[validate_meta_language], help_text=_("e.g. es, es_CO, en_US."))
    meta_parameters = models.CharField(
        _("Meta template parameters"), max_length=500, blank=True, validators=[validate_meta_parameters],
        help_text=_("Variables for {{1}}, {{2}}… in order, separated by commas, e.g. patient_first_name, date, "
                    "time. For named parameters write name=variable, e.g. first_name=patient_first_name."),
    )
    meta_quick_replies = models.BooleanField(
        _("the Meta template has the quick-reply buttons"), default=False,
        help_text=_("Confirm, Cancel and Call me, in this order: a tap confirms or cancels like the buttons."),
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "language"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "language"],
                                    name="notifications_template_unique"),
            models.CheckConstraint(condition=Q(meta_template_name="") | ~Q(meta_language=""),
                                   name="notifications_template_meta_language"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.language})"


class Direction(models.TextChoices):
    OUTBOUND = "out", _("Sent")
    INBOUND = "in", _("Received")


class MessageKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    ACKNOWLEDGEMENT = "acknowledgement", _("Automatic reply")
    FREE_TEXT = "free_text", _("Free text")
    REPLY = "reply", _("Confirmation reply")
    OPT_OUT = "opt_out", _("STOP")
    OPT_IN = "opt_in", _("START")
    ORDER_READY = "order_ready", _("Order ready")
    RECALL = "recall", _("Recall")
    BOOKED = "booked", _("Booking notice")
    MOVED = "moved", _("Move notice")
    CANCELLED = "cancelled", _("Cancellation notice")


# What staff did to an appointment that the patient is told about (kinds of message, of template).
NOTICE_KINDS = {MessageKind.BOOKED: TemplateKind.BOOKED, MessageKind.MOVED: TemplateKind.MOVED,
                MessageKind.CANCELLED: TemplateKind.CANCELLED_BY_STAFF}
# Messages about one appointment start, whose ledger key includes it.
TIMED_KINDS = (MessageKind.REMINDER, *NOTICE_KINDS)


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    RECEIVED = "received", _("Received")


# A status only moves forward; failed is final from any outbound state before delivery.
STATUS_RANK = {
    MessageStatus.QUEUED: 0, MessageStatus.SENDING: 1, MessageStatus.SENT: 2, MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
}


# What staff read for the bridge's machine-readable failure codes; other codes show the
# bridge's own text.
FAILURE_REASONS = {
    "not_on_whatsapp": _("This number has no WhatsApp account. Call the patient or correct the number."),
    "reachout_timelocked": _(
        "WhatsApp is not letting this clinic's number write to new contacts for now (error 463). "
        "Patients who wrote to the clinic can still be answered."
    ),
    "rate_limited": _("WhatsApp is limiting how fast this number sends. It will be possible again later."),
    "send_timeout": _("WhatsApp did not confirm this message in time. Check the chat before sending it again."),
}
TEMPORARY_BAN_REASON = _("WhatsApp temporarily banned the clinic's number; messages can go out again after the ban.")


class Message(TimeStampedModel):
    """Every WhatsApp message in or out; an outbound row exists before its send is attempted."""

    # The foreign keys' indexes are in Meta.indexes: the clinic's is the first column of several, the
    # others are partial (NOT NULL), so the inbound text of a known patient maintains none of them.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="messages",
                                     db_index=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="messages", verbose_name=_("patient"))
    appointment = models.ForeignKey("appointments.Appointment", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="messages", verbose_name=_("appointment"), db_index=False)
    rule = models.ForeignKey(ReminderRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             db_index=False)
    appointment_start = models.DateTimeField(null=True, blank=True)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    phone = models.CharField(_("phone"), max_length=20)
    contact_name = models.CharField(_("contact name"), max_length=120, blank=True)
    body = models.TextField(_("text"), blank=True)
    buttons = models.JSONField(null=True, blank=True)
    # The Cloud API template it goes out as ({"name", "language", "parameters", "quick_replies"}).
    template = models.JSONField(null=True, blank=True)
    button_id = models.CharField(max_length=256, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=MessageStatus.choices,
                              default=MessageStatus.QUEUED)
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    error = models.CharField(_("failure reason"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    bridge_message_id = models.CharField(max_length=128, blank=True)
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies",
                                 db_index=False)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+", verbose_name=_("sent by"), db_index=False)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The ledger: one reminder per appointment, rule and start, however many jobs race.
            models.UniqueConstraint(fields=["appointment", "rule", "appointment_start"],
                                    condition=Q(kind="reminder"), name="notifications_reminder_once"),
            models.UniqueConstraint(fields=["organization", "bridge_message_id"],
                                    condition=Q(direction="in") & ~Q(bridge_message_id=""),
                                    name="notifications_inbound_once"),
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values), name="notifications_message_status"),
            models.CheckConstraint(
                condition=(Q(direction="in") & Q(status="received")) | (Q(direction="out") & ~Q(status="received")),
                name="notifications_message_status_direction",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reminder") | Q(appointment_start__isnull=False),
                name="notifications_reminder_has_start",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="notifications_msg_org_created"),
            models.Index(fields=["organization", "phone"], name="notifications_msg_org_phone"),
            # Equality only (a status's id, a quoted message): no LIKE index beside it.
            models.Index(fields=["bridge_message_id"], name="notifications_msg_bridge_id"),
            # For the ON DELETE SET NULL of an appointment, rule, quoted message or user, and the lookups
            # by appointment: `= x` implies NOT NULL, so these partial indexes serve them.
            models.Index(fields=["appointment"], condition=Q(appointment__isnull=False),
                         name="notifications_msg_appointment"),
            models.Index(fields=["rule"], condition=Q(rule__isnull=False), name="notifications_msg_rule"),
            models.Index(fields=["reply_to"], condition=Q(reply_to__isnull=False), name="notifications_msg_reply_to"),
            models.Index(fields=["sent_by"], condition=Q(sent_by__isnull=False), name="notifications_msg_sent_by"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.phone}: {self.body[:40]}"

    @property
    def failure_reason(self) -> str:
        if self.error_code in FAILURE_REASONS:
            return str(FAILURE_REASONS[self.error_code])
        if "temporary_ban" in self.error:
            return str(TEMPORARY_BAN_REASON)
        return self.error

    @property
    def is_outbound(self) -> bool:
        return self.direction == Direction.OUTBOUND


class AttachmentKind(models.TextChoices):
    IMAGE = "image", _("Image")
    DOCUMENT = "document", _("Document")
    AUDIO = "audio", _("Audio")
    VIDEO = "video", _("Video")


def attachment_path(instance, filename: str) -> str:
    # Per organization, under a random name: the patient's file name is kept in a field, never
    # trusted as a path.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"{instance.organization_id}/messages/{uuid.uuid4().hex}{suffix}"


class MessageAttachment(TimeStampedModel):
    """The file of a WhatsApp message (WhatsApp carries at most one per message)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="attachment")
    kind = models.CharField(_("kind"), max_length=10, choices=AttachmentKind.choices)
    mime_type = models.CharField(_("type"), max_length=127)
    filename = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    voice = models.BooleanField(_("voice note"), default=False)
    # Empty until the file is here: an inbound file is fetched from the bridge by a job.
    file = models.FileField(upload_to=attachment_path, max_length=255, blank=True)
    bridge_media_id = models.CharField(max_length=64, blank=True)
    fetch_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AttachmentKind.values), name="notifications_attachment_kind"),
            models.CheckConstraint(condition=~Q(file="") | ~Q(bridge_media_id=""),
                                   name="notifications_attachment_has_source"),
        ]

    def __str__(self):
        return self.filename

    @property
    def is_ready(self) -> bool:
        return bool(self.file)


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Planned")
    DISPATCHED = "dispatched", _("Handed to the sender")
    CANCELLED = "cancelled", _("Cancelled")
    SKIPPED = "skipped", _("Not sent")


class Reminder(TimeStampedModel):
    """The plan: when a rule's reminder for one appointment start is due."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey("appointments.Appointment", on_delete=models.CASCADE, related_name="reminders")
    rule = models.ForeignKey(ReminderRule, on_delete=models.CASCADE, related_name="reminders")
    appointment_start = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    message = models.OneToOneField(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="reminder")

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "rule", "appointment_start"],
                                    name="notifications_reminder_plan_once"),
            models.CheckConstraint(condition=Q(due_at__lt=F("appointment_start")),
                                   name="notifications_reminder_due_before_start"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="notifications_reminder_due"),
        ]

    def __str__(self):
        return f"{self.appointment_id} @ {self.due_at:%Y-%m-%d %H:%M} ({self.status})"


class AlertKind(models.TextChoices):
    PATIENT_CANCELLED = "patient_cancelled", _("Patient cancelled by WhatsApp")
    CALLBACK_REQUESTED = "callback_requested", _("Patient asks to be called")
    REMINDER_FAILED = "reminder_failed", _("Reminder not delivered")
    SESSION_NEEDS_RELINK = "session_needs_relink", _("WhatsApp needs to be linked again")
    AMBIGUOUS_REPLY = "ambiguous_reply", _("Reply from a shared phone")


class StaffAlert(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="staff_alerts")
    kind = models.CharField(_("kind"), max_length=30, choices=AlertKind.choices)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("patient"))
    appointment = models.ForeignKey("appointments.Appointment", on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="+", verbose_name=_("appointment"))
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    text = models.CharField(_("text"), max_length=500)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("handled by"))

    class Meta:
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="notifications_alert_kind"),
        ]
        indexes = [
            models.Index(fields=["organization"], condition=Q(handled_at__isnull=True),
                         name="notifications_alert_open"),
        ]

    def __str__(self):
        return self.text
