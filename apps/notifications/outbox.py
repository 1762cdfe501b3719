"""The outbox: every outbound message is a row (queued) before any send is attempted.

The send job claims the row, calls the bridge outside any transaction with
client_message_id = the row's id (so a repeated attempt is sent once by the bridge), and records
the outcome. Statuses only move forward.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appointments.models import AppointmentStatus, ConfirmationStatus, EventSource
from apps.common.bulk import rows_update
from apps.common.exceptions import ApplicationError
from apps.common.jobs import task_configure
from apps.common.validation import is_whole_number
from apps.notifications.eligibility import (
    OPTED_OUT,
    WHATSAPP_DISABLED,
    Purpose,
    refusal_text,
    whatsapp_refusal,
)
from apps.notifications.models import (
    STATUS_RANK,
    TIMED_KINDS,
    AlertKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    TemplateKind,
)
from apps.notifications.rendering import LOOK_UP, context_for, language_for, meta_template_for, template_bodies
from apps.notifications.schedule import next_allowed_time
from apps.notifications.services import notification_settings_get, staff_alert_raise
from apps.notifications.signals import messages_stored
from apps.notifications.templating import render_template, template_variables
from apps.whatsapp.client import BridgeClient, BridgeRejected, BridgeUnavailable, Media, SessionNotReady

log = logging.getLogger(__name__)

MAX_TEXT = 4096
_TIMESTAMP_FIELD = {
    MessageStatus.SENDING: "sending_at", MessageStatus.SENT: "sent_at", MessageStatus.DELIVERED: "delivered_at",
    MessageStatus.READ: "read_at", MessageStatus.FAILED: "failed_at",
}


SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


class SendRetry(Exception):
    """The bridge or the session is not available right now; the job is retried with backoff."""


def message_queue(*, organization, phone: str, body: str, kind: str, patient=None, appointment=None, rule=None,
                  buttons: list[dict] | None = None, sent_by=None, reply_to=None,
                  template: dict | None = None, not_before: dt.datetime | None = None) -> Message:
    message = Message.objects.create(
        organization=organization, patient=patient, appointment=appointment, rule=rule,
        appointment_start=appointment.start if kind in TIMED_KINDS else None,
        direction=Direction.OUTBOUND, kind=kind, phone=phone, body=body, buttons=buttons, template=template,
        status=MessageStatus.QUEUED, sent_by=sent_by, reply_to=reply_to,
    )
    transaction.on_commit(partial(_enqueue_send, message.pk, not_before))
    return message


def _enqueue_send(message_id: int, not_before: dt.datetime | None = None) -> None:
    # One lock per message: a duplicate job waits for the first to finish (and then finds the
    # message sent) instead of racing it to the bridge from another worker slot.
    # `not_before`: a message the clinic starts waits for the end of the quiet hours.
    task_configure("notifications.send_message", lock=f"send-message-{message_id}", schedule_at=not_before).defer(
        message_id=message_id)


# Messages per batch send job, one bridge call each (the bridge takes up to 100).
SEND_BATCH = 50


def _enqueue_sends(messages: list[tuple[int, int]], jobs_per_clinic: dict[int, int] | None = None) -> None:
    """Batch send jobs (`notifications.send_messages`) for (message id, organization id) pairs: one job
    per SEND_BATCH messages of one organization, all deferred in one INSERT.

    `jobs_per_clinic` counts the jobs a dispatcher run deferred so far for each clinic: a clinic's n-th
    job gets priority -n, so the worker takes the clinics' batches in turn (first batches first)
    instead of every batch of the clinic whose reminders came first: a big clinic's backlog does not
    hold a small clinic's reminders behind it, and the bridge sends for several sessions at once."""
    from procrastinate.contrib.django import app

    counts = {} if jobs_per_clinic is None else jobs_per_clinic
    by_organization: dict[int, list[int]] = {}
    for pk, organization_id in messages:
        by_organization.setdefault(organization_id, []).append(pk)
    jobs = []
    for organization_id, pks in by_organization.items():
        for i in range(0, len(pks), SEND_BATCH):
            rank = counts.get(organization_id, 0)
            counts[organization_id] = rank + 1
            jobs.append(task_configure("notifications.send_messages", priority=-rank).make_new_job(
                message_ids=pks[i:i + SEND_BATCH]))
    if jobs:
        app.job_manager.batch_defer_jobs(jobs=jobs)


