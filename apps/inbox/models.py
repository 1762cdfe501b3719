import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.models import TimeStampedModel
from apps.notifications.templating import validate_template_body
from apps.organizations.models import Organization

# "Never read": the read mark of a conversation nobody opened.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ConversationState(models.TextChoices):
    OPEN = "open", pgettext_lazy("conversation state", "Open")
    PENDING = "pending", _("Pending")
    RESOLVED = "resolved", _("Resolved")


def conversation_key(*, patient_id: int | None, phone: str) -> str:
    """Messages of a known patient group by patient; messages of an unknown number by the number."""
    return f"p:{patient_id}" if patient_id else f"t:{phone}"


class Conversation(TimeStampedModel):
    """Staff's view of one patient's (or one unknown number's) WhatsApp thread.

    The messages themselves are notifications.Message rows; a conversation only holds what staff
    decide: its state, who handles it and how far it has been read, plus a copy of its latest
    message (time, text, direction) and of its latest patient message's time. The row is written
    when a message is stored (receivers.py, on Message's post_save), so the list and the unread
    badge read one table instead of scanning every message. A patient message newer than the last
    state change reopens a pending or resolved conversation.
    """

    # Every message stored rewrites its conversation's row (and so every index of it): no index that no
    # query reads. The clinic's is the first column of three others; no query orders or filters by
    # created_at; the assignee's is partial, for "mine" and the ON DELETE SET NULL of a user.
    created_at = models.DateTimeField(auto_now_add=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="conversations",
                                     db_index=False)
    key = models.CharField(max_length=40)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("patient"))
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=120, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ConversationState.choices,
                             default=ConversationState.OPEN)
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("assigned to"), db_index=False)
    last_read_at = models.DateTimeField(_("last read at"), null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_body = models.TextField(blank=True)
    last_direction = models.CharField(max_length=3, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="inbox_conversation_key_unique"),
            models.CheckConstraint(condition=Q(state__in=ConversationState.values), name="inbox_conversation_state"),
            models.CheckConstraint(
                condition=(Q(key__startswith="p:") & Q(patient__isnull=False))
                | (Q(key__startswith="t:") & Q(patient__isnull=True) & ~Q(phone="")),
                name="inbox_conversation_key_matches",
            ),
            models.CheckConstraint(
                condition=Q(state=ConversationState.OPEN) | Q(state_changed_at__isnull=False),
                name="inbox_conversation_closed_has_time",
            ),
        ]
        indexes = [
            models.Index(F("organization"), F("last_message_at").desc(nulls_last=True), F("id").desc(),
                         name="inbox_conv_org_last_message"),
            # The unread badge: the clinic's conversations whose latest patient message is unread.
            models.Index(fields=["organization"], name="inbox_conv_unread",
                         condition=Q(last_inbound_at__gt=Coalesce(F("last_read_at"), Value(EPOCH)))),
            # The list's poll: how many conversations and when each last changed, from the index alone.
            models.Index(fields=["organization", "updated_at"], name="inbox_conv_org_updated"),
            models.Index(fields=["assigned_to"], condition=Q(assigned_to__isnull=False), name="inbox_conv_assigned_to"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.patient_id:
            return self.patient.full_name
        return self.contact_name or self.phone

    @property
    def display_phone(self) -> str:
        return self.patient.phone if self.patient_id else self.phone


class CannedReply(TimeStampedModel):
    """A clinic's saved answer; may use the same {variables} as the message templates."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="canned_replies")
    title = models.CharField(_("title"), max_length=80)
    body = models.TextField(_("text"), max_length=1000, validators=[validate_template_body])

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "title"], name="inbox_canned_title_unique"),
        ]

    def __str__(self):
        return self.title
