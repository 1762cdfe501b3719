"""Benchmark 3: reminder fan-out, end to end.

N appointments tomorrow in one organization, and N/10 in each of 10 organizations (N = 10,000
with BENCH_FULL=1, 1,000 otherwise), each with its reminder due now. From the moment reminders
are due (the dispatcher job is queued) to every Message `sent`, through the real worker (the
command of ecosystem.config.js) and the real bridge (sandbox, pacing off): messages per second,
and database queries per reminder (dispatch by the batch dispatcher + send, counted in-process on
a sample of 220 reminders, also dispatched one by one for comparison).
"""

import json
import os
import sys
import tempfile
import time

import httpx

from bench.common import FULL, bench_environment, emit, free_port, manage, start, stop, wait_http

N = 10_000 if FULL else 1_000
API_KEY = "bench-bridge-key"
QUERY_SAMPLE = 20

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

COUNT_SENT = """
from apps.notifications.models import Message
print(Message.objects.filter(kind="reminder", status__in=["sent", "delivered", "read"]).count(),
      Message.objects.filter(kind="reminder", status="failed").count())
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
    for pk in messages:
        outbox.message_send(message_id=pk)
send = len(ctx.captured_queries) / len(messages)
print(json.dumps({"dispatch": round(dispatch_batch, 2), "dispatch_one_by_one": round(dispatch_one, 2),
                  "send": round(send, 2), "sample": len(messages)}))
"""


def sent_count(env) -> tuple[int, int]:
    out = manage(env, "shell", "-c", COUNT_SENT).strip().splitlines()[-1].split()
    return int(out[0]), int(out[1])


def main() -> None:
    bridge_port = free_port()
    bridge_url = f"http://127.0.0.1:{bridge_port}"
    env = bench_environment("opticaapp_bench_fanout", WHATSAPP_BRIDGE_URL=bridge_url,
                            WHATSAPP_BRIDGE_API_KEY=API_KEY)
    org_ids = json.loads(manage(env, "shell", "-c", SETUP.replace("__N__", str(N))).strip().splitlines()[-1])
    bridge_env = {**os.environ, "BRIDGE_API_KEY": API_KEY, "BRIDGE_HOST": "127.0.0.1", "BRIDGE_PORT": str(bridge_port),
                  "BRIDGE_DATA_DIR": tempfile.mkdtemp(prefix="bench-fanout-"), "BRIDGE_SANDBOX": "1",
                  "BRIDGE_SEND_MIN_GAP_MS": "0", "BRIDGE_SEND_JITTER_MS": "0", "BRIDGE_SEND_HOURLY_CAP": "0",
                  "BRIDGE_SANDBOX_CONNECT_MS": "10", "BRIDGE_LOG_LEVEL": "WARNING"}
    bridge_env.pop("BRIDGE_EVENTS_URL", None)
    bridge = start([sys.executable, "-m", "whatsapp_bridge"], bridge_env, "fanout-bridge")
    worker = None
    try:
        wait_http(f"{bridge_url}/api/health")
        with httpx.Client(headers={"X-API-Key": API_KEY}, timeout=30) as client:
            for org in org_ids:
                client.post(f"{bridge_url}/api/start-session", json={"organization_id": str(org)}).raise_for_status()
                for _ in range(100):
                    qr = client.get(f"{bridge_url}/api/qr/{org}")
                    if qr.status_code == 200:
                        break
                    time.sleep(0.05)
                client.get(qr.json()["qr_text"]).raise_for_status()
            for org in org_ids:
                while client.get(f"{bridge_url}/api/status/{org}").json()["status"] != "connected":
                    time.sleep(0.05)
        probe = QUERY_PROBE.replace("__K__", str(QUERY_SAMPLE))
        queries = json.loads(manage(env, "shell", "-c", probe).strip().splitlines()[-1])
        total = N + 10 * (N // 10)
        already, _failed = sent_count(env)
        began = time.monotonic()
        manage(env, "shell", "-c", "import time; from apps.notifications.tasks import dispatch_due_reminders; "
                                   "dispatch_due_reminders.defer(timestamp=int(time.time()))")
        worker = start([sys.executable, "manage.py", "procrastinate", "worker"], env, "fanout-worker")
        deadline = began + (3600 if FULL else 900)
        sent, failed = already, 0
        while sent + failed < total and time.monotonic() < deadline:
            time.sleep(2)
            sent, failed = sent_count(env)
        elapsed = time.monotonic() - began
        emit({"benchmark": "reminder_fanout", "full": FULL, "organizations": len(org_ids), "reminders": total,
              "sent": sent, "failed": failed, "complete": sent + failed >= total,
              "seconds": round(elapsed, 1), "messages_per_second": round((sent - already) / elapsed, 1),
              "queries_per_reminder": {**queries, "total": round(queries["dispatch"] + queries["send"], 1)}})
    finally:
        if worker is not None:
            stop(worker)
        stop(bridge)


if __name__ == "__main__":
    main()