REMINDER_BUTTONS = [("confirm", TemplateKind.BUTTON_CONFIRM), ("cancel", TemplateKind.BUTTON_CANCEL),
                    ("callback", TemplateKind.BUTTON_CALLBACK)]
REMINDER_KINDS = [TemplateKind.REMINDER] + [kind for _action, kind in REMINDER_BUTTONS]


def reminder_message_queue(*, appointment, rule, sent_by=None) -> Message:
    message = reminder_message_build(appointment=appointment, rule=rule)
    return message_queue(organization=message.organization, phone=message.phone, body=message.body,
                         kind=MessageKind.REMINDER, patient=message.patient, appointment=appointment, rule=rule,
                         buttons=message.buttons, template=message.template, sent_by=sent_by)


def reminder_message_build(*, appointment, rule, bodies: dict[str, str] | None = None,
                           meta_template=LOOK_UP, cache: dict | None = None) -> Message:
    """The reminder's Message, not saved yet; `bodies` (template_bodies of its clinic and language)
    and `meta_template` (meta_template_row of the same) let a batch read the wording once, and `cache`
    (a dict the batch keeps) fill in once what does not depend on the patient: the date and time of a
    start, a button whose wording has no variable."""
    patient, organization = appointment.patient, appointment.organization
    language = language_for(patient)
    if bodies is None:
        bodies = template_bodies(organization=organization, language=language, kinds=REMINDER_KINDS)
    context = context_for(organization=organization, patient=patient, appointment=appointment, language=language,
                          cache=cache)
    buttons = [{"id": f"{action}:{appointment.pk}", "title": _title(bodies[kind], context, cache)}
               for action, kind in REMINDER_BUTTONS]
    template = meta_template_for(organization=organization, kind=TemplateKind.REMINDER, language=language,
                                 context=context, template=meta_template)
    return Message(organization=organization, patient=patient, appointment=appointment, rule=rule,
                   appointment_start=appointment.start, direction=Direction.OUTBOUND, kind=MessageKind.REMINDER,
                   phone=patient.phone, body=render_template(bodies[TemplateKind.REMINDER], context),
                   buttons=buttons, template=template, status=MessageStatus.QUEUED)


def _title(body: str, context: dict[str, str], cache: dict | None) -> str:
    """A button's title: its wording filled in, at most 20 characters (once per wording without variables)."""
    if cache is None:
        return render_template(body, context)[:20]
    key = ("title", body)
    title = cache.get(key)
    if title is None:
        title = render_template(body, context)[:20]
        if not template_variables(body):
            cache[key] = title
    return title


def reminder_messages_queue(*, messages: list[Message], jobs_per_clinic: dict[int, int] | None = None) -> list[Message]:
    """Many built reminders written at once (one INSERT) and their send jobs deferred at once on commit
    (`jobs_per_clinic`: see _enqueue_sends).

    Raises IntegrityError when one of them is already in the ledger; the caller then goes one by one.
    """
    Message.objects.bulk_create(messages)
    messages_stored.send(sender=Message, messages=messages)
    transaction.on_commit(partial(_enqueue_sends, [(message.pk, message.organization_id) for message in messages],
                                  jobs_per_clinic))
    return messages


def free_text_send(*, organization, patient, body: str, sent_by) -> Message:
    """Staff write to a patient from the patient page."""
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("Write a message."), field="body")
    staff_send_check(organization=organization, patient=patient, text=body, field="body")
    with transaction.atomic():
        return message_queue(organization=organization, phone=patient.phone, body=body, kind=MessageKind.FREE_TEXT,
                             patient=patient, sent_by=sent_by)


