"""Benchmark 3: reminder fan-out, end to end.

N appointments tomorrow in one organization, and N/10 in each of 10 organizations (N = 10,000
with BENCH_FULL=1, 1,000 otherwise), each with its reminder due now. From the moment reminders
are due (the dispatcher job is queued, the worker already running) to every Message `sent`, through
the real worker (the command of ecosystem.config.js), the real bridge (sandbox, pacing off) and
gunicorn receiving the bridge's status events: messages per second; and the time until every
message's `delivered` status came back (the simulated phones acknowledge 1 s after a send). Then
database queries per reminder (dispatch by the batch dispatcher + send, counted in-process on
a sample of 220 reminders, also dispatched one by one for comparison).
"""

import json
import os
import sys
import tempfile
import time

import httpx

from bench.common import (
    FULL,
    WORKER_COMMAND,
    bench_environment,
    emit,
    free_port,
    link_sandbox,
    manage,
    start,
    start_gunicorn,
    stop,
    wait_http,
)

N = 10_000 if FULL else 1_000
API_KEY = "bench-bridge-key"
QUERY_SAMPLE = 20
# The simulated phones acknowledge a message this long after it was sent (the bridge's default).
DELIVERED_MS = 1000

SETUP = """
import datetime as dt, json
from django.utils import timezone
from apps.organizations.models import Organization
from apps.patients.models import Patient
from apps.appointments.models import Appointment, AppointmentType, Provider
from apps.notifications.models import Reminder, ReminderRule
from apps.notifications.services import notification_settings_get

def clinic(slug, count):
    org = Organization.objects.create(name=slug, slug=slug)
    notification_settings_get(organization=org)
    rule = ReminderRule.objects.filter(organization=org).order_by("-lead_hours").first() or \\
        ReminderRule.objects.create(organization=org, lead_hours=24, skip_within_hours=2)
    kind = AppointmentType.objects.create(organization=org, name="Examen", duration_minutes=5)
    providers = Provider.objects.bulk_create([Provider(organization=org, display_name=f"Opt {i}")
                                              for i in range(max(1, count // 100))])
    now = timezone.now()
    patients = Patient.objects.bulk_create([
        Patient(organization=org, document_number=str(i), first_name="Paciente", last_name=str(i),
                phone=f"+57310{i:07d}", whatsapp_consent=True, whatsapp_consent_at=now) for i in range(count)])
    base = (now + dt.timedelta(days=1)).replace(hour=13, minute=0, second=0, microsecond=0)
    appointments = Appointment.objects.bulk_create([
        Appointment(organization=org, patient=p, provider=providers[i % len(providers)], appointment_type=kind,
                    start=base + dt.timedelta(minutes=5 * (i // len(providers))),
                    end=base + dt.timedelta(minutes=5 * (i // len(providers) + 1)))
        for i, p in enumerate(patients)])
    Reminder.objects.bulk_create([
        Reminder(organization=org, appointment=a, rule=rule, appointment_start=a.start,
                 due_at=now - dt.timedelta(minutes=1)) for a in appointments])
    return org.pk

orgs = [clinic("big", __N__)] + [clinic(f"small-{i}", __N__ // 10) for i in range(10)]
print(json.dumps(orgs))
"""

# Read straight from PostgreSQL: a `manage.py shell` every two seconds would take a core from what is measured.
COUNT_SQL = """
SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read')),
       count(*) FILTER (WHERE status IN ('delivered', 'read')),
       count(*) FILTER (WHERE status = 'failed')
FROM notifications_message WHERE kind = 'reminder'
"""

DEFER = """
import time
from apps.notifications.tasks import dispatch_due_reminders
began = time.time()
dispatch_due_reminders.defer(timestamp=int(began))
print(began)
"""


# Queries of one reminder's whole path: dispatch (the batch dispatcher the worker runs, one batch of
# DISPATCH_BATCH; and, for comparison, one reminder at a time) and the send job's body.
QUERY_PROBE = """
import json
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from apps.notifications import outbox, reminders
from apps.notifications.models import Message, Reminder
batch = list(Reminder.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True)
             [:reminders.DISPATCH_BATCH])
with CaptureQueriesContext(connection) as ctx:
    reminders.reminders_dispatch_batch(reminder_ids=batch, now=timezone.now())
dispatch_batch = len(ctx.captured_queries) / len(batch)
one = list(Reminder.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True)[:__K__])
with CaptureQueriesContext(connection) as ctx:
    for pk in one:
        reminders.reminder_dispatch(reminder_id=pk, now=timezone.now())
dispatch_one = len(ctx.captured_queries) / len(one)
messages = list(Message.objects.filter(kind="reminder", status="queued").order_by("pk").values_list("pk", flat=True))
with CaptureQueriesContext(connection) as ctx:
    if hasattr(outbox, "messages_send"):
        for i in range(0, len(messages), outbox.SEND_BATCH):
            outbox.messages_send(message_ids=messages[i:i + outbox.SEND_BATCH])
    else:  # a checkout from before the batch send job (a "before" run of this benchmark)
        for pk in messages:
            outbox.message_send(message_id=pk)
send = len(ctx.captured_queries) / len(messages)
print(json.dumps({"dispatch": round(dispatch_batch, 2), "dispatch_one_by_one": round(dispatch_one, 2),
                  "send": round(send, 2), "sample": len(messages)}))
"""


