"""State changes of the staff inbox. Sends go through the notifications outbox (queued on commit)."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appointments.models import ConfirmationStatus, EventSource
from apps.appointments.services import appointment_cancel, appointment_confirmation_set
from apps.common.exceptions import ApplicationError
from apps.inbox.models import CannedReply, Conversation, ConversationState, conversation_key
from apps.inbox.selectors import HANDLED_KINDS, UNREAD, next_appointment_for
from apps.notifications.eligibility import Purpose, refusal_text, whatsapp_refusal
from apps.notifications.models import Direction, Message, MessageKind
from apps.notifications.outbox import MAX_TEXT, free_text_send, message_queue
from apps.notifications.rendering import context_for, language_for
from apps.notifications.services import message_send_media, notification_settings_get
from apps.notifications.templating import render_template
from apps.organizations.models import Membership
from apps.patients.selectors import patients_by_phone

# A reconnecting session keeps its link: the outbox retries until it is back.
LINKED_STATUSES = ("connected", "reconnecting")


# One statement for any number of messages (one array per column, so its text never changes). A
# conversation's copy of its latest message only moves forward: a message stored late (an older
# timestamp) never hides a newer one.
_RECORD_SQL = """
INSERT INTO inbox_conversation AS c (created_at, updated_at, organization_id, key, patient_id, phone,
                                     contact_name, state, last_message_at, last_body, last_direction,
                                     last_inbound_at)
SELECT now(), now(), v.organization_id, v.key, v.patient_id, v.phone, v.contact_name, 'open',
       v.last_message_at, v.last_body, v.last_direction, v.last_inbound_at
FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::varchar[], %s::varchar[], %s::timestamptz[], %s::text[],
            %s::varchar[], %s::timestamptz[])
     AS v(organization_id, key, patient_id, phone, contact_name, last_message_at, last_body, last_direction,
          last_inbound_at)
ON CONFLICT (organization_id, key) DO UPDATE SET
    updated_at = clock_timestamp(),
    last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at),
    last_body = CASE WHEN c.last_message_at IS NULL OR EXCLUDED.last_message_at >= c.last_message_at
                     THEN EXCLUDED.last_body ELSE c.last_body END,
    last_direction = CASE WHEN c.last_message_at IS NULL OR EXCLUDED.last_message_at >= c.last_message_at
                          THEN EXCLUDED.last_direction ELSE c.last_direction END,
    last_inbound_at = GREATEST(c.last_inbound_at, EXCLUDED.last_inbound_at),
    contact_name = CASE WHEN c.contact_name = '' THEN EXCLUDED.contact_name ELSE c.contact_name END
"""


def conversations_record_messages(*, messages: list[Message]) -> int:
    """Create or bring up to date the conversations of freshly stored messages (one query).

    Called for every stored Message (receivers.py); batch writers of messages call it with the batch.
    """
    latest: dict[tuple[int, str], Message] = {}
    inbound_at: dict[tuple[int, str], object] = {}
    for message in messages:
        group = (message.organization_id, conversation_key(patient_id=message.patient_id, phone=message.phone))
        if group not in latest or (message.created_at, message.pk) >= (latest[group].created_at, latest[group].pk):
            latest[group] = message
        # A reply the system handled ("1", STOP) is not one staff have to read.
        if message.direction == Direction.INBOUND and message.kind not in HANDLED_KINDS:
            inbound_at[group] = max(filter(None, [inbound_at.get(group), message.created_at]))
    if not latest:
        return 0
    columns: list[list] = [[] for _ in range(9)]
    # In key order: two batches that share conversations lock their rows in the same order (no deadlock).
    for group, message in sorted(latest.items(), key=lambda entry: entry[0]):
        unknown = not message.patient_id
        for column, value in zip(columns, (
                group[0], group[1], message.patient_id, message.phone if unknown else "",
                (message.contact_name or "")[:120] if unknown else "", message.created_at, message.body or "",
                message.direction, inbound_at.get(group)), strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, columns)
    return len(latest)


def conversations_touch_for_patient(*, organization_id: int, patient_id: int) -> int:
    """The list shows the patient's name: a changed patient is news for the list's poll (its version)."""
    return Conversation.objects.filter(organization_id=organization_id, patient_id=patient_id).update(
        updated_at=timezone.now())


def conversation_for_patient(*, organization, patient) -> Conversation:
    """The patient's conversation, created when staff start one before any message exists."""
    if patient.organization_id != organization.pk:
        raise ApplicationError(_("Unknown patient."), field="patient")
    key = conversation_key(patient_id=patient.pk, phone=patient.phone)
    try:
        with transaction.atomic():
            conversation, _created = Conversation.objects.get_or_create(
                organization=organization, key=key, defaults={"patient": patient})
    except IntegrityError:
        conversation = Conversation.objects.get(organization=organization, key=key)
    return conversation


def conversation_refresh_state(*, conversation: Conversation) -> Conversation:
    """Persist a reopening: a patient message arrived after the conversation was set aside."""
    effective = getattr(conversation, "effective_state", conversation.state)
    if effective == ConversationState.OPEN and conversation.state != ConversationState.OPEN:
        conversation.state = ConversationState.OPEN
        conversation.state_changed_at = timezone.now()
        conversation.save(update_fields=["state", "state_changed_at", "updated_at"])
    return conversation