def staff_send_check(*, organization, patient, text: str, field: str) -> None:
    """Staff may write `text` to this patient now, or ApplicationError naming `field` (or patient)."""
    if len(text) > MAX_TEXT:
        raise ApplicationError(_("The message is longer than %(max)s characters.") % {"max": MAX_TEXT}, field=field)
    if patient.organization_id != organization.pk:
        raise ApplicationError(_("Unknown patient."), field="patient")
    refusal = whatsapp_refusal(settings=notification_settings_get(organization=organization), patient=patient,
                               purpose=Purpose.STAFF)
    if refusal:
        raise ApplicationError(refusal_text(refusal), field=field if refusal == WHATSAPP_DISABLED else "patient")


# Sent on the clinic's initiative, so consent is checked again when the (possibly delayed) send happens.
CLINIC_INITIATED_KINDS = (MessageKind.ORDER_READY, MessageKind.RECALL)


def patient_notice_queue(*, organization, patient, kind: str, body: str, buttons: list[dict] | None = None,
                         now: dt.datetime | None = None) -> Message:
    """A message the clinic sends on its own initiative (order ready, recall): the patient must be
    reachable, consenting and active, and it waits for the end of the quiet hours and closed days."""
    if patient.organization_id != organization.pk:
        raise ApplicationError(_("Unknown patient."), field="patient")
    clinic_settings = notification_settings_get(organization=organization)
    refusal = whatsapp_refusal(settings=clinic_settings, patient=patient, purpose=Purpose.CLINIC)
    if refusal:
        raise ApplicationError(refusal_text(refusal), field="patient")
    not_before = next_allowed_time(now or timezone.now(), settings=clinic_settings, zone=organization.zone)
    return message_queue(organization=organization, phone=patient.phone, body=body, kind=kind, patient=patient,
                         buttons=buttons, not_before=not_before)


def free_text_blocked_reason(*, patient) -> str:
    """Why staff cannot write to this patient on WhatsApp, or "" when they can."""
    return refusal_text(whatsapp_refusal(settings=notification_settings_get(organization=patient.organization),
                                         patient=patient, purpose=Purpose.STAFF))


# --- sending (the job's body) ---------------------------------------------------------------


def _settings_of(message: Message):
    """The clinic's notification settings, read with the message when they exist (see message_send)."""
    try:
        return message.organization.notification_settings
    except ObjectDoesNotExist:
        return notification_settings_get(organization=message.organization)


def _block_reason(message: Message, now: dt.datetime) -> tuple[str, str]:
    """(code, text) when the message must not go out any more."""
    patient = message.patient
    clinic_initiated = message.kind == MessageKind.REMINDER or message.kind in CLINIC_INITIATED_KINDS
    refusal = whatsapp_refusal(
        settings=_settings_of(message), patient=patient,
        purpose=Purpose.CLINIC if clinic_initiated else Purpose.ANSWER,
        answers_stop=message.reply_to_id is not None and message.reply_to.kind == MessageKind.OPT_OUT)
    if refusal == WHATSAPP_DISABLED:
        return "whatsapp_disabled", _("WhatsApp messages are turned off for this clinic.")
    if refusal == OPTED_OUT:
        return "opted_out", _("The patient asked to receive no WhatsApp messages (STOP).")
    if message.kind == MessageKind.REMINDER:
        appointment = message.appointment
        if appointment is None or appointment.status != AppointmentStatus.SCHEDULED:
            return "appointment_cancelled", _("The appointment is no longer scheduled.")
        if appointment.start != message.appointment_start:
            return "appointment_moved", _("The appointment was moved; the new time has its own reminder.")
        if appointment.start <= now:
            return "appointment_started", _("The reminder could only have gone out after the appointment started.")
    if refusal:
        return "no_consent", _("The patient cannot receive WhatsApp messages.")
    return "", ""


