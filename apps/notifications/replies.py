"""What a patient's WhatsApp message means: STOP / START, an answer to a reminder, or text for staff."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus, EventSource
from apps.appointments.services import appointment_cancel, appointment_confirmation_set
from apps.common.bulk import rows_insert
from apps.common.exceptions import ApplicationError
from apps.notifications.defaults import START_WORDS, STOP_WORDS
from apps.notifications.interpretation import CALLBACK, CANCEL, CONFIRM, interpret, interpret_normalized, normalize
from apps.notifications.models import (
    AlertKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    StaffAlert,
    TemplateKind,
)
from apps.notifications.outbox import message_queue
from apps.notifications.rendering import language_for, render_for
from apps.notifications.services import (
    keywords_parse,
    notification_settings_get,
    staff_alert_handle,
    staff_alert_raise,
)
from apps.notifications.signals import messages_stored
from apps.patients.selectors import patient_ids_by_phones, patients_by_phone
from apps.patients.services.patients import patient_whatsapp_opt_in, patient_whatsapp_opt_out


def _keywords(settings) -> dict[str, set[str]]:
    return {CONFIRM: keywords_parse(settings.confirm_keywords), CANCEL: keywords_parse(settings.cancel_keywords),
            CALLBACK: keywords_parse(settings.callback_keywords)}


def _answer(*, text: str, button_id: str, settings) -> tuple[str | None, int | None]:
    """(confirm|cancel|callback|None, appointment id the button named or None)."""
    if button_id:
        action, _sep, ref = button_id.partition(":")
        if action in (CONFIRM, CANCEL, CALLBACK):
            return action, int(ref) if ref.isdigit() else None
    return interpret(text, keywords=_keywords(settings)), None


def _answered_reminder(*, organization, phone: str, reply_to: str) -> Message | None:
    """The reminder a text answer refers to: the one the patient quoted, else the last menu sent to the number.

    The same rule the bridge applies to "1" on engines without buttons (its menu per number is
    the last one sent), so "1" means the same on every engine.
    """
    reminders = Message.objects.filter(organization=organization, direction=Direction.OUTBOUND,
                                       kind=MessageKind.REMINDER, appointment__isnull=False)
    if reply_to:
        return reminders.filter(bridge_message_id=reply_to[:128]).first()
    return (reminders.filter(phone=phone, status__in=SENT_STATUSES)
            .order_by(F("sent_at").desc(nulls_last=True), "-created_at", "-id").first())


def pending_confirmations(*, organization, patients: list, now: dt.datetime):
    """These patients' coming appointments that wait for an answer: what a "1" or a "sí" may mean."""
    return (Appointment.objects.filter(organization=organization, patient__in=patients,
                                       status=AppointmentStatus.SCHEDULED, start__gt=now,
                                       confirmation__in=[ConfirmationStatus.REQUESTED,
                                                         ConfirmationStatus.NO_RESPONSE,
                                                         ConfirmationStatus.CALLBACK_REQUESTED])
            .select_related("patient", "provider", "organization").order_by("start"))


def _pending(*, organization, patients: list, appointment_id: int | None, now: dt.datetime) -> tuple:
    """(appointment or None, ambiguous?) among these patients' requested confirmations."""
    pending = pending_confirmations(organization=organization, patients=patients, now=now)
    if appointment_id is not None:
        return pending.filter(pk=appointment_id).first(), False
    found = list(pending)
    if len({a.patient_id for a in found}) > 1:
        return None, True
    return (found[0] if found else None), False


SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
# An answer repeated after it was applied ("1" twice) is the same answer, not news for staff.
ALREADY = {CONFIRM: ConfirmationStatus.CONFIRMED, CALLBACK: ConfirmationStatus.CALLBACK_REQUESTED}


