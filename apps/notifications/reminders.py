"""Reminder planning (on booking, move, cancel) and the due-reminder dispatcher.

Time comes in as `now` so that the periodic job runs on the real clock and tests on a test clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus, EventSource
from apps.appointments.services import appointment_confirmation_set
from apps.common.bulk import rows_update
from apps.notifications import outbox
from apps.notifications.eligibility import WHATSAPP_DISABLED, Purpose, whatsapp_refusal
from apps.notifications.models import Reminder, ReminderRule, ReminderStatus, TemplateKind
from apps.notifications.rendering import language_for, meta_template_row, template_bodies
from apps.notifications.schedule import reminder_due_at
from apps.notifications.services import notification_settings_get

log = logging.getLogger(__name__)

DISPATCH_BATCH = 200
DISPATCH_BUDGET_SECONDS = 50
HELD_ROW_WAIT_SECONDS = 0.2


def reminders_plan_for_appointment(*, appointment_id: int, now: dt.datetime | None = None) -> list[Reminder]:
    """Bring the appointment's plan in line with it: drop what no longer applies, add what is missing."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = (Appointment.objects.select_for_update(of=("self",)).select_related("organization")
                       .filter(pk=appointment_id).first())
        if appointment is None:
            return []
        pending = Reminder.objects.filter(appointment=appointment, status=ReminderStatus.PENDING)
        if appointment.status != AppointmentStatus.SCHEDULED:
            pending.update(status=ReminderStatus.CANCELLED, reason=f"appointment_{appointment.status}",
                           updated_at=now)
            return []
        pending.exclude(appointment_start=appointment.start).update(
            status=ReminderStatus.CANCELLED, reason="appointment_moved", updated_at=now)
        settings = notification_settings_get(organization=appointment.organization)
        rules = list(ReminderRule.objects.filter(organization=appointment.organization, is_enabled=True))
        planned = []
        for rule in rules:
            existing = Reminder.objects.filter(appointment=appointment, rule=rule,
                                               appointment_start=appointment.start).first()
            if existing is not None and existing.status != ReminderStatus.CANCELLED:
                continue
            due_at, reason = reminder_due_at(rule=rule, rules=rules, start=appointment.start, now=now,
                                             settings=settings, zone=appointment.organization.zone)
            # Moved away and back again: the cancelled plan for this start comes back to life.
            reminder = existing or Reminder(organization=appointment.organization, appointment=appointment,
                                            rule=rule, appointment_start=appointment.start)
            reminder.due_at, reminder.reason = due_at, reason
            reminder.status = ReminderStatus.SKIPPED if reason else ReminderStatus.PENDING
            reminder.save()
            planned.append(reminder)
        return planned


def reminders_replan_organization(*, organization_id: int, now: dt.datetime | None = None) -> int:
    """After the clinic changed its rules or hours: every future booking's plan is computed again."""
    now = now or timezone.now()
    upcoming = list(Appointment.objects.filter(organization_id=organization_id, status=AppointmentStatus.SCHEDULED,
                                               start__gt=now).values_list("pk", flat=True))
    for appointment_id in upcoming:
        with transaction.atomic():
            Reminder.objects.filter(appointment_id=appointment_id, status=ReminderStatus.PENDING).update(
                status=ReminderStatus.CANCELLED, reason="settings_changed", updated_at=now)
            reminders_plan_for_appointment(appointment_id=appointment_id, now=now)
    return len(upcoming)


def reminders_cancel_for_appointment(*, appointment_id: int, reason: str) -> int:
    return Reminder.objects.filter(appointment_id=appointment_id, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, reason=reason, updated_at=timezone.now())


