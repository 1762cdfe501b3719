"""Benchmark 5: the staff inbox of a busy clinic.

60,000 messages (6,000 small) between the clinic and 3,000 patients (300 small) plus unknown
numbers, in and out: p50/p95/p99 of the conversation list rendered (htmx partial, filter "open"),
of its 4-second poll as the page sends it (with the version of the list it shows; nothing changes
during the run, so this is the steady "no news" poll) and of the navigation's unread badge, under
gunicorn, against a primary-key fetch (GET /api/patients/<pk>/) on the same server. In-process, on
the same data: the unread count as it was computed before conversations kept a copy of their latest
message (a scan of every patient message) against the count over conversation rows.
"""

import asyncio
import json

from bench.common import FULL, bench_environment, emit, free_port, load, manage, staff_setup, start_gunicorn, stop

MESSAGES = 60_000 if FULL else 6_000
PATIENTS = MESSAGES // 20
REQUESTS = 400 if FULL else 100
CONCURRENCY = 4

SETUP = staff_setup(name="Óptica Mensajes", slug="bench-inbox", email="inbox@bench.local") + """
import datetime as dt
from django.utils import timezone
from apps.inbox.models import Conversation
from apps.inbox.services import conversations_record_messages
from apps.notifications.models import Message
from apps.patients.models import Patient
now = timezone.now()
patients = Patient.objects.bulk_create([
    Patient(organization=org, document_number=str(i), first_name="Paciente", last_name=str(i),
            phone=f"+57310{i:07d}", whatsapp_consent=True, whatsapp_consent_at=now) for i in range(__PATIENTS__)])
batch = []
for i in range(__MESSAGES__):
    inbound = i % 3 != 0
    patient = patients[i % len(patients)] if i % 10 else None
    batch.append(Message(organization=org, patient=patient, phone=patient.phone if patient else f"+57320{i % 500:07d}",
                         direction="in" if inbound else "out", kind="free_text", body=f"Mensaje {i}",
                         status="received" if inbound else "sent", contact_name="" if patient else "Desconocido"))
    if len(batch) == 2000:
        conversations_record_messages(messages=Message.objects.bulk_create(batch))
        batch = []
if batch:
    conversations_record_messages(messages=Message.objects.bulk_create(batch))
# Staff have read half of the conversations.
read = list(Conversation.objects.filter(organization=org).order_by("id").values_list("id", flat=True))[::2]
Conversation.objects.filter(id__in=read).update(last_read_at=now + dt.timedelta(minutes=1))
print(json.dumps({"session": session.session_key, "patient": patients[0].pk,
                  "conversations": Conversation.objects.filter(organization=org).count()}))
"""

# The unread count before (every patient message, keyed and checked against its conversation's
# read mark) and after (conversation rows), timed in-process on the same data; queries per poll.
PROBE = """
import json, time
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CharField, Exists, F, OuterRef, Value, When, Case
from django.db.models.functions import Cast, Concat
from django.test import Client
from django.test.utils import CaptureQueriesContext
from apps.inbox.models import Conversation
from apps.inbox.selectors import unread_conversation_count
from apps.notifications.models import Message
from apps.organizations.models import Organization
org = Organization.objects.get(slug="bench-inbox")

def before():
    key = Case(When(patient_id__isnull=False, then=Concat(Value("p:"), Cast("patient_id", CharField()))),
               default=Concat(Value("t:"), F("phone")), output_field=CharField())
    read = Conversation.objects.filter(organization_id=OuterRef("organization_id"), key=OuterRef("key"),
                                       last_read_at__gte=OuterRef("created_at"))
    return (Message.objects.filter(organization=org, direction="in").annotate(key=key)
            .filter(~Exists(read)).values("key").distinct().count())

def timed(fn, n=20):
    fn()
    began = time.perf_counter()
    for _ in range(n):
        value = fn()
    return value, round((time.perf_counter() - began) / n * 1000, 2)

old_count, old_ms = timed(before)
new_count, new_ms = timed(lambda: unread_conversation_count(organization=org))
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(get_user_model().objects.get(email="inbox@bench.local"))
queries = {}
import re
# The poll sends the version of the list it last got (?since=, issue 14); older code ignores it.
first = client.get("/inbox/?filter=open", HTTP_HX_REQUEST="true").content.decode()
since = (re.search(r'name="since" value="([^"]*)"', first) or [None, ""])[1]
for name, url, headers in [("list_render", "/inbox/?filter=open", {"HTTP_HX_REQUEST": "true"}),
                           ("list_poll", "/inbox/?filter=open&since=" + since, {"HTTP_HX_REQUEST": "true"}),
                           ("unread_badge", "/inbox/unread/", {})]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code in (200, 204), (url, response.status_code)
    queries[name] = {"queries": len(ctx.captured_queries), "bytes": len(response.content), "url": url,
                     "status": response.status_code}
print(json.dumps({"unread_before": {"count": old_count, "ms": old_ms},
                  "unread_after": {"count": new_count, "ms": new_ms}, "pages": queries}))
"""


def main() -> None:
    env = bench_environment("opticaapp_bench_inbox")
    setup = SETUP.replace("__PATIENTS__", str(PATIENTS)).replace("__MESSAGES__", str(MESSAGES))
    made = json.loads(manage(env, "shell", "-c", setup).strip().splitlines()[-1])
    manage(env, "shell", "-c", "from django.db import connection; connection.cursor().execute('ANALYZE')")
    probe = json.loads(manage(env, "shell", "-c", PROBE).strip().splitlines()[-1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start_gunicorn(env, port)
    cookies = {"sessionid": made["session"]}
    urls = {
        "list_render": ("/inbox/?filter=open", {"HX-Request": "true"}),
        "list_poll": (probe["pages"]["list_poll"]["url"], {"HX-Request": "true"}),
        "unread_badge": ("/inbox/unread/", {}),
        "pk_fetch": (f"/api/patients/{made['patient']}/", {}),
    }
    try:
        pages = {}
        for name, (url, headers) in urls.items():
            async def get(client, i, url=url, headers=headers):
                return await client.get(f"{base}{url}", cookies=cookies, headers=headers)

            pages[name] = asyncio.run(load(get, REQUESTS, CONCURRENCY, warmup=2 * CONCURRENCY))
            alone = asyncio.run(load(get, REQUESTS, 1, warmup=2))
            pages[name]["one_in_flight"] = {key: alone[key] for key in ("p50_ms", "p95_ms", "p99_ms", "per_second")}
        baseline = pages.pop("pk_fetch")
        for name, page in pages.items():
            page.update(probe["pages"][name])
            page["p50_vs_pk_fetch"] = round(page["p50_ms"] / baseline["p50_ms"], 2)
        emit({"benchmark": "inbox", "full": FULL, "messages": MESSAGES, "conversations": made["conversations"],
              "concurrency": CONCURRENCY, "pages": pages, "baseline_pk_fetch": baseline,
              "unread_count_in_process": {"before_message_scan": probe["unread_before"],
                                          "after_conversation_rows": probe["unread_after"]}})
    finally:
        stop(web)


if __name__ == "__main__":
    main()
