"""Telling the patient what staff did to an appointment: booked, moved, cancelled.

Each clinic turns each notice on or off. A notice goes through the outbox like any message, once
per (appointment, kind, start) — the appointment row is locked while the ledger is checked — with
the same consent and WhatsApp checks, and waits for the end of quiet hours and closed days.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from apps.appointments.models import Appointment, AppointmentStatus, CancelledBy
from apps.notifications.eligibility import Purpose, whatsapp_refusal
from apps.notifications.models import NOTICE_KINDS, Message, MessageKind
from apps.notifications.outbox import message_queue
from apps.notifications.rendering import language_for, render_for
from apps.notifications.schedule import next_allowed_time
from apps.notifications.services import notification_settings_get

CHANGE_KINDS = {"booked": MessageKind.BOOKED, "moved": MessageKind.MOVED, "cancelled": MessageKind.CANCELLED}
SETTING_OF = {MessageKind.BOOKED: "notify_booked", MessageKind.MOVED: "notify_moved",
              MessageKind.CANCELLED: "notify_cancelled"}


def _still_true(appointment: Appointment, kind: str, start: dt.datetime) -> bool:
    """The change the notice tells of is still what the appointment is (a later change has its own)."""
    if appointment.start != start:
        return False
    if kind == MessageKind.CANCELLED:
        return appointment.status == AppointmentStatus.CANCELLED and appointment.cancelled_by == CancelledBy.STAFF
    return appointment.status == AppointmentStatus.SCHEDULED


def appointment_notice_queue(*, appointment_id: int, change: str, start: dt.datetime,
                             now: dt.datetime) -> tuple[Message | None, dt.datetime | None]:
    """(the queued message, None), (None, when to try again: quiet hours), or (None, None): nothing to send."""
    kind = CHANGE_KINDS.get(change)
    if kind is None:
        return None, None
    with transaction.atomic():
        appointment = (Appointment.objects.select_for_update(of=("self",))
                       .select_related("organization", "patient", "provider").filter(pk=appointment_id).first())
        if appointment is None or not _still_true(appointment, kind, start) or appointment.start <= now:
            return None, None
        organization = appointment.organization
        settings = notification_settings_get(organization=organization)
        if not getattr(settings, SETTING_OF[kind]) or whatsapp_refusal(
                settings=settings, patient=appointment.patient, purpose=Purpose.CLINIC):
            return None, None
        if Message.objects.filter(appointment=appointment, kind=kind, appointment_start=appointment.start).exists():
            return None, None  # already in the ledger: a repeated job sends nothing
        allowed = next_allowed_time(now, settings=settings, zone=organization.zone)
        if allowed > now:
            return None, (allowed if allowed < appointment.start else None)
        body = render_for(organization=organization, kind=NOTICE_KINDS[kind], patient=appointment.patient,
                          appointment=appointment, language=language_for(appointment.patient))
        return message_queue(organization=organization, phone=appointment.patient.phone, body=body, kind=kind,
                             patient=appointment.patient, appointment=appointment), None
