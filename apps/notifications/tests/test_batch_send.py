"""The batch send job: a dispatcher batch's reminders go out through one bridge call per clinic, each once."""

import datetime as dt

import pytest
import requests
from django.utils import timezone

from apps.appointments.models import AppointmentEvent, ConfirmationStatus, EventSource
from apps.appointments.services import appointment_cancel
from apps.notifications.models import Message, MessageKind, MessageStatus
from apps.notifications.outbox import SendRetry, messages_requeue_stuck, messages_send
from apps.notifications.reminders import reminders_dispatch_batch, reminders_plan_for_appointment
from apps.notifications.services import notification_settings_update
from apps.notifications.tests.conftest import local
from apps.notifications.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.patients.services.patients import patient_whatsapp_opt_out
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.client import BridgeClient
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SENT = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


@pytest.fixture
def queued_reminders(organization, book):
    """`count` reminders of a clinic handed to the outbox by one dispatcher batch; their messages."""

    def make(count: int, *, org=None, first_hour: int = 9):
        org = org or organization
        notification_settings_update(organization=org, data={"closed_days": [], "quiet_start": None,
                                                             "quiet_end": None})
        provider, kind = ProviderFactory(organization=org), AppointmentTypeFactory(organization=org)
        planned = []
        for i in range(count):
            patient = PatientFactory(consenting=True, organization=org, phone=f"+5730055{org.pk % 100:02d}{i:03d}")
            appointment = book(local(3, first_hour, 0) + dt.timedelta(minutes=40 * i), who=patient, org=org,
                               prov=provider, kind=kind)
            planned += reminders_plan_for_appointment(appointment_id=appointment.pk, now=timezone.now())
        assert reminders_dispatch_batch(reminder_ids=[r.pk for r in planned],
                                        now=max(r.due_at for r in planned)) == count
        return list(Message.objects.filter(organization=org, kind=MessageKind.REMINDER).order_by("pk"))

    return make


def on_phone(bridge, message) -> list[str]:
    return [m["text"] for m in bridge.phone_inbox(message.organization_id, message.phone) if m["text"] == message.body]


def test_a_batch_of_reminders_goes_out_once_each_and_asks_each_patient_to_confirm(organization, make_bridge,
                                                                                 queued_reminders):
    bridge = make_bridge()
    bridge.link(organization.pk)
    messages = queued_reminders(5)

    assert messages_send(message_ids=[m.pk for m in messages]) == {"sent": 5, "failed": 0, "retry": 0}

    for message in messages:
        message.refresh_from_db()
        assert message.status in SENT and message.bridge_message_id and message.attempts == 1
        assert on_phone(bridge, message) == [message.body]
        assert message.appointment.confirmation == ConfirmationStatus.REQUESTED
        assert AppointmentEvent.objects.filter(appointment=message.appointment, to_value="requested",
                                               source=EventSource.SYSTEM).count() == 1


def test_a_batch_run_again_after_a_crash_sends_nothing_twice(organization, make_bridge, queued_reminders):
    bridge = make_bridge()
    bridge.link(organization.pk)
    messages = queued_reminders(3)
    messages_send(message_ids=[m.pk for m in messages])
    first_ids = dict(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("pk", "bridge_message_id"))
    # The job died after the bridge took the batch and before it recorded the outcome.
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(status=MessageStatus.SENDING, sent_at=None)

    assert messages_send(message_ids=[m.pk for m in messages])["sent"] == 3

    assert all(on_phone(bridge, m) == [m.body] for m in messages)
    assert dict(Message.objects.filter(pk__in=[m.pk for m in messages])
                .values_list("pk", "bridge_message_id")) == first_ids


def test_a_reminder_that_may_no_longer_go_fails_with_its_reason_and_the_rest_go(organization, make_bridge,
                                                                               queued_reminders):
    bridge = make_bridge()
    bridge.link(organization.pk)
    cancelled, opted_out, ok = queued_reminders(3)
    appointment_cancel(appointment=cancelled.appointment, source=EventSource.UI)
    patient_whatsapp_opt_out(patient=opted_out.patient)

    assert messages_send(message_ids=[cancelled.pk, opted_out.pk, ok.pk]) == {"sent": 1, "failed": 2, "retry": 0}

    assert [Message.objects.get(pk=m.pk).error_code for m in (cancelled, opted_out)] == [
        "appointment_cancelled", "opted_out"]
    assert on_phone(bridge, cancelled) == on_phone(bridge, opted_out) == []
    assert on_phone(bridge, ok) == [ok.body]


def test_with_the_bridge_down_each_message_keeps_why_and_the_job_retries_then_sends_once(
        organization, make_bridge, queued_reminders, tmp_path):
    bridge = make_bridge(data_dir=tmp_path / "bridge")
    bridge.link(organization.pk)
    bridge.stop()
    messages = queued_reminders(2)

    with pytest.raises(SendRetry):
        messages_send(message_ids=[m.pk for m in messages])
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", "error_code")) == {
        (MessageStatus.SENDING, "bridge_unavailable")}

    make_bridge(data_dir=tmp_path / "bridge", port=bridge.port)  # the session comes back by itself
    wait_until(lambda: bridge.status(organization.pk).get("status") == "connected", message="relinked")
    assert messages_send(message_ids=[m.pk for m in messages])["sent"] == 2
    assert all(on_phone(bridge, m) == [m.body] for m in messages)
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("error_code", flat=True)) == {""}