# The outcome of a send the bridge took, in one statement: the status only moves forward (sent
# only from queued / sending, as _advance does), the first bridge id is kept.
_SENT_SQL = f"""
UPDATE {Message._meta.db_table} SET
    status = CASE WHEN %(sent)s AND status IN ('queued', 'sending') THEN 'sent' ELSE status END,
    sent_at = CASE WHEN %(sent)s AND status IN ('queued', 'sending') THEN COALESCE(sent_at, %(now)s)
                   ELSE sent_at END,
    bridge_message_id = CASE WHEN bridge_message_id = '' THEN %(bridge_id)s ELSE bridge_message_id END,
    error_code = '', error = '', updated_at = %(now)s
WHERE id = %(pk)s
RETURNING status
"""  # noqa: S608 - the table name is the model's own


def message_send(*, message_id: int) -> str:
    """The send job's body: about 3 queries and one bridge call, plus 1 (and the announcement's)
    when a reminder's appointment moves to "confirmation requested"."""
    now = timezone.now()
    with transaction.atomic():
        message = (Message.objects.select_for_update(of=("self",))
                   .select_related("organization__notification_settings", "patient", "appointment", "reply_to",
                                   "attachment")
                   .filter(pk=message_id).first())
        if message is None:
            return "missing"
        if message.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
            # A rerun (a stalled job, a retry after a database error) of a send that went out:
            # what the first run may not have finished is asking for the confirmation.
            if message.kind == MessageKind.REMINDER and message.status in SENT_STATUSES:
                _confirmation_requested(message.appointment)
            return message.status
        code, text = _block_reason(message, now)
        if code:
            # A reminder that missed its appointment because sends kept failing is news for staff.
            _fail(message, code, text, alert=code == "appointment_started" and message.attempts > 0)
            return MessageStatus.FAILED
        _advance(message, MessageStatus.SENDING, now)
        message.attempts += 1
        message.save(update_fields=["status", "sending_at", "attempts", "updated_at"])

    client = BridgeClient()
    try:
        # No status call first: the bridge holds a reminder while its session reconnects only
        # until `deliver_before` (its appointment's start), then fails it with a reason instead of
        # sending it late; an unlinked session answers 409 (SessionNotReady) and the job retries.
        deliver_before = message.appointment_start if message.kind == MessageKind.REMINDER else None
        result = client.send_message(organization_id=message.organization_id, phone=message.phone,
                                     message=message.body, client_message_id=str(message.pk),
                                     buttons=message.buttons, media=_media_of(message),
                                     template=message.template, deliver_before=deliver_before)
    except BridgeRejected as exc:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=message.pk)
            _fail(message, exc.code or "rejected", exc.message, alert=message.kind == MessageKind.REMINDER)
        return MessageStatus.FAILED
    except (BridgeUnavailable, SessionNotReady) as exc:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=message.pk)
            message.error_code = "session_not_ready" if isinstance(exc, SessionNotReady) else "bridge_unavailable"
            message.error = exc.message[:500]
            message.save(update_fields=["error_code", "error", "updated_at"])
            # A reminder keeps trying until its appointment starts (checked on every attempt);
            # other messages give up after a number of attempts.
            if message.kind != MessageKind.REMINDER and message.attempts >= settings.WHATSAPP_SEND_MAX_ATTEMPTS:
                _fail(message, message.error_code, message.error, alert=False)
                return MessageStatus.FAILED
        raise SendRetry(exc.message) from exc

    with connection.cursor() as cursor:
        cursor.execute(_SENT_SQL, {"sent": result.status == "sent", "now": timezone.now(), "pk": message.pk,
                                   "bridge_id": (result.message_id or "")[:128]})
        row = cursor.fetchone()
    status = row[0] if row else message.status
    if message.kind == MessageKind.REMINDER and status in SENT_STATUSES:
        _confirmation_requested(message.appointment)
    return status


