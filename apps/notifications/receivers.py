"""Appointment changes (sent after commit) plan or drop reminders, through a job."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

PLANNING_CHANGES = {"booked", "moved", "cancelled", "status"}


def on_appointment_changed(sender, *, appointment_id: int, change: str, **kwargs) -> None:
    if change not in PLANNING_CHANGES:
        return
    from apps.notifications.reminders import reminders_cancel_for_appointment
    from apps.notifications.tasks import plan_reminders

    if change in ("cancelled", "moved"):
        # Dropped at once, not only when the job runs: the old time must never be reminded.
        reminders_cancel_for_appointment(appointment_id=appointment_id, reason=f"appointment_{change}")
    plan_reminders.defer(appointment_id=appointment_id)


def connect() -> None:
    from apps.appointments.signals import appointment_changed

    appointment_changed.connect(on_appointment_changed, dispatch_uid="notifications.plan_reminders")