def counts(conn) -> tuple[int, int, int]:
    return conn.execute(COUNT_SQL).fetchone()


def main() -> None:
    import psycopg

    bridge_port, web_port = free_port(), free_port()
    bridge_url = f"http://127.0.0.1:{bridge_port}"
    env = bench_environment("opticaapp_bench_fanout", WHATSAPP_BRIDGE_URL=bridge_url,
                            WHATSAPP_BRIDGE_API_KEY=API_KEY)
    org_ids = json.loads(manage(env, "shell", "-c", SETUP.replace("__N__", str(N))).strip().splitlines()[-1])
    # Statuses come back as production's do: the bridge posts its events to Django's receiver.
    web = start_gunicorn(env, web_port)
    bridge_env = {**os.environ, "BRIDGE_API_KEY": API_KEY, "BRIDGE_HOST": "127.0.0.1", "BRIDGE_PORT": str(bridge_port),
                  "BRIDGE_DATA_DIR": tempfile.mkdtemp(prefix="bench-fanout-"), "BRIDGE_SANDBOX": "1",
                  "BRIDGE_SEND_MIN_GAP_MS": "0", "BRIDGE_SEND_JITTER_MS": "0", "BRIDGE_SEND_HOURLY_CAP": "0",
                  "BRIDGE_SANDBOX_CONNECT_MS": "10", "BRIDGE_LOG_LEVEL": "WARNING",
                  "BRIDGE_SANDBOX_DELIVERED_MS": str(DELIVERED_MS),
                  "BRIDGE_EVENTS_URL": f"http://127.0.0.1:{web_port}/whatsapp/events/",
                  "BRIDGE_EVENTS_SECRET": env["WHATSAPP_EVENTS_SECRET"]}
    bridge = start([sys.executable, "-m", "whatsapp_bridge"], bridge_env, "fanout-bridge")
    worker = None
    try:
        wait_http(f"{bridge_url}/api/health")
        with httpx.Client(base_url=bridge_url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
            for org in org_ids:
                link_sandbox(client, str(org), f"+57300999{org:04d}")
        probe = QUERY_PROBE.replace("__K__", str(QUERY_SAMPLE))
        queries = json.loads(manage(env, "shell", "-c", probe).strip().splitlines()[-1])
        total = N + 10 * (N // 10)
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            # The worker is running before the reminders fall due, as in production.
            worker = start(list(WORKER_COMMAND), env, "fanout-worker")
            deadline = time.monotonic() + 60
            while not conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError("the worker did not start")
                time.sleep(0.2)
            already = counts(conn)[0]
            began = float(manage(env, "shell", "-c", DEFER).strip().splitlines()[-1])
            deadline = began + (3600 if FULL else 900)
            sent = delivered = failed = 0
            sent_at = None
            while time.time() < deadline:
                sent, delivered, failed = counts(conn)
                if sent_at is None and sent + failed >= total:
                    sent_at = time.time()
                if delivered + failed >= total:
                    break
                time.sleep(0.25)
            delivered_at = time.time()
        sent_seconds = (sent_at or delivered_at) - began
        emit({"benchmark": "reminder_fanout", "full": FULL, "organizations": len(org_ids), "reminders": total,
              "sent": sent, "delivered": delivered, "failed": failed, "complete": delivered + failed >= total,
              "seconds_to_sent": round(sent_seconds, 1),
              "messages_per_second": round((total - already) / sent_seconds, 1),
              "seconds_to_delivered_back": round(delivered_at - began, 1),
              "sandbox_delivered_receipt_ms": DELIVERED_MS,
              "queries_per_reminder": {**queries, "total": round(queries["dispatch"] + queries["send"], 1)}})
    finally:
        stop(worker)
        stop(bridge)
        stop(web)


if __name__ == "__main__":
    main()