def reminders_dispatch_due(*, now: dt.datetime, budget_seconds: float = DISPATCH_BUDGET_SECONDS) -> int:
    """Hand every reminder due by `now` to the sender; returns how many were handed over.

    Batch after batch until the backlog is drained (10,000 reminders due at 9:00 must not wait for
    50 periodic ticks), within a time budget so that one run ends near the next tick, which picks up
    whatever is left. Walking by primary key skips rows another dispatcher holds instead of
    returning to them.
    """
    deadline = time.monotonic() + budget_seconds
    handed, after = 0, 0
    jobs_per_clinic: dict[int, int] = {}  # the send jobs of this run take the clinics in turn
    while True:
        due = _due_ids(now=now, after=after)
        handed += reminders_dispatch_batch(reminder_ids=due, now=now, jobs_per_clinic=jobs_per_clinic)
        if time.monotonic() > deadline:
            return handed
        if len(due) < DISPATCH_BATCH:
            break
        after = due[-1]
    # Rows the walk skipped because another transaction held them (a replan after the clinic changed
    # its rules, another dispatcher) are still due: go back to them while the budget lasts rather
    # than leave them to a later tick, whose clock may no longer be this one.
    while time.monotonic() < deadline and (held := _due_ids(now=now, after=0)):
        time.sleep(HELD_ROW_WAIT_SECONDS)
        handed += reminders_dispatch_batch(reminder_ids=held, now=now, jobs_per_clinic=jobs_per_clinic)
    return handed


def _due_ids(*, now: dt.datetime, after: int) -> list[int]:
    return list(Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=now, pk__gt=after)
                .order_by("pk").values_list("pk", flat=True)[:DISPATCH_BATCH])


def reminders_dispatch_batch(*, reminder_ids: list[int], now: dt.datetime,
                             jobs_per_clinic: dict[int, int] | None = None) -> int:
    """Dispatch many due reminders in one transaction with a few queries for the whole batch.

    Same checks and outcome as reminder_dispatch one by one: claimed rows (skip_locked), wording
    and settings read once per clinic, messages written with one INSERT, reminders closed with one
    UPDATE, send jobs deferred with one INSERT after commit. A reminder already in the ledger makes
    the INSERT fail: the batch is then dispatched one by one, which tells which one it was.
    """
    try:
        with transaction.atomic():
            claimed = list(Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                           .select_related(*_DISPATCH_RELATED)
                           .filter(pk__in=reminder_ids, status=ReminderStatus.PENDING).order_by("pk"))
            settings_of, bodies_of, wording, messages, closed = {}, {}, {}, [], []
            for reminder in claimed:
                org = reminder.organization
                if org.pk not in settings_of:
                    settings_of[org.pk] = notification_settings_get(organization=org)
                reason = _block_reason(reminder, now, settings=settings_of[org.pk])
                if reason:
                    reminder.status, reminder.reason = ReminderStatus.SKIPPED, reason
                else:
                    appointment = reminder.appointment
                    language = language_for(appointment.patient)
                    if (org.pk, language) not in bodies_of:
                        bodies_of[org.pk, language] = (
                            template_bodies(organization=org, language=language, kinds=outbox.REMINDER_KINDS),
                            meta_template_row(organization=org, kind=TemplateKind.REMINDER, language=language))
                    bodies, meta_template = bodies_of[org.pk, language]
                    reminder.message = outbox.reminder_message_build(
                        appointment=appointment, rule=reminder.rule, bodies=bodies, meta_template=meta_template,
                        cache=wording)
                    messages.append(reminder.message)
                    reminder.status, reminder.reason = ReminderStatus.DISPATCHED, ""
                closed.append(reminder)
            if messages:
                outbox.reminder_messages_queue(messages=messages, jobs_per_clinic=jobs_per_clinic)
            _close_many(closed)
            return len(messages)
    except IntegrityError:
        return sum(1 for pk in reminder_ids if reminder_dispatch(reminder_id=pk, now=now) is not None)


def _close_many(reminders: list[Reminder]) -> None:
    # Every closed reminder of a batch in one statement (Django's bulk_update builds a CASE per row and
    # field, which cost more Python than the rest of the batch); a message written by the batch's insert
    # got its pk after it was assigned to the reminder, and rows_update writes that pk.
    now = timezone.now()
    for reminder in reminders:
        reminder.updated_at = now
    rows_update(reminders, ["status", "reason", "message", "updated_at"])


_DISPATCH_RELATED = ("appointment__patient", "appointment__provider", "appointment__organization", "organization",
                     "rule")


