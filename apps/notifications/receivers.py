"""Appointment changes (sent after commit) plan or drop reminders, through a job."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

PLANNING_CHANGES = {"booked", "moved", "cancelled", "status"}


def on_appointment_changed(sender, *, appointment_id: int, change: str, **kwargs) -> None:
    _resolve_alerts(appointment_id)
    if change not in PLANNING_CHANGES:
        return
    from apps.notifications.reminders import reminders_cancel_for_appointment
    from apps.notifications.tasks import plan_reminders

    if change in ("cancelled", "moved"):
        # Dropped at once, not only when the job runs: the old time must never be reminded.
        reminders_cancel_for_appointment(appointment_id=appointment_id, reason=f"appointment_{change}")
    plan_reminders.defer(appointment_id=appointment_id)
    if change in ("booked", "moved", "cancelled"):
        _notice(appointment_id, change)


def _resolve_alerts(appointment_id: int) -> None:
    """An answered call request, or a failed reminder of a visit now settled, is no longer news."""
    from apps.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus
    from apps.notifications.models import AlertKind
    from apps.notifications.services import staff_alerts_resolve

    appointment = Appointment.objects.select_related("organization").filter(pk=appointment_id).first()
    if appointment is None:
        return
    settled = appointment.status != AppointmentStatus.SCHEDULED
    kinds = []
    if settled or appointment.confirmation != ConfirmationStatus.CALLBACK_REQUESTED:
        kinds.append(AlertKind.CALLBACK_REQUESTED)
    if settled or appointment.confirmation in (ConfirmationStatus.CONFIRMED, ConfirmationStatus.DECLINED):
        kinds.append(AlertKind.REMINDER_FAILED)
    if kinds:
        staff_alerts_resolve(organization=appointment.organization, kinds=kinds, appointment=appointment)


def _notice(appointment_id: int, change: str) -> None:
    from apps.appointments.models import Appointment
    from apps.notifications.models import NotificationSettings
    from apps.notifications.tasks import send_appointment_notice

    appointment = Appointment.objects.filter(pk=appointment_id).values("start", "organization_id").first()
    if appointment is None:
        return
    # Most clinics leave these off: no job at all for them.
    flags = NotificationSettings.objects.filter(organization_id=appointment["organization_id"]).values(
        "notify_booked", "notify_moved", "notify_cancelled").first() or {}
    if flags.get(f"notify_{change}"):
        send_appointment_notice.defer(appointment_id=appointment_id, change=change,
                                      start=appointment["start"].isoformat())


def connect() -> None:
    from apps.appointments.signals import appointment_changed

    appointment_changed.connect(on_appointment_changed, dispatch_uid="notifications.plan_reminders")
