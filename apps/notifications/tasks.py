"""Background jobs (procrastinate), run by `manage.py worker`."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import InterfaceError, OperationalError
from procrastinate import RetryDecision
from procrastinate.contrib.django import app
from procrastinate.retry import BaseRetryStrategy

from apps.notifications import outbox, reminders, services

# A lost or restarting database: the job is run again, it never fails for good because of it.
DATABASE_OUTAGES = (OperationalError, InterfaceError)


class SendBackoff(BaseRetryStrategy):
    """Exponential backoff, read from settings at run time, for bridge, session or database outages;
    any other error is retried `other_attempts` times (at once), then the job fails."""

    def __init__(self, other_attempts: int = 0):
        self.other_attempts = other_attempts

    def get_retry_decision(self, *, exception, job):
        if not isinstance(exception, (outbox.SendRetry, services.FetchRetry, *DATABASE_OUTAGES)):
            return RetryDecision(retry_in={"seconds": 0}) if job.attempts < self.other_attempts else None
        wait = min(settings.WHATSAPP_SEND_RETRY_MAX_SECONDS,
                   settings.WHATSAPP_SEND_RETRY_SECONDS * 2 ** min(job.attempts, 16))
        return RetryDecision(retry_in={"seconds": wait})


@app.task(name="notifications.send_message", retry=SendBackoff())
def send_message(message_id: int) -> str:
    return outbox.message_send(message_id=message_id)


@app.task(name="notifications.send_messages", retry=SendBackoff())
def send_messages(message_ids: list[int]) -> dict[str, int]:
    """Many messages (a dispatcher batch's reminders) in one job and one bridge call per clinic."""
    return outbox.messages_send(message_ids=message_ids)


@app.task(name="notifications.fetch_attachment", retry=SendBackoff())
def fetch_attachment(attachment_id: int) -> bool:
    return services.attachment_fetch(attachment_id=attachment_id)


@app.task(name="notifications.plan_reminders", retry=SendBackoff(other_attempts=5))
def plan_reminders(appointment_id: int) -> int:
    return len(reminders.reminders_plan_for_appointment(appointment_id=appointment_id))


@app.task(name="notifications.replan_organization", retry=SendBackoff(other_attempts=5))
def replan_organization(organization_id: int) -> int:
    return reminders.reminders_replan_organization(organization_id=organization_id)


@app.task(name="notifications.send_appointment_notice", retry=5)
def send_appointment_notice(appointment_id: int, change: str, start: str) -> bool:
    """A booked / moved / cancelled notice; in quiet hours it is deferred to the first allowed time."""
    from django.utils import timezone

    from apps.notifications.notices import appointment_notice_queue

    message, retry_at = appointment_notice_queue(appointment_id=appointment_id, change=change,
                                                 start=dt.datetime.fromisoformat(start), now=timezone.now())
    if retry_at is not None:
        send_appointment_notice.configure(schedule_at=retry_at).defer(appointment_id=appointment_id, change=change,
                                                                      start=start)
    return message is not None


@app.periodic(cron="* * * * *", periodic_id="dispatch_due_reminders")
@app.task(name="notifications.dispatch_due_reminders", retry=SendBackoff())
def dispatch_due_reminders(timestamp: int) -> int:
    """`timestamp` is the periodic tick; a test defers the job with its own clock's time."""
    return reminders.reminders_dispatch_due(now=dt.datetime.fromtimestamp(timestamp, dt.UTC))


@app.periodic(cron="*/5 * * * *", periodic_id="mark_no_response")
@app.task(name="notifications.mark_no_response", retry=SendBackoff())
def mark_no_response(timestamp: int) -> int:
    return reminders.confirmations_mark_no_response(now=dt.datetime.fromtimestamp(timestamp, dt.UTC))


@app.periodic(cron="* * * * *", periodic_id="requeue_stuck_messages")
@app.task(name="notifications.requeue_stuck_messages", retry=SendBackoff())
def requeue_stuck_messages(timestamp: int) -> int:
    return outbox.messages_requeue_stuck(now=dt.datetime.fromtimestamp(timestamp, dt.UTC),
                                         seconds=settings.WHATSAPP_STUCK_SEND_SECONDS)


@app.periodic(cron="* * * * * */10", periodic_id="retry_stalled_jobs")
@app.task(name="notifications.retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> int:
    return await jobs_retry_stalled(seconds_since_heartbeat=settings.WHATSAPP_STALLED_JOB_SECONDS)


async def jobs_retry_stalled(*, seconds_since_heartbeat: float) -> int:
    """Jobs left `doing` by a worker that died (no heartbeat) go back to the queue.

    A send interrupted between claim and bridge call is then attempted again with the same
    client_message_id, which the bridge answers without sending twice.
    """
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat)
    count = 0
    for job in stalled:
        await app.job_manager.retry_job(job)
        count += 1
    return count
