"""The fault matrix: a reminder fan-out of two clinics through the real web (gunicorn), worker(s),
bridge (sandbox) and PostgreSQL, with one fault injected while it runs.

Each run answers, from the simulated phones and the ledger (Message, Appointment): no reminder lost,
none sent twice, no reply lost or applied twice, nothing stuck in a non-final status, and both
sessions back linked without a new QR. Patients answer each reminder with its "confirm" button as
soon as it reaches their phone. The figures of every run are printed (`pytest -s`) and are part of
the assertion message.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from apps.appointments.models import Appointment, ConfirmationStatus
from apps.appointments.services import appointment_book
from apps.notifications.models import Direction, Message, MessageKind, MessageStatus
from apps.notifications.reminders import reminders_plan_for_appointment
from apps.notifications.services import notification_settings_update
from apps.notifications.tasks import dispatch_due_reminders
from apps.notifications.tests.conftest import local
from apps.notifications.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.organizations.tests.factories import OrganizationFactory
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.models import WhatsAppSession
from tests.processes import DedicatedPostgres, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

REMINDERS_PER_CLINIC = 15
# A short pacing gap keeps every send of a fan-out waiting for its slot in the bridge for a while,
# the window where a kill used to lose a reminder.
BRIDGE_ENV = {"BRIDGE_SEND_MIN_GAP_MS": "250", "BRIDGE_RECONNECT_MAX_ATTEMPTS": "50"}
SETTLE_SECONDS = 180


def _db_or_none(query):
    """A ledger read that answers None while the database restarts, instead of failing the test."""
    try:
        return query()
    except (OperationalError, InterfaceError):
        connection.close()
        return None


class FanOut:
    """Two clinics, their linked sessions, patients with a reminder due each, and their phones."""

    def __init__(self, bridge, web, per_clinic: int = REMINDERS_PER_CLINIC):
        self.bridge = bridge
        self.web = web
        self.per_clinic = per_clinic
        self.clinics = [OrganizationFactory(name="Óptica Norte"), OrganizationFactory(name="Óptica Sur")]
        self.appointment_ids: list[int] = []
        self.answered: dict[int, str] = {}  # appointment id -> inbound message id on the phone
        self.due: list[dt.datetime] = []

    def link(self) -> None:
        for index, clinic in enumerate(self.clinics):
            self.bridge.link(clinic.pk, phone=f"+57300999000{index}")
        wait_until(lambda: WhatsAppSession.objects.filter(organization__in=self.clinics,
                                                          status="connected").count() == 2,
                   message="both sessions connected in Django")

    def book(self) -> None:
        for index, clinic in enumerate(self.clinics):
            notification_settings_update(organization=clinic, data={"closed_days": [], "quiet_start": None,
                                                                    "quiet_end": None})
            provider = ProviderFactory(organization=clinic)
            exam = AppointmentTypeFactory(organization=clinic)
            for n in range(self.per_clinic):
                patient = PatientFactory(consenting=True, organization=clinic, phone=f"+5730012{index}{n:04d}")
                appointment = appointment_book(organization=clinic, patient=patient, provider=provider,
                                               appointment_type=exam, start=local(3, 6) + dt.timedelta(hours=n),
                                               override=True)
                [reminder] = reminders_plan_for_appointment(appointment_id=appointment.pk, now=timezone.now())
                self.appointment_ids.append(appointment.pk)
                self.due.append(reminder.due_at)

    def start(self) -> None:
        dispatch_due_reminders.defer(timestamp=int(max(self.due).timestamp()) + 1)

    def on_phones(self) -> list[tuple[int, dict]]:
        """(clinic id, message) for every message the clinics' patients received."""
        try:
            return [(clinic.pk, m) for clinic in self.clinics for m in self.bridge.phone_inbox(clinic.pk)]
        except (requests.RequestException, ValueError, KeyError):
            return []  # the bridge is down

    @staticmethod
    def appointment_of(phone_message: dict) -> int | None:
        ids = [b["id"] for b in phone_message.get("buttons") or [] if b["id"].startswith("confirm:")]
        return int(ids[0].split(":")[1]) if ids else None

    def phones_answer(self) -> int:
        """Each patient presses "confirm" on the reminder that reached them (once); returns how many did."""
        for clinic_id, message in self.on_phones():
            appointment_id = self.appointment_of(message)
            if appointment_id is None or appointment_id in self.answered:
                continue
            try:
                answer = self.bridge.reply(clinic_id, message["phone"], button_id=f"confirm:{appointment_id}")
            except (requests.RequestException, AssertionError):
                continue  # bridge down or session reconnecting: the patient tries again later
            self.answered[appointment_id] = answer["message_id"]
        return len(self.answered)

    def settled(self) -> bool:
        self.phones_answer()
        if len(self.answered) < len(self.appointment_ids):
            return False

        def ledger_final():
            reminders = Message.objects.filter(kind=MessageKind.REMINDER, organization__in=self.clinics)
            confirmed = Appointment.objects.filter(pk__in=self.appointment_ids,
                                                   confirmation=ConfirmationStatus.CONFIRMED).count()
            return (reminders.count() == len(self.appointment_ids)
                    and not reminders.exclude(status__in=(MessageStatus.READ, MessageStatus.FAILED)).exists()
                    and confirmed == len(self.appointment_ids))

        return bool(_db_or_none(ledger_final))

    def figures(self) -> dict:
        on_phone = Counter(self.appointment_of(m) for _clinic, m in self.on_phones())
        on_phone.pop(None, None)
        reminders = Message.objects.filter(kind=MessageKind.REMINDER, organization__in=self.clinics)
        inbound = Message.objects.filter(direction=Direction.INBOUND, organization__in=self.clinics)
        applied = Counter(inbound.values_list("bridge_message_id", flat=True))
        sessions = [self.bridge.status(c.pk) for c in self.clinics]
        return {
            "reminders": len(self.appointment_ids),
            "lost": sum(1 for pk in self.appointment_ids if on_phone[pk] == 0),
            "sent_twice": sum(1 for count in on_phone.values() if count > 1),
            "failed": reminders.filter(status=MessageStatus.FAILED).count(),
            "stuck": reminders.exclude(status__in=(MessageStatus.READ, MessageStatus.FAILED)).count()
            + Appointment.objects.filter(pk__in=self.appointment_ids,
                                         confirmation=ConfirmationStatus.REQUESTED).count(),
            "replies": len(self.answered),
            "replies_lost": sum(1 for wa_id in self.answered.values() if applied[wa_id] == 0),
            "replies_applied_twice": sum(1 for count in applied.values() if count > 1),
            "confirmed": Appointment.objects.filter(pk__in=self.appointment_ids,
                                                    confirmation=ConfirmationStatus.CONFIRMED).count(),
            "sessions_linked": sum(1 for s in sessions if s["status"] == "connected" and not s["has_qr"]),
        }

    def diagnosis(self) -> dict:
        """Where what did not settle is: messages by status, jobs not done, appointments by confirmation."""
        from procrastinate.contrib.django.models import ProcrastinateJob

        from apps.notifications.models import Reminder

        reminders = Message.objects.filter(kind=MessageKind.REMINDER, organization__in=self.clinics)
        return {
            "messages": dict(Counter(reminders.values_list("status", flat=True))),
            "plans": dict(Counter(Reminder.objects.filter(appointment_id__in=self.appointment_ids)
                                  .values_list("status", "reason"))),
            "jobs": dict(Counter(ProcrastinateJob.objects.exclude(status__in=("succeeded", "failed"))
                                 .values_list("task_name", "status"))),
            "confirmations": dict(Counter(Appointment.objects.filter(pk__in=self.appointment_ids)
                                          .values_list("confirmation", flat=True))),
        }

    def wait_until_on_phones(self, share: float) -> None:
        wanted = max(1, int(len(self.appointment_ids) * share))
        wait_until(lambda: self.phones_answer() >= wanted or len(self.on_phones()) >= wanted, timeout=120,
                   interval=0.05, message=f"{wanted} reminders on the phones")

    def assert_nothing_lost(self, fault: str) -> dict:
        try:
            wait_until(self.settled, timeout=SETTLE_SECONDS, interval=0.5, message="the fan-out to settle")
        except AssertionError:
            pass  # the figures below say what did not settle
        figures = self.figures()
        print(json.dumps({"fault": fault, **figures}))  # noqa: T201 - the matrix's figures, with -s
        expected = {**figures, "lost": 0, "sent_twice": 0, "failed": 0, "stuck": 0, "replies_lost": 0,
                    "replies_applied_twice": 0, "confirmed": figures["reminders"], "sessions_linked": 2}
        assert figures == expected, f"{fault}: {figures}; {self.diagnosis()}"
        return figures


