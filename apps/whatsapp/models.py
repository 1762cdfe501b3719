from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from apps.organizations.models import Organization


class Engine(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox (simulated phone)")
    WHATSMEOW = "whatsmeow", _("Linked device (WhatsApp Web)")
    CLOUD = "cloud", _("WhatsApp Business Cloud API (official)")


# Engines linked by scanning a QR code (or typing a pairing code); the cloud engine is
# connected with the credentials of a Meta app instead.
QR_ENGINES = (Engine.SANDBOX, Engine.WHATSMEOW)


class SessionStatus(models.TextChoices):
    DISCONNECTED = "disconnected", _("Not linked")
    CONNECTING = "connecting", _("Connecting")
    QR_READY = "qr_ready", _("Waiting for the QR scan")
    CONNECTED = "connected", _("Connected")
    RECONNECTING = "reconnecting", _("Reconnecting")
    LOGGED_OUT = "logged_out", _("Logged out")
    FAILED = "failed", _("Failed")


# What the bridge's reason codes mean to the clinic; an unknown code is never shown raw.
REASON_LABELS = {
    "logout": _("the link was removed from this system"),
    "logged_out": _("the phone removed the link"),
    "device_removed": _("the phone removed the link"),
    "qr_expired": _("the QR code was not scanned in time"),
    "retries_exhausted": _("the connection could not be restored"),
    "replaced": _("WhatsApp was opened on another computer"),
    "banned": _("WhatsApp blocked the number"),
    "client_outdated": _("the WhatsApp service needs an update"),
    "connect_failure": _("WhatsApp refused the connection"),
}


class WhatsAppSession(TimeStampedModel):
    """Django's copy of the bridge's session for one clinic, kept current by its events."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="whatsapp_session")
    engine = models.CharField(_("engine"), max_length=20, choices=Engine.choices, default=Engine.SANDBOX)
    status = models.CharField(_("status"), max_length=20, choices=SessionStatus.choices,
                              default=SessionStatus.DISCONNECTED)
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    phone_number = models.CharField(_("linked phone"), max_length=20, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    # Cloud API only, as Meta reports them for the phone number (refreshed by the bridge).
    quality_rating = models.CharField(_("quality rating"), max_length=20, blank=True)
    messaging_limit_tier = models.CharField(_("messaging limit"), max_length=30, blank=True)
    verified_name = models.CharField(_("verified name"), max_length=120, blank=True)
    webhook_url = models.CharField(_("webhook URL"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("WhatsApp session")
        verbose_name_plural = _("WhatsApp sessions")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SessionStatus.values), name="whatsapp_session_status"),
            models.CheckConstraint(condition=Q(engine__in=Engine.values), name="whatsapp_session_engine"),
        ]

    def __str__(self):
        return f"{self.organization}: {self.status}"

    @property
    def is_connected(self) -> bool:
        return self.status == SessionStatus.CONNECTED

    @property
    def messaging_limit_display(self) -> str:
        """Meta's TIER_250 / TIER_2K / TIER_UNLIMITED as "250", "2K", "Unlimited"."""
        tier = self.messaging_limit_tier.removeprefix("TIER_")
        return _("Unlimited") if tier == "UNLIMITED" else tier

    @property
    def reason_display(self) -> str:
        if not self.reason:
            return ""
        return str(REASON_LABELS.get(self.reason, _("a problem on the WhatsApp side")))


class ProcessedEvent(models.Model):
    """Bridge events are delivered at least once; a seen id is skipped."""

    # Every event inserts a row: only the indexes a query reads (the unique id, the pruning by age, the
    # rejected ones per clinic), no LIKE twin of the id, no index over every row of a clinic.
    event_id = models.CharField(max_length=64)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    type = models.CharField(max_length=40)
    processed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set when applying the event failed unexpectedly: it is settled (the bridge stops sending it) and
    # says why; the event itself is kept so that `replay_rejected_events` can apply it after a fix.
    rejected_reason = models.TextField(blank=True, default="")
    payload = models.JSONField(_("event as received"), null=True, blank=True)

    class Meta:
        constraints = [
            # The ledger of applied ids (the claim's ON CONFLICT (event_id)); the name is the one unique=True gave.
            models.UniqueConstraint(fields=["event_id"], name="whatsapp_processedevent_event_id_key"),
        ]
        indexes = [
            # The WhatsApp page's count and the replay: the clinic's rejected events, a handful of rows.
            models.Index(fields=["organization"], condition=~Q(rejected_reason=""), name="whatsapp_event_rejected"),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"