def _block_reason(reminder: Reminder, now: dt.datetime, settings=None) -> str:
    appointment = reminder.appointment
    if appointment.status != AppointmentStatus.SCHEDULED:
        return f"appointment_{appointment.status}"
    if appointment.start != reminder.appointment_start:
        return "appointment_moved"
    if appointment.start <= now:
        return "appointment_started"
    if not reminder.rule.is_enabled:
        return "rule_disabled"
    refusal = whatsapp_refusal(settings=settings or notification_settings_get(organization=reminder.organization),
                               patient=appointment.patient, purpose=Purpose.CLINIC)
    if refusal == WHATSAPP_DISABLED:
        return "whatsapp_disabled"
    return "patient_cannot_receive_whatsapp" if refusal else ""


def reminder_dispatch(*, reminder_id: int, now: dt.datetime):
    """Re-check one due reminder and, if it still applies, write its message to the outbox (once)."""
    with transaction.atomic():
        reminder = (Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related(*_DISPATCH_RELATED)
                    .filter(pk=reminder_id, status=ReminderStatus.PENDING).first())
        if reminder is None:
            return None
        reason = _block_reason(reminder, now)
        if reason:
            _close(reminder, ReminderStatus.SKIPPED, reason)
            return None
        try:
            with transaction.atomic():
                message = outbox.reminder_message_queue(appointment=reminder.appointment, rule=reminder.rule)
        except IntegrityError:
            # The ledger already holds this (appointment, rule, start): another run got there first.
            _close(reminder, ReminderStatus.SKIPPED, "already_sent")
            return None
        reminder.message = message
        _close(reminder, ReminderStatus.DISPATCHED, "")
        return message


def _close(reminder: Reminder, status: str, reason: str) -> None:
    reminder.status, reminder.reason = status, reason
    reminder.save(update_fields=["status", "reason", "message", "updated_at"])


def confirmations_mark_no_response(*, now: dt.datetime) -> int:
    """Requested confirmations still unanswered within each clinic's cut-off become no_response."""
    from apps.notifications.models import NotificationSettings

    marked = 0
    candidates = (Appointment.objects.filter(status=AppointmentStatus.SCHEDULED,
                                             confirmation=ConfirmationStatus.REQUESTED, start__gt=now)
                  .select_related("organization"))
    hours_by_org = dict(NotificationSettings.objects.values_list("organization_id", "no_response_hours"))
    for appointment in candidates:
        hours = hours_by_org.get(appointment.organization_id, 2)
        if appointment.start - now > dt.timedelta(hours=hours):
            continue
        appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.NO_RESPONSE,
                                     source=EventSource.SYSTEM)
        marked += 1
    return marked


def reminder_send_now(*, appointment, user) -> outbox.Message:
    """Staff send the appointment's reminder now: its planned one if not sent yet, else one more.

    Quiet hours do not apply: a person decided. The ledger still holds: a planned reminder is sent
    through its (appointment, rule, start) row, and nothing is sent while another is on its way.
    """
    from apps.common.exceptions import ApplicationError
    from apps.notifications.selectors import reminder_send_blocked_reason

    with transaction.atomic():
        appointment = (Appointment.objects.select_for_update(of=("self",))
                       .select_related("patient", "provider", "organization").get(pk=appointment.pk))
        blocked = reminder_send_blocked_reason(appointment=appointment)
        if blocked:
            raise ApplicationError(blocked, field="appointment")
        planned = (Reminder.objects.select_for_update().filter(
            appointment=appointment, appointment_start=appointment.start, message__isnull=True,
            status__in=[ReminderStatus.PENDING, ReminderStatus.SKIPPED]).select_related("rule").order_by("due_at")
            .first())
        rule = planned.rule if planned is not None else None
        if rule is not None and outbox.Message.objects.filter(appointment=appointment, rule=rule,
                                                              appointment_start=appointment.start,
                                                              kind="reminder").exists():
            rule = None  # the ledger already holds this rule's reminder: this one is an extra
        message = outbox.reminder_message_queue(appointment=appointment, rule=rule, sent_by=user)
        if planned is not None and rule is not None:
            planned.message = message
            _close(planned, ReminderStatus.DISPATCHED, "sent_now_by_staff")
        return message