# The outcomes of a batch the bridge took, in one statement, with _SENT_SQL's rules for each row.
_BATCH_SENT_SQL = f"""
UPDATE {Message._meta.db_table} AS m SET
    status = CASE WHEN v.sent AND m.status IN ('queued', 'sending') THEN 'sent' ELSE m.status END,
    sent_at = CASE WHEN v.sent AND m.status IN ('queued', 'sending') THEN COALESCE(m.sent_at, %s) ELSE m.sent_at END,
    bridge_message_id = CASE WHEN m.bridge_message_id = '' THEN v.bridge_id ELSE m.bridge_message_id END,
    error_code = '', error = '', updated_at = %s
FROM (SELECT * FROM unnest(%s::bigint[], %s::boolean[], %s::text[])) AS v(id, sent, bridge_id)
WHERE m.id = v.id
RETURNING m.id, m.status
"""  # noqa: S608 - the table name is the model's own


def messages_send(*, message_ids: list[int]) -> dict[str, int]:
    """The batch send job's body: message_send for many messages, with one bridge call per
    organization and SEND_BATCH messages and a few queries for the whole batch (claim, mark, outcome;
    then one per reminder whose appointment moves to "confirmation requested").

    A message another job holds is left to it; one with a file goes to a send job of its own. When the
    bridge or the session is not available, every message not sent keeps its reason and the job is
    retried (SendRetry): a rerun skips what went out and the bridge answers a repeated
    client_message_id without sending it again. Returns how many ended sent, failed and retried.
    """
    now = timezone.now()
    outcome = {"sent": 0, "failed": 0, "retry": 0}
    with transaction.atomic():
        claimed = list(Message.objects.select_for_update(of=("self",), skip_locked=True)
                       .select_related("organization__notification_settings", "patient", "appointment", "reply_to",
                                       "attachment")
                       .filter(pk__in=message_ids).order_by("pk"))
        ready = []
        for message in claimed:
            if message.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
                if message.kind == MessageKind.REMINDER and message.status in SENT_STATUSES:
                    _confirmation_requested(message.appointment)
                continue
            if getattr(message, "attachment", None) is not None:
                transaction.on_commit(partial(_enqueue_send, message.pk))
                continue
            code, text = _block_reason(message, now)
            if code:
                _fail(message, code, text, alert=code == "appointment_started" and message.attempts > 0)
                outcome["failed"] += 1
                continue
            ready.append(message)
        if ready:
            Message.objects.filter(pk__in=[m.pk for m in ready]).update(
                status=MessageStatus.SENDING, sending_at=Coalesce("sending_at", Value(now)),
                attempts=F("attempts") + 1, updated_at=now)

    client = BridgeClient()
    retry = ""
    by_organization: dict[int, list[Message]] = {}
    for message in ready:
        by_organization.setdefault(message.organization_id, []).append(message)
    for organization_id, messages in by_organization.items():
        for chunk in (messages[i:i + SEND_BATCH] for i in range(0, len(messages), SEND_BATCH)):
            try:
                results = client.send_messages(organization_id=organization_id,
                                               messages=[_batch_item(m) for m in chunk])
            except BridgeRejected:
                # The bridge refused the batch's input (a phone it cannot read...): one by one, so that
                # only the message at fault fails, with its own reason.
                retry = _send_one_by_one(chunk, outcome) or retry
                continue
            except (BridgeUnavailable, SessionNotReady) as exc:
                code = "session_not_ready" if isinstance(exc, SessionNotReady) else "bridge_unavailable"
                outcome["retry"] += _not_sent_now(chunk, code, exc.message)
                retry = exc.message
                continue
            _record_batch_outcome(chunk, results, outcome)
            if outcome["retry"]:
                retry = retry or "the bridge could not send every message of the batch"
    if retry:
        raise SendRetry(retry)
    return outcome


def _batch_item(message: Message) -> dict:
    return {"phone": message.phone, "message": message.body, "client_message_id": str(message.pk),
            "buttons": message.buttons, "template": message.template,
            "deliver_before": message.appointment_start if message.kind == MessageKind.REMINDER else None}