@transaction.atomic
def inbound_receive(*, organization, bridge_message_id: str, phone: str, text: str = "", button_id: str = "",
                    push_name: str = "", reply_to: str = "", at: dt.datetime | None = None) -> Message:
    """Store and act on one patient message; `reply_to` is the bridge id of the message it quoted, if known."""
    at = at or timezone.now()
    bridge_message_id = (bridge_message_id or "")[:128]
    if bridge_message_id:
        seen = Message.objects.filter(organization=organization, direction=Direction.INBOUND,
                                      bridge_message_id=bridge_message_id).first()
        if seen:
            return seen
    patients = list(patients_by_phone(organization=organization, phone=phone))
    settings = notification_settings_get(organization=organization)
    word = normalize(text)

    def store(kind, patient=None, appointment=None, answers=None):
        return Message.objects.create(
            organization=organization, patient=patient, appointment=appointment, reply_to=answers,
            direction=Direction.INBOUND, kind=kind, phone=phone, contact_name=(push_name or "")[:120],
            body=text or "", button_id=(button_id or "")[:256], status=MessageStatus.RECEIVED,
            bridge_message_id=bridge_message_id, received_at=at,
        )

    single = patients[0] if len(patients) == 1 else None
    if not button_id and word in STOP_WORDS and patients:
        inbound = store(MessageKind.OPT_OUT, patient=single)
        for patient in patients:
            patient_whatsapp_opt_out(patient=patient)
        _acknowledge(inbound, TemplateKind.OPTED_OUT, patients[0])
        return inbound
    if not button_id and word in START_WORDS and patients:
        inbound = store(MessageKind.OPT_IN, patient=single)
        for patient in patients:
            patient_whatsapp_opt_in(patient=patient)
        _acknowledge(inbound, TemplateKind.OPTED_IN, patients[0])
        return inbound

    action, appointment_id = _answer(text=text, button_id=button_id, settings=settings)
    if action and patients:
        answered = None
        if appointment_id is None:
            answered = _answered_reminder(organization=organization, phone=phone, reply_to=reply_to)
        appointment, ambiguous = _pending(organization=organization, patients=patients,
                                          appointment_id=answered.appointment_id if answered else appointment_id,
                                          now=at)
        if appointment is None and answered is not None and not reply_to:
            repeated = answered.appointment
            if repeated.patient in patients and repeated.confirmation == ALREADY.get(action):
                return store(MessageKind.REPLY, patient=repeated.patient, appointment=repeated, answers=answered)
            # The last reminder's visit is settled: an answer still pending elsewhere is the one meant.
            appointment, ambiguous = _pending(organization=organization, patients=patients, appointment_id=None,
                                              now=at)
        if appointment is not None:
            reminder = answered if answered is not None and answered.appointment_id == appointment.pk else (
                Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER)
                .order_by("-created_at").first())
            inbound = store(MessageKind.REPLY, patient=appointment.patient, appointment=appointment,
                            answers=reminder)
            _apply_answer(inbound, appointment, action)
            return inbound
        if ambiguous:
            inbound = store(MessageKind.FREE_TEXT)
            staff_alert_raise(organization=organization, kind=AlertKind.AMBIGUOUS_REPLY, message=inbound,
                              text=_("%(phone)s answered \"%(text)s\" but several patients on that phone have a "
                                     "pending confirmation: choose which one.") % {"phone": phone, "text": text})
            return inbound
    return store(MessageKind.FREE_TEXT, patient=single)


def _ambiguous_answer(message: Message, now: dt.datetime) -> tuple[str | None, list[Appointment]]:
    """(what the answer says, the appointments it may be about); (None, []) when it is no such answer."""
    if (message.direction != Direction.INBOUND or message.kind != MessageKind.FREE_TEXT
            or message.appointment_id is not None):
        return None, []
    settings = notification_settings_get(organization=message.organization)
    action, _appointment_id = _answer(text=message.body, button_id=message.button_id, settings=settings)
    if action is None:
        return None, []
    patients = list(patients_by_phone(organization=message.organization, phone=message.phone))
    return action, list(pending_confirmations(organization=message.organization, patients=patients, now=now))


