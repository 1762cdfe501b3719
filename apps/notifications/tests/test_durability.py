"""Sends survive a bridge outage and a worker killed mid-send, and are never sent twice."""

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from apps.notifications.models import AlertKind, Message, MessageStatus, StaffAlert
from apps.notifications.outbox import _enqueue_send
from apps.notifications.reminders import reminder_dispatch, reminders_plan_for_appointment
from apps.notifications.services import notification_settings_update
from apps.notifications.tasks import jobs_retry_stalled
from apps.notifications.tests.conftest import local
from apps.whatsapp.client import BridgeClient
from apps.whatsapp.tests.processes import Blackhole, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DELIVERED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


@pytest.fixture
def queued_reminder(organization, book):
    """A reminder handed to the outbox now, as the dispatcher does at its due time."""

    def make():
        notification_settings_update(organization=organization, data={"closed_days": [], "quiet_start": None,
                                                                      "quiet_end": None})
        appointment = book(local(3, 11))
        [reminder] = reminders_plan_for_appointment(appointment_id=appointment.pk, now=timezone.now())
        return reminder_dispatch(reminder_id=reminder.pk, now=reminder.due_at)

    return make


def status_of(message) -> str:
    return Message.objects.get(pk=message.pk).status


def texts_on_phone(bridge, organization, message) -> list[str]:
    return [m["text"] for m in bridge.phone_inbox(organization.pk, message.phone) if message.body in m["text"]]


def test_bridge_down_at_send_time_then_up_sends_once_later(organization, make_bridge, make_worker, queued_reminder,
                                                           tmp_path):
    bridge = make_bridge(data_dir=tmp_path / "bridge")
    bridge.link(organization.pk)
    bridge.stop()
    message = queued_reminder()
    make_worker(bridge_url=bridge.url)

    wait_until(lambda: Message.objects.get(pk=message.pk).error_code == "bridge_unavailable",
               message="a failed attempt while the bridge is down")
    assert status_of(message) == MessageStatus.SENDING

    make_bridge(data_dir=tmp_path / "bridge", port=bridge.port)  # same data: the session comes back by itself
    wait_until(lambda: status_of(message) in DELIVERED, message="the send after the bridge came back")
    sent = Message.objects.get(pk=message.pk)
    assert sent.attempts >= 2 and sent.error == ""
    assert len(texts_on_phone(bridge, organization, message)) == 1


def test_worker_killed_between_claim_and_send_sends_once_after_restart(organization, make_bridge, make_worker,
                                                                       queued_reminder):
    bridge = make_bridge()
    bridge.link(organization.pk)
    hang = Blackhole()
    try:
        message = queued_reminder()
        first = make_worker(bridge_url=hang.url, env={"WHATSAPP_BRIDGE_TIMEOUT": "600"})
        wait_until(lambda: status_of(message) == MessageStatus.SENDING, message="the worker to claim the send")
        first.kill()
    finally:
        hang.close()

    # What the periodic stalled-job sweep does, with a short heartbeat limit instead of 90 s.
    wait_until(lambda: async_to_sync(jobs_retry_stalled)(seconds_since_heartbeat=1), timeout=60,
               message="the stalled send job to be put back in the queue")
    make_worker(bridge_url=bridge.url)
    wait_until(lambda: status_of(message) in DELIVERED, message="the send after the restart")
    assert len(texts_on_phone(bridge, organization, message)) == 1


def test_a_duplicated_send_job_sends_once(organization, make_bridge, make_worker, queued_reminder):
    bridge = make_bridge()
    bridge.link(organization.pk)
    message = queued_reminder()
    _enqueue_send(message.pk)  # queued_reminder already enqueued one: this is the duplicate
    make_worker(bridge_url=bridge.url)
    wait_until(lambda: status_of(message) in DELIVERED, message="the send")
    from procrastinate.contrib.django.models import ProcrastinateJob

    wait_until(lambda: not ProcrastinateJob.objects.filter(task_name="notifications.send_message",
                                                           status__in=["todo", "doing"]).exists(),
               message="every send job to finish")
    assert len(texts_on_phone(bridge, organization, message)) == 1
    assert Message.objects.get(pk=message.pk).attempts == 1


def test_the_bridge_answers_a_repeated_client_message_id_without_sending_again(organization, make_bridge):
    bridge = make_bridge()
    bridge.link(organization.pk)
    client = BridgeClient()
    first = client.send_message(organization_id=organization.pk, phone="+573001234567", message="Hola de nuevo",
                                client_message_id="4242")
    again = client.send_message(organization_id=organization.pk, phone="+573001234567", message="Hola de nuevo",
                                client_message_id="4242")
    assert first.message_id == again.message_id
    assert [m["text"] for m in bridge.phone_inbox(organization.pk, "+573001234567")] == ["Hola de nuevo"]


def test_a_reminder_whose_appointment_has_started_is_dropped_not_sent(organization, make_bridge, queued_reminder):
    from apps.notifications.outbox import message_send

    bridge = make_bridge()
    bridge.link(organization.pk)
    message = queued_reminder()
    appointment = message.appointment
    # The bridge was down until after the start: by the time the job runs, it is too late.
    started = timezone.now() - dt.timedelta(minutes=1)
    type(appointment).objects.filter(pk=appointment.pk).update(start=started, end=started + dt.timedelta(minutes=30))
    Message.objects.filter(pk=message.pk).update(appointment_start=started, attempts=3)
    assert message_send(message_id=message.pk) == MessageStatus.FAILED
    failed = Message.objects.get(pk=message.pk)
    assert failed.error_code == "appointment_started"
    assert bridge.phone_inbox(organization.pk) == []
    alert = StaffAlert.objects.get(organization=organization)
    assert (alert.kind, alert.message_id) == (AlertKind.REMINDER_FAILED, message.pk)