def _send_one_by_one(chunk: list[Message], outcome: dict[str, int]) -> str:
    """Each message of a refused batch through its own send; why the job must run again, if it must
    (the bridge or the session went away meanwhile: what was not sent waits with its reason)."""
    retry = ""
    for message in chunk:
        try:
            status = message_send(message_id=message.pk)
        except SendRetry as exc:
            outcome["retry"] += 1
            retry = retry or str(exc)
            continue
        if status == MessageStatus.FAILED:
            outcome["failed"] += 1
        elif status in SENT_STATUSES:
            outcome["sent"] += 1
    return retry


def _not_sent_now(messages: list[Message], code: str, error: str) -> int:
    """Not sent this time: each keeps the reason, and a message that is not a reminder gives up after
    WHATSAPP_SEND_MAX_ATTEMPTS (a reminder keeps trying until its appointment starts). How many wait."""
    waiting = 0
    with transaction.atomic():
        for message in Message.objects.select_for_update().filter(pk__in=[m.pk for m in messages]).order_by("pk"):
            message.error_code, message.error = code, error[:500]
            if message.kind != MessageKind.REMINDER and message.attempts >= settings.WHATSAPP_SEND_MAX_ATTEMPTS:
                _fail(message, code, message.error, alert=False)
                continue
            message.save(update_fields=["error_code", "error", "updated_at"])
            waiting += 1
    return waiting


def _record_batch_outcome(chunk: list[Message], results: list[dict], outcome: dict[str, int]) -> None:
    taken, refused, failed = [], [], []
    for message, result in zip(chunk, results, strict=True):
        code = result.get("http_status")
        if code in (200, 202):
            taken.append((message, result))
        elif code is not None and 400 <= code < 500 and code != 409:
            refused.append((message, result))
        else:
            failed.append((message, result))
    if taken:
        with connection.cursor() as cursor:
            cursor.execute(_BATCH_SENT_SQL, [
                timezone.now(), timezone.now(), [m.pk for m, _r in taken],
                [r.get("status") == "sent" for _m, r in taken], [(r.get("message_id") or "")[:128] for _m, r in taken]])
            status_of = dict(cursor.fetchall())
        went_out = [m for m, _r in taken if status_of.get(m.pk) in SENT_STATUSES]
        outcome["sent"] += len(went_out)
        _confirmations_requested([m.appointment for m in went_out if m.kind == MessageKind.REMINDER])
    for message, result in refused:
        with transaction.atomic():
            locked = Message.objects.select_for_update().get(pk=message.pk)
            _fail(locked, result.get("error_code") or "rejected", result.get("error") or "",
                  alert=locked.kind == MessageKind.REMINDER)
        outcome["failed"] += 1
    if failed:
        # What /api/send-message answers 502 (the engine failed it): retried, as message_send does.
        outcome["retry"] += _not_sent_now([m for m, _r in failed], "bridge_unavailable",
                                          failed[0][1].get("error") or "send failed")


def _media_of(message: Message) -> Media | None:
    attachment = getattr(message, "attachment", None)
    if attachment is None:
        return None
    with attachment.file.open("rb") as handle:
        content = handle.read()
    return Media(kind=attachment.kind, mime_type=attachment.mime_type, filename=attachment.filename,
                 content=content, voice=attachment.voice)


def _confirmation_requested(appointment) -> None:
    """An unconfirmed (or no response) appointment whose reminder went out now waits for the answer.

    Checked against the row itself, under its lock: `appointment` may have been read before the send.
    """
    from apps.appointments.services import appointment_confirmation_request

    if appointment is None or appointment.confirmation not in (ConfirmationStatus.UNCONFIRMED,
                                                               ConfirmationStatus.NO_RESPONSE):
        return
    if appointment_confirmation_request(appointment_id=appointment.pk, source=EventSource.SYSTEM):
        appointment.confirmation = ConfirmationStatus.REQUESTED
    else:
        log.info("confirmation not requested for appointment %s: it is no longer unconfirmed and scheduled",
                 appointment.pk)