def ambiguous_reply_candidates(*, message: Message, now: dt.datetime | None = None) -> list[Appointment]:
    """The appointments an answer from a shared phone may be about: those of the patients on that phone
    still waiting for an answer. Empty when the message is not such an answer (or no longer one)."""
    return _ambiguous_answer(message, now or timezone.now())[1]


@transaction.atomic
def ambiguous_reply_assign(*, message: Message, appointment_id: int, user) -> Message:
    """Staff say which appointment an answer from a shared phone was about ("1" from the mother's phone
    that two children's reminders went to): it is applied as if the patient had been unambiguous,
    acknowledgement included, and the alert that asked is marked handled by `user`."""
    message = Message.objects.select_for_update().select_related("organization").get(pk=message.pk)
    action, waiting = _ambiguous_answer(message, timezone.now())
    candidates = {a.pk: a for a in waiting}
    if not candidates:
        raise ApplicationError(_("This message is no longer an answer waiting for its patient."), field="message")
    appointment = candidates.get(appointment_id)
    if appointment is None:
        raise ApplicationError(_("Choose one of the appointments waiting for this answer."), field="appointment")
    message.kind, message.patient, message.appointment = MessageKind.REPLY, appointment.patient, appointment
    message.reply_to = (Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER)
                        .order_by("-created_at").first())
    message.save(update_fields=["kind", "patient", "appointment", "reply_to", "updated_at"])
    # Now the patient's: their conversation takes it in as for a message just stored.
    messages_stored.send(sender=Message, messages=[message])
    _apply_answer(message, appointment, action)
    for alert in StaffAlert.objects.filter(organization=message.organization, kind=AlertKind.AMBIGUOUS_REPLY,
                                           message=message, handled_at__isnull=True):
        staff_alert_handle(alert=alert, user=user)
    return message


def inbound_reply_keywords(*, organization) -> dict[str, set[str]]:
    """The clinic's answer words, for inbound_is_plain (read once per batch)."""
    return _keywords(notification_settings_get(organization=organization))


def inbound_is_plain(*, text: str, button_id: str, keywords: dict[str, set[str]]) -> bool:
    """True when inbound_receive would only store this as free text (no STOP / START, no button,
    no answer to a reminder, whoever the sender is): such messages can be stored many at once."""
    if button_id:
        return False
    word = normalize(text)
    if word in STOP_WORDS or word in START_WORDS:
        return False
    return interpret_normalized(text, word, keywords=keywords) is None


