"""Benchmark 4: the front desk on a big clinic.

With 100k patients and a year of appointments for 10 providers (BENCH_FULL=1; 20k patients and
60 days otherwise): p50/p95 of patient search (accent-free name, document prefix, phone digits)
and of the all-providers week calendar (and, where the week loads a section per provider, of one
provider's section), with the number of database queries and the bytes of each page, against a
primary-key fetch (GET /api/patients/<pk>/) on the same server.
"""

import asyncio
import json

from bench.common import FULL, bench_environment, emit, free_port, load, manage, staff_setup, start_gunicorn, stop

PATIENTS = 100_000 if FULL else 20_000
DAYS = 365 if FULL else 60
REQUESTS = 200 if FULL else 60
# Four requests in flight on two cores is a busy front desk; one in flight is what a single
# receptionist waits for. Both are reported.
CONCURRENCY = 4

SETUP = staff_setup(name="Óptica Grande", slug="bench-front-desk", email="recepcion@bench.local") + """
print(json.dumps({"session": session.session_key, "user": user.pk}))
"""

# Runs inside `manage.py shell`: samples real values and counts the queries each page makes.
PROBE = """
import json
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.contrib.auth import get_user_model
from apps.patients.models import Patient
from apps.appointments.models import Appointment
sample = Patient.objects.filter(organization__slug="bench-front-desk").exclude(phone="").order_by("pk")[1234]
busiest = Appointment.objects.filter(organization__slug="bench-front-desk").order_by("start")[
    Appointment.objects.filter(organization__slug="bench-front-desk").count() // 2]
import unicodedata
plain = unicodedata.normalize("NFKD", sample.first_name.split()[0] + " " + sample.last_name.split()[0])
plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
from django.urls import NoReverseMatch, reverse
urls = {
    "search_name": "/patients/?q=" + plain.replace(" ", "+"),
    "search_document_prefix": "/patients/?q=" + sample.document_number[:5],
    "search_phone": "/patients/?q=" + sample.phone[-7:],
    "week_calendar_10_providers": "/appointments/calendar/?view=week&date=" + busiest.start.date().isoformat(),
}
try:  # the week of several providers loads one section per provider (htmx); absent before issue 14
    urls["week_calendar_one_provider_section"] = (reverse("calendar-provider-week", args=[busiest.provider_id])
                                                  + "?date=" + busiest.start.date().isoformat())
except NoReverseMatch:
    pass
urls["pk_fetch"] = "/api/patients/%d/" % sample.pk
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(get_user_model().objects.get(email="recepcion@bench.local"))
# A first request settles the new session (it saves the chosen clinic: three queries the benchmark's
# own session, made with its clinic, never makes), so that no page's count includes them.
client.get(urls["pk_fetch"])
queries, sizes = {}, {}
for name, url in urls.items():
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_HX_REQUEST="true") if "section" in name else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    queries[name] = len(ctx.captured_queries)
    sizes[name] = len(response.content)
print(json.dumps({"urls": urls, "queries": queries, "bytes": sizes, "sample_name": plain}))
"""


def _latency(timing: dict) -> dict:
    return {key: timing[key] for key in ("p50_ms", "p95_ms", "p99_ms", "per_second")}


def main() -> None:
    env = bench_environment("opticaapp_bench_front_desk")
    session = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])["session"]
    manage(env, "generate_patients", "--organization", "bench-front-desk", "--count", str(PATIENTS))
    manage(env, "generate_appointments", "--organization", "bench-front-desk", "--providers", "10",
           "--days", str(DAYS))
    manage(env, "shell", "-c", "from django.db import connection; connection.cursor().execute('ANALYZE')")
    probe = json.loads(manage(env, "shell", "-c", PROBE).strip().splitlines()[-1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start_gunicorn(env, port)
    cookies = {"sessionid": session}
    try:
        pages = {}
        for name, url in probe["urls"].items():
            async def get(client, i, url=url):
                return await client.get(f"{base}{url}", cookies=cookies)

            timing = asyncio.run(load(get, REQUESTS, CONCURRENCY, warmup=2 * CONCURRENCY))
            alone = asyncio.run(load(get, REQUESTS, 1, warmup=2))
            pages[name] = {**timing, "one_in_flight": _latency(alone), "queries": probe["queries"][name],
                           "bytes": probe["bytes"][name]}
        baseline = pages.pop("pk_fetch")
        for page in pages.values():
            page["p50_vs_pk_fetch"] = round(page["p50_ms"] / baseline["p50_ms"], 2)
        emit({"benchmark": "front_desk", "full": FULL, "patients": PATIENTS, "appointment_days": DAYS,
              "providers": 10, "concurrency": CONCURRENCY, "pages": pages, "baseline_pk_fetch": baseline})
    finally:
        stop(web)


if __name__ == "__main__":
    main()
