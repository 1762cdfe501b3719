"""What notifications does about other apps' news: appointment changes (sent after commit) plan or drop
reminders through a job; WhatsApp events (message status, inbound messages) and session changes update
the outbox, the replies and the staff alerts."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _

from apps.common.jobs import task_configure

log = logging.getLogger(__name__)

PLANNING_CHANGES = {"booked", "moved", "cancelled", "status"}


def on_appointment_changed(sender, *, appointment_id: int, change: str, **kwargs) -> None:
    _resolve_alerts(appointment_id)
    if change not in PLANNING_CHANGES:
        return
    from apps.notifications.reminders import reminders_cancel_for_appointment

    if change in ("cancelled", "moved"):
        # Dropped at once, not only when the job runs: the old time must never be reminded.
        reminders_cancel_for_appointment(appointment_id=appointment_id, reason=f"appointment_{change}")
    task_configure("notifications.plan_reminders").defer(appointment_id=appointment_id)
    if change in ("booked", "moved", "cancelled"):
        _notice(appointment_id, change)


def on_appointments_changed(sender, *, appointment_ids: list[int], change: str, **kwargs) -> None:
    # Only confirmation changes come in batches: nothing to plan, only alerts to close.
    _resolve_alerts(*appointment_ids)


def _resolve_alerts(*appointment_ids: int) -> None:
    """An answered call request, or a failed reminder of a visit now settled, is no longer news."""
    from apps.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus
    from apps.notifications.models import AlertKind
    from apps.notifications.services import staff_alerts_resolve_for_appointments

    by_kind: dict[str, list[int]] = {}
    for pk, status, confirmation in (Appointment.objects.filter(pk__in=appointment_ids)
                                     .values_list("pk", "status", "confirmation")):
        settled = status != AppointmentStatus.SCHEDULED
        if settled or confirmation != ConfirmationStatus.CALLBACK_REQUESTED:
            by_kind.setdefault(AlertKind.CALLBACK_REQUESTED, []).append(pk)
        if settled or confirmation in (ConfirmationStatus.CONFIRMED, ConfirmationStatus.DECLINED):
            by_kind.setdefault(AlertKind.REMINDER_FAILED, []).append(pk)
    for kind, pks in by_kind.items():
        staff_alerts_resolve_for_appointments(kind=kind, appointment_ids=pks)


def _notice(appointment_id: int, change: str) -> None:
    from apps.appointments.models import Appointment
    from apps.notifications.models import NotificationSettings

    appointment = Appointment.objects.filter(pk=appointment_id).values("start", "organization_id").first()
    if appointment is None:
        return
    # Most clinics leave these off: no job at all for them.
    flags = NotificationSettings.objects.filter(organization_id=appointment["organization_id"]).values(
        "notify_booked", "notify_moved", "notify_cancelled").first() or {}
    if flags.get(f"notify_{change}"):
        task_configure("notifications.send_appointment_notice").defer(
            appointment_id=appointment_id, change=change, start=appointment["start"].isoformat())


def on_message_status(*, organization, data: dict, at) -> None:
    from apps.notifications.outbox import message_status_apply

    message_status_apply(organization=organization, data=data, at=at)


def on_message_inbound(*, organization, data: dict, at) -> None:
    from apps.notifications.replies import inbound_receive
    from apps.notifications.services import inbound_media_record

    phone = str(data.get("from") or "")
    if not phone:
        return
    reply_to = str(data.get("reply_to") or "")
    inbound = inbound_receive(organization=organization, bridge_message_id=str(data.get("message_id") or ""),
                              phone=phone, text=str(data.get("text") or ""), button_id=str(data.get("button_id") or ""),
                              push_name=str(data.get("push_name") or ""), reply_to=reply_to, at=at)
    media, rejected = data.get("media"), data.get("media_rejected")
    inbound_media_record(message=inbound, media=media if isinstance(media, dict) else None,
                         rejected=rejected if isinstance(rejected, dict) else None, reply_to=reply_to)


def _status_joins_a_run(*, organization, data: dict, cache: dict) -> bool:
    from apps.notifications.outbox import BATCH_STATUSES

    return data.get("status") in BATCH_STATUSES


def on_message_statuses(*, organization, items: list[dict]) -> None:
    from apps.notifications.outbox import message_statuses_apply

    message_statuses_apply(organization=organization, updates=items)


def _inbound_joins_a_run(*, organization, data: dict, cache: dict) -> bool:
    """A plain text from a patient (no quote, no file, no reply keyword) is stored with others at once."""
    from apps.notifications.replies import inbound_is_plain, inbound_reply_keywords

    if not data.get("from") or data.get("reply_to") or isinstance(data.get("media"), dict) or isinstance(
            data.get("media_rejected"), dict):
        return False
    keywords = cache.get(("keywords", organization.pk))
    if keywords is None:
        keywords = cache[("keywords", organization.pk)] = inbound_reply_keywords(organization=organization)
    return inbound_is_plain(text=str(data.get("text") or ""), button_id=str(data.get("button_id") or ""),
                            keywords=keywords)


def on_plain_inbounds(*, organization, items: list[dict]) -> None:
    from apps.notifications.replies import inbound_receive_plain

    inbound_receive_plain(organization=organization, inbounds=[
        {"bridge_message_id": str(item["data"].get("message_id") or ""), "phone": str(item["data"].get("from") or ""),
         "text": str(item["data"].get("text") or ""), "push_name": str(item["data"].get("push_name") or ""),
         "at": item["at"]} for item in items])


def on_session_needs_relink(sender, *, organization, session, **kwargs) -> None:
    from apps.notifications.models import AlertKind
    from apps.notifications.services import staff_alert_raise

    staff_alert_raise(
        organization=organization, kind=AlertKind.SESSION_NEEDS_RELINK,
        text=_("WhatsApp is not linked any more (%(reason)s): link the phone again to keep sending "
               "reminders.") % {"reason": session.reason_display or session.get_status_display().lower()},
    )


def on_session_linked(sender, *, organization, session, **kwargs) -> None:
    """Linked again: the alert asking for it has nothing left to ask."""
    from apps.notifications.models import AlertKind
    from apps.notifications.services import staff_alerts_resolve

    staff_alerts_resolve(organization=organization, kinds=[AlertKind.SESSION_NEEDS_RELINK])


def connect() -> None:
    from apps.appointments.signals import appointment_changed, appointments_changed
    from apps.whatsapp.events import BatchHandler, event_batch_handler_register, event_handler_register
    from apps.whatsapp.signals import session_linked, session_needs_relink

    appointment_changed.connect(on_appointment_changed, dispatch_uid="notifications.plan_reminders")
    appointments_changed.connect(on_appointments_changed, dispatch_uid="notifications.resolve_alerts")
    event_handler_register(event_type="message.status", handler=on_message_status)
    event_handler_register(event_type="message.inbound", handler=on_message_inbound)
    event_batch_handler_register(event_type="message.status",
                                 handler=BatchHandler(accepts=_status_joins_a_run, apply_many=on_message_statuses))
    event_batch_handler_register(event_type="message.inbound",
                                 handler=BatchHandler(accepts=_inbound_joins_a_run, apply_many=on_plain_inbounds))
    session_needs_relink.connect(on_session_needs_relink, dispatch_uid="notifications.session_needs_relink")
    session_linked.connect(on_session_linked, dispatch_uid="notifications.session_linked")