def test_a_number_the_bridge_cannot_read_fails_that_message_only(organization, make_bridge, queued_reminders):
    bridge = make_bridge()
    bridge.link(organization.pk)
    bad, good = queued_reminders(2)
    Message.objects.filter(pk=bad.pk).update(phone="12")  # stored before the numbers were checked

    assert messages_send(message_ids=[bad.pk, good.pk]) == {"sent": 1, "failed": 1, "retry": 0}

    bad.refresh_from_db()
    assert bad.status == MessageStatus.FAILED and bad.error
    assert on_phone(bridge, good) == [good.body]


def test_when_the_bridge_goes_away_after_refusing_a_batch_the_job_retries_and_each_message_waits_with_why(
        organization, make_bridge, queued_reminders, tmp_path, monkeypatch):
    bridge = make_bridge(data_dir=tmp_path / "bridge")
    bridge.link(organization.pk)
    bad, good = queued_reminders(2)
    Message.objects.filter(pk=bad.pk).update(phone="12")
    refuse_batch = BridgeClient.send_messages

    def bridge_stops_after_refusing(self, **kwargs):
        try:
            return refuse_batch(self, **kwargs)
        finally:
            bridge.stop()  # before the one-by-one sends that follow a refused batch

    monkeypatch.setattr(BridgeClient, "send_messages", bridge_stops_after_refusing)
    with pytest.raises(SendRetry):
        messages_send(message_ids=[bad.pk, good.pk])
    assert set(Message.objects.filter(pk__in=[bad.pk, good.pk]).values_list("status", "error_code")) == {
        (MessageStatus.SENDING, "bridge_unavailable")}

    monkeypatch.setattr(BridgeClient, "send_messages", refuse_batch)
    make_bridge(data_dir=tmp_path / "bridge", port=bridge.port)
    wait_until(lambda: bridge.status(organization.pk).get("status") == "connected", message="relinked")
    assert messages_send(message_ids=[bad.pk, good.pk]) == {"sent": 1, "failed": 1, "retry": 0}
    assert on_phone(bridge, good) == [good.body]
    assert Message.objects.get(pk=bad.pk).status == MessageStatus.FAILED


def test_a_batch_of_two_clinics_sends_each_through_its_own_session(organization, other_organization, make_bridge,
                                                                    queued_reminders):
    bridge = make_bridge()
    bridge.link(organization.pk, phone="+573009990001")
    ours = queued_reminders(2)
    theirs = queued_reminders(2, org=other_organization)

    # The other clinic started linking its WhatsApp but has not scanned the QR yet: ours go, theirs wait
    # (and the job is retried).
    assert bridge.api("POST", "/api/start-session", json={"organization_id": str(other_organization.pk)}).ok
    with pytest.raises(SendRetry):
        messages_send(message_ids=[m.pk for m in ours + theirs])
    assert all(on_phone(bridge, m) == [m.body] for m in ours)
    assert bridge.phone_inbox(other_organization.pk) == []
    assert set(Message.objects.filter(pk__in=[m.pk for m in theirs]).values_list("status", "error_code")) == {
        (MessageStatus.SENDING, "session_not_ready")}

    wait_until(lambda: bridge.status(other_organization.pk).get("has_qr"), message="QR")
    qr = bridge.api("GET", f"/api/qr/{other_organization.pk}").json()
    assert requests.get(qr["qr_text"], params={"phone": "+573009990002"}, timeout=10).ok
    wait_until(lambda: bridge.status(other_organization.pk).get("status") == "connected", message="linked")
    assert messages_send(message_ids=[m.pk for m in ours + theirs])["sent"] == 2
    assert all(on_phone(bridge, m) == [m.body] for m in theirs)
    assert {m["phone"] for m in bridge.phone_inbox(organization.pk)} == {m.phone for m in ours}


def test_a_message_waiting_in_a_batch_job_is_not_handed_to_a_second_job(organization, queued_reminders):
    from procrastinate.contrib.django.models import ProcrastinateJob

    messages = queued_reminders(3)
    assert ProcrastinateJob.objects.filter(task_name="notifications.send_messages").count() == 1

    assert messages_requeue_stuck(now=timezone.now() + dt.timedelta(hours=1), seconds=300) == 0
    assert not ProcrastinateJob.objects.filter(task_name="notifications.send_message").exists()

    ProcrastinateJob.objects.filter(task_name="notifications.send_messages").delete()  # the job was lost
    assert messages_requeue_stuck(now=timezone.now() + dt.timedelta(hours=1), seconds=300) == len(messages)


def test_the_worker_sends_a_dispatched_batch(organization, make_bridge, make_worker, queued_reminders):
    bridge = make_bridge()
    bridge.link(organization.pk)
    messages = queued_reminders(4)
    make_worker(bridge_url=bridge.url)

    wait_until(lambda: Message.objects.filter(pk__in=[m.pk for m in messages], status__in=SENT).count() == 4,
               timeout=60, message="the batch sent by the worker")
    assert all(on_phone(bridge, m) == [m.body] for m in messages)