def _confirmations_requested(appointments: list) -> None:
    """_confirmation_requested for many appointments, in one statement."""
    from apps.appointments.services import appointments_confirmation_request

    waiting = [a for a in appointments if a is not None and a.confirmation in (ConfirmationStatus.UNCONFIRMED,
                                                                                 ConfirmationStatus.NO_RESPONSE)]
    moved = set(appointments_confirmation_request(appointment_ids=sorted(a.pk for a in waiting),
                                                  source=EventSource.SYSTEM)) if waiting else set()
    for appointment in waiting:
        if appointment.pk in moved:
            appointment.confirmation = ConfirmationStatus.REQUESTED


def _advance(message: Message, status: str, at: dt.datetime) -> bool:
    """Move forward only; False (and nothing changed) for a step back or after a final state."""
    if message.status == MessageStatus.FAILED:
        return False
    if status == MessageStatus.FAILED:
        if message.status in (MessageStatus.DELIVERED, MessageStatus.READ):
            return False
    elif STATUS_RANK[status] <= STATUS_RANK[message.status]:
        return False
    message.status = status
    field = _TIMESTAMP_FIELD[status]
    if getattr(message, field) is None:
        setattr(message, field, at)
    return True


def _fail(message: Message, code: str, error: str, *, alert: bool) -> None:
    if not _advance(message, MessageStatus.FAILED, timezone.now()):
        return
    message.error_code, message.error = code[:60], (error or "")[:500]
    message.save()
    if alert:
        who = message.patient.full_name if message.patient else message.phone
        staff_alert_raise(
            organization=message.organization, kind=AlertKind.REMINDER_FAILED, patient=message.patient,
            appointment=message.appointment, message=message,
            text=_("The reminder to %(who)s was not delivered: %(error)s") % {"who": who, "error": message.error},
        )


def message_status_apply(*, organization, data: dict, at: dt.datetime) -> Message | None:
    """A `message.status` event from the bridge; only this organization's messages are looked at."""
    outbound = Message.objects.select_for_update(of=("self",)).filter(organization=organization,
                                                                       direction=Direction.OUTBOUND)
    client_id = str(data.get("client_message_id") or "")
    message = outbound.filter(pk=int(client_id)).first() if is_whole_number(client_id) else None
    if message is None and data.get("message_id"):
        message = outbound.filter(bridge_message_id=str(data["message_id"])).first()
    status = data.get("status")
    if message is None or status not in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ,
                                         MessageStatus.FAILED):
        return message
    moved = False
    if not message.bridge_message_id and data.get("message_id"):
        message.bridge_message_id = str(data["message_id"])[:128]
        moved = True
    if status == MessageStatus.FAILED:
        _fail(message, str(data.get("error_code") or "failed"), str(data.get("error") or ""),
              alert=message.kind == MessageKind.REMINDER)
        return message
    first_out = message.status in (MessageStatus.QUEUED, MessageStatus.SENDING)
    if _advance(message, status, at):
        message.error_code = message.error = ""
        moved = True
    if moved:
        message.save()
    if first_out and message.kind == MessageKind.REMINDER and message.status in SENT_STATUSES:
        # The bridge's word that it went out is enough: the job that sent it may never finish.
        _confirmation_requested(message.appointment)
    return message


# The statuses message_statuses_apply takes; `failed` (a staff alert, the reason) goes one by one.
BATCH_STATUSES = SENT_STATUSES