@pytest.fixture
def fan_out(make_web, make_bridge):
    def make(*, bridge_port: int | None = None):
        web = make_web()
        bridge = make_bridge(events_url=web.events_url, env=BRIDGE_ENV, port=bridge_port)
        run = FanOut(bridge, web)
        run.link()
        run.book()
        return run

    return make


def test_the_bridge_killed_mid_fan_out_loses_and_duplicates_nothing(fan_out, make_bridge, make_worker):
    run = fan_out()
    make_worker(bridge_url=run.bridge.url)
    run.start()
    run.wait_until_on_phones(1 / 3)
    run.bridge.kill()
    time.sleep(1)
    run.bridge = make_bridge(events_url=run.web.events_url, env=BRIDGE_ENV, port=run.bridge.port,
                             data_dir=run.bridge.data_dir)
    run.assert_nothing_lost("bridge killed (kill -9) mid fan-out")
    # How many sends the kill caught recorded but not yet handed over (sent at boot or by the retry).
    print(json.dumps({"fault": "bridge killed", "sends_recovered_at_boot":  # noqa: T201
                      run.bridge.log_path.read_text().count("interrupted send queued again")}))


def test_the_worker_killed_mid_job_loses_and_duplicates_nothing(fan_out, make_worker):
    run = fan_out()
    worker = make_worker(bridge_url=run.bridge.url)
    run.start()
    run.wait_until_on_phones(1 / 3)
    worker.kill()
    make_worker(bridge_url=run.bridge.url)
    run.assert_nothing_lost("worker killed (kill -9) mid job")