def conversation_mark_read(*, conversation: Conversation, at=None) -> Conversation:
    at = at or timezone.now()
    # Never backwards, even if two tabs poll at once. The row counts as changed (updated_at, which the
    # list's poll watches) only when this read clears unread messages: an open thread polls this.
    Conversation.objects.filter(pk=conversation.pk).exclude(last_read_at__gte=at).update(
        last_read_at=at, updated_at=Case(When(UNREAD, then=Value(at)), default=F("updated_at")))
    conversation.last_read_at = max(filter(None, [conversation.last_read_at, at]))
    return conversation


def conversation_state_set(*, conversation: Conversation, state: str) -> Conversation:
    if state not in ConversationState.values:
        raise ApplicationError(_("Unknown conversation state."), field="state")
    conversation.state = state
    conversation.state_changed_at = timezone.now()
    conversation.save(update_fields=["state", "state_changed_at", "updated_at"])
    if hasattr(conversation, "effective_state"):
        conversation.effective_state = state
    return conversation


def conversation_assign(*, conversation: Conversation, user=None) -> Conversation:
    if user is not None and not Membership.objects.filter(
            organization_id=conversation.organization_id, user=user, is_active=True).exists():
        raise ApplicationError(_("Choose a member of this clinic."), field="assigned_to")
    conversation.assigned_to = user
    conversation.save(update_fields=["assigned_to", "updated_at"])
    return conversation


def whatsapp_is_linked(*, organization) -> bool:
    from apps.whatsapp.models import WhatsAppSession

    return WhatsAppSession.objects.filter(organization=organization, status__in=LINKED_STATUSES).exists()


def conversation_reply(*, conversation: Conversation, body: str, user, upload=None) -> Message:
    """Staff answer from the inbox: the Message row is written (queued) before any send.

    With `upload` (an uploaded file) the reply is that file, and `body` its caption.
    """
    body = (body or "").strip()
    if not body and upload is None:
        raise ApplicationError(_("Write a reply before sending."), field="body")
    if len(body) > MAX_TEXT:
        raise ApplicationError(_("The message is longer than %(max)s characters.") % {"max": MAX_TEXT}, field="body")
    organization = conversation.organization
    patient = conversation.patient
    # A number shared by several patients has its own conversation; STOP from it covers them all.
    opted_out = (patient.whatsapp_opted_out if patient is not None else
                 patients_by_phone(organization=organization, phone=conversation.phone)
                 .filter(whatsapp_opted_out=True).exists())
    if opted_out:
        raise ApplicationError(_("This patient asked to receive no WhatsApp messages (STOP). Nothing was sent."),
                               field="body")
    if not whatsapp_is_linked(organization=organization):
        raise ApplicationError(_("WhatsApp is not linked for this clinic. Link it first; nothing was sent."),
                               field="body")
    with transaction.atomic():
        if upload is not None:
            if patient is None:
                raise ApplicationError(_("A file can only be sent to a known patient."), field="content")
            message = message_send_media(organization=organization, patient=patient, content=upload.read(),
                                         filename=upload.name, content_type=upload.content_type or "",
                                         caption=body, sent_by=user)
        elif patient is not None:
            message = free_text_send(organization=organization, patient=patient, body=body, sent_by=user)
        else:
            refusal = whatsapp_refusal(settings=notification_settings_get(organization=organization), patient=None,
                                       purpose=Purpose.ANSWER)
            if refusal:
                raise ApplicationError(refusal_text(refusal), field="body")
            message = message_queue(organization=organization, phone=conversation.phone, body=body,
                                    kind=MessageKind.FREE_TEXT, sent_by=user)
        conversation_mark_read(conversation=conversation)
    return message


def conversation_appointment_confirm(*, conversation: Conversation, appointment, user):
    _check_appointment(conversation, appointment)
    return appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.CONFIRMED,
                                        actor=user, source=EventSource.UI)


def conversation_appointment_cancel(*, conversation: Conversation, appointment, user):
    _check_appointment(conversation, appointment)
    return appointment_cancel(appointment=appointment, actor=user, reason=_("Cancelled from the inbox"),
                              source=EventSource.UI)


def _check_appointment(conversation: Conversation, appointment) -> None:
    if (appointment is None or appointment.organization_id != conversation.organization_id
            or appointment.patient_id != conversation.patient_id):
        raise ApplicationError(_("This appointment is not this patient's."), field="appointment")


# --- canned replies -------------------------------------------------------------------------


def canned_reply_save(*, organization, title: str, body: str, canned: CannedReply | None = None) -> CannedReply:
    canned = canned or CannedReply(organization=organization)
    if canned.organization_id != organization.pk:
        raise ApplicationError(_("Unknown canned reply."), field="title")
    canned.title, canned.body = (title or "").strip(), (body or "").strip()
    canned.full_clean()
    try:
        with transaction.atomic():
            canned.save()
    except IntegrityError as exc:
        raise ApplicationError(_("A canned reply with this title already exists."), field="title") from exc
    return canned


def canned_reply_delete(*, canned: CannedReply) -> None:
    canned.delete()


def canned_reply_render(*, canned: CannedReply, conversation: Conversation) -> str:
    """The canned text filled in for this conversation's patient and next appointment."""
    patient = conversation.patient
    appointment = next_appointment_for(conversation=conversation)
    language = language_for(patient)
    context = context_for(organization=conversation.organization, patient=patient, appointment=appointment,
                          language=language)
    return render_template(canned.body, context)