def message_statuses_apply(*, organization, updates: list[dict]) -> None:
    """Many `message.status` events (sent / delivered / read) applied as message_status_apply applies
    each, in order, with one locking read and one UPDATE: `updates` are dicts of data and at."""
    pks, bridge_ids = set(), set()
    for update in updates:
        client_id = str(update["data"].get("client_message_id") or "")
        if is_whole_number(client_id):
            pks.add(int(client_id))
        if update["data"].get("message_id"):
            bridge_ids.add(str(update["data"]["message_id"]))
    if not pks and not bridge_ids:
        return
    by_pk: dict[int, Message] = {}
    by_bridge_id: dict[str, Message] = {}
    # Locked in primary key order, as concurrent batches lock them; only the columns a status reads and
    # writes (a message's body, buttons and template are most of its row).
    for message in (Message.objects.select_for_update(of=("self",))
                    .filter(organization=organization, direction=Direction.OUTBOUND)
                    .filter(Q(pk__in=pks) | Q(bridge_message_id__in=bridge_ids)).order_by("pk")
                    .only(*_STATUS_COLUMNS)):
        by_pk[message.pk] = message
    # A bridge id names the newest of its messages, as message_status_apply's .first() does.
    for message in sorted(by_pk.values(), key=lambda m: (m.created_at, m.pk)):
        if message.bridge_message_id in bridge_ids:
            by_bridge_id[message.bridge_message_id] = message
    changed: dict[int, Message] = {}
    went_out: list[int] = []
    for update in updates:
        data, status = update["data"], update["data"].get("status")
        client_id = str(data.get("client_message_id") or "")
        message = by_pk.get(int(client_id)) if is_whole_number(client_id) and int(client_id) in pks else None
        if message is None and data.get("message_id"):
            message = by_bridge_id.get(str(data["message_id"]))
        if message is None or status not in BATCH_STATUSES:
            continue
        moved = False
        if not message.bridge_message_id and data.get("message_id"):
            message.bridge_message_id = str(data["message_id"])[:128]
            moved = True
        first_out = message.status in (MessageStatus.QUEUED, MessageStatus.SENDING)
        if _advance(message, status, update["at"]):
            message.error_code = message.error = ""
            moved = True
        if not moved:
            # A repeat or a step back (the bridge's receipts come at least once, not in order): the
            # row stays as it is, its updated_at included.
            continue
        message.updated_at = timezone.now()
        changed[message.pk] = message
        if (first_out and message.kind == MessageKind.REMINDER and message.status in SENT_STATUSES
                and message.appointment_id is not None):
            went_out.append(message.appointment_id)
    if changed:
        # One statement for the batch (Django's bulk_update builds a CASE per row and field: 90% of a
        # batch's time).
        rows_update(list(changed.values()), _STATUS_FIELDS)
    if went_out:
        # The bridge's word that they went out is enough: the job that sent them may never finish. The
        # statement itself moves only the appointments still unconfirmed (or no response) and scheduled.
        from apps.appointments.services import appointments_confirmation_request

        appointments_confirmation_request(appointment_ids=sorted(set(went_out)), source=EventSource.SYSTEM)


# What message_statuses_apply writes, and the columns it reads to decide.
_STATUS_FIELDS = ["status", "sent_at", "delivered_at", "read_at", "bridge_message_id", "error_code", "error",
                  "updated_at"]
_STATUS_COLUMNS = [*_STATUS_FIELDS, "failed_at", "kind", "appointment", "created_at", "organization", "direction"]


def messages_requeue_stuck(*, now: dt.datetime, seconds: int) -> int:
    """Outbound messages left queued/sending past `seconds` with no send job are handed to a new job.

    A job can be lost with its message half-way (a database error in its first transaction, a
    job row pruned): without this the message would wait forever. The new job re-checks it and
    fails it with its reason when it is too late (a reminder whose appointment started).
    """
    from procrastinate.contrib.django.models import ProcrastinateJob

    stuck = list(Message.objects.filter(direction=Direction.OUTBOUND,
                                        status__in=(MessageStatus.QUEUED, MessageStatus.SENDING),
                                        updated_at__lt=now - dt.timedelta(seconds=seconds))
                 .order_by("pk").values_list("pk", flat=True)[:500])
    if not stuck:
        return 0
    waiting = ProcrastinateJob.objects.filter(status__in=("todo", "doing"))
    pending = set(waiting.filter(task_name="notifications.send_message", args__message_id__in=stuck)
                  .values_list("args__message_id", flat=True))
    for batch in waiting.filter(task_name="notifications.send_messages").values_list("args__message_ids", flat=True):
        pending.update(batch or ())
    orphans = [pk for pk in stuck if pk not in pending]
    for pk in orphans:
        log.warning("message %s was left without a send job: handed to a new one", pk)
        _enqueue_send(pk)
    return len(orphans)