def test_the_web_down_for_a_minute_while_patients_reply_loses_no_reply(fan_out, make_web, make_worker):
    run = fan_out()
    make_worker(bridge_url=run.bridge.url)
    run.start()
    run.wait_until_on_phones(1 / 3)
    run.web.stop()
    back_at = time.monotonic() + 60
    while time.monotonic() < back_at:  # the patients keep answering; the bridge keeps their replies
        run.phones_answer()
        time.sleep(0.5)
    run.web = make_web(port=run.web.port)
    run.assert_nothing_lost("web down 60 s while patients reply")


def test_two_workers_at_once_send_each_reminder_once(fan_out, make_worker):
    run = fan_out()
    make_worker(bridge_url=run.bridge.url)
    make_worker(bridge_url=run.bridge.url)
    run.start()
    run.assert_nothing_lost("two workers at once")


@pytest.fixture
def dedicated_postgres(transactional_db):
    """This test's own PostgreSQL, migrated, as Django's database for the test's length."""
    # Not under pytest's private tmp_path: PostgreSQL runs as its own system user when tests run as root.
    data_dir = Path(tempfile.mkdtemp(prefix="opticaapp-fault-pg-"))
    data_dir.chmod(0o755)
    server = DedicatedPostgres(data_dir / "pg")
    server.create_database("faultmatrix")
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(server.settings_dict(saved, "faultmatrix"))
    try:
        call_command("migrate", verbosity=0)
        yield server
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        server.close()


def test_postgresql_restarted_mid_fan_out_loses_and_duplicates_nothing(dedicated_postgres, fan_out, make_worker):
    run = fan_out()
    worker = make_worker(bridge_url=run.bridge.url, env={"WORKER_RECONNECT_SECONDS": "15"})
    run.start()
    run.wait_until_on_phones(1 / 3)
    connection.close()
    dedicated_postgres.stop()
    time.sleep(3)
    dedicated_postgres.start()
    run.assert_nothing_lost("PostgreSQL restarted mid fan-out")
    assert worker.proc.poll() is None, "the worker did not survive the restart"
    # The reminders may all be out before the worker has finished stopping its first run.
    wait_until(lambda: "reconnecting" in worker.log_path.read_text(), timeout=60,
               message="the worker to reconnect")
    assert worker.proc.poll() is None

    # A database that stays away: the worker exits non-zero (for PM2 to restart it), never 0.
    connection.close()
    dedicated_postgres.stop()
    try:
        wait_until(lambda: worker.proc.poll() is not None, timeout=90, message="the worker to give up")
        assert worker.proc.returncode == 1
    finally:
        dedicated_postgres.start()
