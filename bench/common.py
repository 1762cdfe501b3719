"""Shared helpers for the benchmarks: processes, ports, load generation and percentiles."""

import asyncio
import functools
import json
import os
import statistics
import sys
import time

import httpx

from tests.processes import (
    ROOT,
    WEB_COMMAND,
    WORKER_COMMAND,
    database_url_for,
    free_port,
    process_start,
    recreate_database,
    wait_answering,
)
from tests.processes import manage as _manage
from tests.processes import process_stop as stop

__all__ = ["FULL", "ROOT", "WORKER_COMMAND", "bench_environment", "emit", "free_port", "link_sandbox", "load", "manage",
           "staff_setup", "start", "start_gunicorn", "stop", "wait_http"]

FULL = os.environ.get("BENCH_FULL") == "1"


# A full-size benchmark's data takes longer to write than a test's: no time limit.
manage = functools.partial(_manage, timeout=None)


def wait_http(url: str, timeout: float = 60.0) -> None:
    wait_answering(url, timeout=timeout)


def start(args: list[str], env: dict, log_name: str):
    return process_start(args, env=env, log_path=ROOT / "var" / "bench" / f"{log_name}.log", truncate=True)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


class _Response:
    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content


class LoadClient:
    """The calls the benchmarks make of httpx.AsyncClient (get, post with json or content, cookies),
    over aiohttp: the load generator shares the two cores with what it measures, and httpx's async
    client was most of what was measured (GET /api/health of one bridge, 2,000 requests, 16 in
    flight, back to back: httpx 176-192 requests/s with a p99 of 432-440 ms, aiohttp 1,391-1,456
    requests/s with a p99 of 25-27 ms)."""

    def __init__(self, session):
        self.session = session

    async def get(self, url: str, *, headers: dict | None = None, cookies: dict | None = None) -> _Response:
        return await self._request("GET", url, headers=headers, cookies=cookies)

    async def post(self, url: str, *, headers: dict | None = None, cookies: dict | None = None, json=None,
                   content: bytes | None = None) -> _Response:
        return await self._request("POST", url, headers=headers, cookies=cookies, json=json, data=content)

    async def _request(self, method: str, url: str, *, headers, cookies, **body) -> _Response:
        headers = dict(headers or {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        async with self.session.request(method, url, headers=headers, **body) as response:
            return _Response(response.status, await response.read())


async def load(make_request, total: int, concurrency: int, warmup: int = 0) -> dict:
    """Run `total` requests with `concurrency` in flight; `make_request(client, i)` returns a response.

    `warmup` requests go first, unmeasured (i from -warmup to -1): connections opened, workers warm."""
    import aiohttp

    latencies: list[float] = []
    errors = 0
    # BENCH_TIMEOUT (seconds): a slow page on a loaded machine is a figure, not a failed run.
    timeout = aiohttp.ClientTimeout(total=float(os.environ.get("BENCH_TIMEOUT", "30")))
    connector = aiohttp.TCPConnector(limit=concurrency)
    # No cookie jar: a page that sets a cookie must not change what the next request sends.
    async with aiohttp.ClientSession(timeout=timeout, connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        client = LoadClient(session)
        if warmup:
            warm = iter(range(-warmup, 0))

            async def warm_worker():
                for i in warm:
                    await make_request(client, i)

            await asyncio.gather(*(warm_worker() for _ in range(concurrency)))
        counter = iter(range(total))

        async def worker():
            nonlocal errors
            for i in counter:
                began = time.perf_counter()
                response = await make_request(client, i)
                latencies.append(time.perf_counter() - began)
                if response.status_code >= 400:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began

    return {
        "requests": total,
        "errors": errors,
        "per_second": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
    }


def emit(result: dict) -> None:
    result.setdefault("machine", {"cores": os.cpu_count(), "python": sys.version.split()[0]})
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# A `manage.py shell` preamble: a clinic `org`, a staff member `user` and a signed-in `session` of theirs
# (its key is the benchmark's cookie); fill in with staff_setup().
_STAFF_SETUP = """
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from apps.organizations.models import Organization, Role
from apps.organizations.services import membership_set
org = Organization.objects.create(name=__NAME__, slug=__SLUG__)
user = get_user_model().objects.create_user(__EMAIL__, "bench-password-123", full_name="Recepción")
membership_set(user=user, organization=org, role=Role.STAFF)
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session["organization_id"] = org.pk
session.create()
"""


def staff_setup(*, name: str, slug: str, email: str) -> str:
    return (_STAFF_SETUP.replace("__NAME__", repr(name)).replace("__SLUG__", repr(slug))
            .replace("__EMAIL__", repr(email)))


def bench_database_name(name: str) -> str:
    """`name` suffixed with DATABASE_URL's own database: two checkouts sharing a server never drop each other's."""
    from urllib.parse import unquote, urlsplit

    own = unquote(urlsplit(os.environ.get("DATABASE_URL", "")).path.lstrip("/"))
    return f"{name}_{own}"[:63] if own else name


def bench_environment(dbname: str, **extra: str) -> dict:
    """A fresh, migrated database of the benchmark's own on the server DATABASE_URL names."""
    dbname = bench_database_name(dbname)
    recreate_database(os.environ["DATABASE_URL"], dbname)
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for(os.environ["DATABASE_URL"], dbname),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "bench-only-secret-key",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_LEVEL": "WARNING",
        "WHATSAPP_BRIDGE_API_KEY": "bench-bridge-key",
        "WHATSAPP_EVENTS_SECRET": "bench-events-secret",
        **extra,
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    return env


def start_gunicorn(env: dict, port: int):
    """The web process as production runs it (deploy/gunicorn.conf.py), without the access log."""
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESS_LOG": "/dev/null"}
    process = start(list(WEB_COMMAND), env, f"web-{port}")
    wait_http(f"http://127.0.0.1:{port}/api/health")
    return process


def link_sandbox(client: httpx.Client, org: str, phone: str) -> None:
    """Start a sandbox session on the bridge `client` talks to and scan its QR with `phone`."""
    client.post("/api/start-session", json={"organization_id": org, "engine": "sandbox"}).raise_for_status()
    deadline = time.monotonic() + 30
    while client.get(f"/api/status/{org}").json()["status"] != "qr_ready":
        if time.monotonic() > deadline:
            raise RuntimeError(f"sandbox {org} never showed a QR")
        time.sleep(0.05)
    qr = client.get(f"/api/qr/{org}").json()["qr_text"]
    httpx.get(qr, params={"phone": phone}, timeout=10).raise_for_status()
    while client.get(f"/api/status/{org}").json()["status"] != "connected":
        if time.monotonic() > deadline:
            raise RuntimeError(f"sandbox {org} never connected")
        time.sleep(0.05)