def inbound_receive_plain(*, organization, inbounds: list[dict]) -> list[Message | None]:
    """Many plain messages (inbound_is_plain) stored as inbound_receive stores each, in a few queries.

    `inbounds`: dicts of bridge_message_id, phone, text, push_name, at, in arrival order. Answers,
    for each, the stored Message, or the one already stored under its bridge id (then nothing is
    written for it), or None when it has no phone. The inbox hears of them through messages_stored.
    """
    seen: dict[str, Message] = {}
    patients = patient_ids_by_phones(organization=organization,
                                     phones=[item["phone"] for item in inbounds if item["phone"]])
    answers: list[Message | None] = []
    new: list[Message] = []
    # Each row is the same message but for a few columns: built positionally from one template (Model's
    # fast path), which costs a third of building each from keyword arguments.
    fields = [f.attname for f in Message._meta.concrete_fields]
    template = Message(organization=organization, direction=Direction.INBOUND, kind=MessageKind.FREE_TEXT,
                       button_id="", status=MessageStatus.RECEIVED)
    base = [getattr(template, name) for name in fields]
    slot = {name: fields.index(name) for name in ("patient_id", "phone", "contact_name", "body", "bridge_message_id",
                                                 "received_at")}
    cache_organization = Message.organization.field.set_cached_value
    for item in inbounds:
        bridge_message_id = (item["bridge_message_id"] or "")[:128]
        if not item["phone"]:
            answers.append(None)
            continue
        if bridge_message_id and bridge_message_id in seen:
            answers.append(seen[bridge_message_id])
            continue
        found = patients[item["phone"]]
        row = base.copy()
        row[slot["patient_id"]] = found[0] if len(found) == 1 else None
        row[slot["phone"]] = item["phone"]
        row[slot["contact_name"]] = (item["push_name"] or "")[:120]
        row[slot["body"]] = item["text"] or ""
        row[slot["bridge_message_id"]] = bridge_message_id
        row[slot["received_at"]] = item["at"]
        message = Message(*row)
        cache_organization(message, organization)
        if bridge_message_id:
            seen[bridge_message_id] = message
        new.append(message)
        answers.append(message)
    if new:
        # A bridge id stored before (a delivery under another event id) is skipped by the unique index,
        # which also makes a concurrent batch with the same message wait for this one: stored once.
        inserted = rows_insert(new, on_conflict=_INBOUND_ONCE, key="bridge_message_id")
        if len(inserted) < len(new):
            stored = {m.bridge_message_id: m for m in Message.objects.filter(
                organization=organization, direction=Direction.INBOUND,
                bridge_message_id__in=[m.bridge_message_id for m in new if m.pk is None])}
            answers = [stored.get(m.bridge_message_id, m) if m is not None and m.pk is None else m for m in answers]
        if inserted:
            messages_stored.send(sender=Message, messages=inserted)
    return answers


# The conflict target of constraint notifications_inbound_once (models.Message.Meta).
_INBOUND_ONCE = "(organization_id, bridge_message_id) WHERE direction = 'in' AND NOT bridge_message_id = ''"


def _apply_answer(inbound: Message, appointment: Appointment, action: str) -> None:
    if action == CONFIRM:
        appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.CONFIRMED,
                                     source=EventSource.WHATSAPP)
        _acknowledge(inbound, TemplateKind.CONFIRMED, appointment.patient, appointment)
        return
    if action == CALLBACK:
        appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.CALLBACK_REQUESTED,
                                     source=EventSource.WHATSAPP)
        staff_alert_raise(
            organization=appointment.organization, kind=AlertKind.CALLBACK_REQUESTED, patient=appointment.patient,
            appointment=appointment, message=inbound,
            text=_("%(patient)s asks to be called about the appointment of %(when)s.") % {
                "patient": appointment.patient.full_name, "when": _local(appointment)},
        )
        _acknowledge(inbound, TemplateKind.CALLBACK, appointment.patient, appointment)
        return
    appointment_cancel(appointment=appointment, by_patient=True, reason=_("Cancelled by the patient on WhatsApp"),
                       source=EventSource.WHATSAPP)
    staff_alert_raise(
        organization=appointment.organization, kind=AlertKind.PATIENT_CANCELLED, patient=appointment.patient,
        appointment=appointment, message=inbound,
        text=_("%(patient)s cancelled the appointment of %(when)s by WhatsApp.") % {
            "patient": appointment.patient.full_name,
            "when": _local(appointment),
        },
    )
    _acknowledge(inbound, TemplateKind.CANCELLED, appointment.patient, appointment)


def _local(appointment: Appointment) -> str:
    return date_format(timezone.localtime(appointment.start, appointment.organization.zone), "DATETIME_FORMAT")


def _acknowledge(inbound: Message, kind: str, patient, appointment=None) -> None:
    body = render_for(organization=inbound.organization, kind=kind, patient=patient, appointment=appointment,
                      language=language_for(patient))
    message_queue(organization=inbound.organization, phone=inbound.phone, body=body,
                  kind=MessageKind.ACKNOWLEDGEMENT, patient=patient, appointment=appointment, reply_to=inbound)
