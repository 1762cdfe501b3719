"""Sends survive a bridge outage and a worker killed mid-send, and are never sent twice."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from apps.notifications.models import AlertKind, Message, MessageStatus, StaffAlert
from apps.notifications.outbox import _enqueue_send
from apps.notifications.reminders import reminder_dispatch, reminders_plan_for_appointment
from apps.notifications.services import notification_settings_update
from apps.notifications.tests.conftest import local
from apps.whatsapp.client import BridgeClient
from tests.processes import Blackhole, wait_until

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

    # The next worker's periodic sweep finds the job's worker silent (no heartbeat) and runs it again.
    make_worker(bridge_url=bridge.url)
    wait_until(lambda: status_of(message) in DELIVERED, timeout=90, message="the send after the restart")
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


# --- issue 19: what a restart or a database error must not lose --------------------------------


def confirmation_of(appointment) -> str:
    return type(appointment).objects.get(pk=appointment.pk).confirmation


@pytest.fixture
def terminate_connection_once():
    """A real fault: PostgreSQL drops the connection of the transaction that makes `when` true, once.

    A sequence counts the shots because it is not rolled back with the dying transaction.
    """
    from django.db import connection

    def arm(when: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("CREATE SEQUENCE IF NOT EXISTS fault_shots")
            cursor.execute("""
                CREATE OR REPLACE FUNCTION fault_terminate() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('fault_shots') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
                    RETURN NEW;
                END $$""")
            cursor.execute(f"CREATE TRIGGER fault_terminate BEFORE UPDATE ON notifications_message "
                           f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION fault_terminate()")

    yield arm
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS fault_terminate ON notifications_message")
        cursor.execute("DROP FUNCTION IF EXISTS fault_terminate()")
        cursor.execute("DROP SEQUENCE IF EXISTS fault_shots")


def test_a_connection_lost_in_the_send_job_s_first_transaction_retries_the_job_and_sends_once(
        organization, make_bridge, make_worker, queued_reminder, terminate_connection_once):
    bridge = make_bridge()
    bridge.link(organization.pk)
    terminate_connection_once("OLD.status = 'queued' AND NEW.status = 'sending'")
    message = queued_reminder()
    worker = make_worker(bridge_url=bridge.url)
    wait_until(lambda: status_of(message) in DELIVERED, message="the send after the lost connection")
    assert len(texts_on_phone(bridge, organization, message)) == 1
    assert confirmation_of(message.appointment) == "requested"
    log = worker.log_path.read_text()
    assert "OperationalError" in log and "Traceback" not in log  # one warning line, no traceback chain


def test_a_connection_lost_in_the_send_job_s_last_transaction_still_asks_for_confirmation(
        organization, make_bridge, make_worker, queued_reminder, terminate_connection_once):
    bridge = make_bridge()
    bridge.link(organization.pk)
    terminate_connection_once("OLD.status = 'sending' AND NEW.status = 'sent'")
    message = queued_reminder()
    worker = make_worker(bridge_url=bridge.url)
    wait_until(lambda: confirmation_of(message.appointment) == "requested", message="the confirmation request")
    assert status_of(message) in DELIVERED
    assert len(texts_on_phone(bridge, organization, message)) == 1
    assert "OperationalError" in worker.log_path.read_text()


def test_a_stalled_rerun_of_a_reminder_already_read_still_asks_for_confirmation(organization, queued_reminder):
    from apps.notifications.outbox import message_send

    message = queued_reminder()
    # The first run sent it and died before its last transaction; the receipts came in meanwhile.
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.READ, bridge_message_id="wa-1")
    assert confirmation_of(message.appointment) == "unconfirmed"
    assert message_send(message_id=message.pk) == MessageStatus.READ
    assert confirmation_of(message.appointment) == "requested"


def test_the_bridge_s_word_that_a_reminder_went_out_asks_for_confirmation(organization, queued_reminder):
    from apps.whatsapp.events import events_process

    message = queued_reminder()
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING)
    events_process(events=[{"id": "ev-read", "type": "message.status", "organization_id": str(organization.pk),
                            "timestamp": "2031-03-01T14:00:00Z",
                            "data": {"message_id": "b-1", "client_message_id": str(message.pk), "status": "read"}}])
    assert status_of(message) == MessageStatus.READ
    assert confirmation_of(message.appointment) == "requested"


def test_a_message_left_queued_without_a_job_is_handed_to_a_new_one_and_sent(organization, make_bridge,
                                                                           make_worker, queued_reminder):
    from procrastinate.contrib.django.models import ProcrastinateJob

    from apps.notifications.outbox import messages_requeue_stuck

    bridge = make_bridge()
    bridge.link(organization.pk)
    message = queued_reminder()
    ProcrastinateJob.objects.filter(task_name="notifications.send_message").delete()  # the job was lost
    later = timezone.now() + dt.timedelta(minutes=10)
    assert messages_requeue_stuck(now=later, seconds=300) == 1
    assert messages_requeue_stuck(now=later, seconds=300) == 0  # its new job is waiting: not twice
    make_worker(bridge_url=bridge.url)
    wait_until(lambda: status_of(message) in DELIVERED, message="the re-enqueued send")
    assert len(texts_on_phone(bridge, organization, message)) == 1


def test_logout_during_the_pacing_wait_then_cancel_then_relink_never_sends_the_reminder(
        organization, make_bridge, make_worker, queued_reminder):
    from apps.appointments.models import EventSource
    from apps.appointments.services import appointment_cancel
    from apps.whatsapp.services import session_unlink

    # Long enough that the reminder still waits for its slot when the worker hands it over.
    bridge = make_bridge(env={"BRIDGE_SEND_MIN_GAP_MS": "20000"})
    bridge.link(organization.pk)
    BridgeClient().send_message(organization_id=organization.pk, phone="+573001230000", message="Otro paciente",
                                client_message_id="warm-up")  # the next send waits for its pacing slot
    message = queued_reminder()
    make_worker(bridge_url=bridge.url)
    wait_until(lambda: status_of(message) == MessageStatus.SENDING, message="the reminder waiting in the bridge")
    session_unlink(organization=organization)
    appointment_cancel(appointment=message.appointment, reason="staff", source=EventSource.UI)
    bridge.link(organization.pk)
    wait_until(lambda: status_of(message) == MessageStatus.FAILED, timeout=60, message="the reminder to be dropped")
    assert Message.objects.get(pk=message.pk).error_code in ("appointment_cancelled", "session_logged_out")
    time.sleep(1)  # a parked send would go out right after the relink
    assert texts_on_phone(bridge, organization, message) == []


def test_a_reminder_s_send_job_costs_a_few_queries_and_one_call_to_the_bridge(organization, make_bridge,
                                                                                 queued_reminder,
                                                                                 django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.notifications.outbox import message_send

    bridge = make_bridge()
    bridge.link(organization.pk)
    message = queued_reminder()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert message_send(message_id=message.pk) == MessageStatus.SENT
    # Lock and read (with the clinic's settings), mark sending, record the outcome, move the
    # confirmation to requested with its history row, and the announcement's two; one transaction.
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) <= 6, [sql[:80] for sql in statements]
    assert len(queries) - len(statements) == 2
    assert confirmation_of(message.appointment) == "requested"
    assert len(texts_on_phone(bridge, organization, message)) == 1
    sent = Message.objects.get(pk=message.pk)
    assert sent.bridge_message_id and sent.sent_at and sent.attempts == 1
