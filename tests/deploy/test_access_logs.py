"""Secret URL tokens (password-reset links, calendar feeds) never reach an access log, and nginx answers the API's
errors as JSON: the real gunicorn with deploy/gunicorn.conf.py, and the real nginx with the rendered site in front."""

import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from django.db import connection

from .conftest import ROOT, libpq_url
from .test_nginx import DOMAIN, _full_site, _nginx, sandbox  # noqa: F401 - sandbox is a fixture

SECRETS = ("c2VjcmV0LXVpZA", "set-password-token-8f3a2b", "feedtoken-51c9e0d7a4")
PATHS = [f"/accounts/reset/{SECRETS[0]}/{SECRETS[1]}/", f"/appointments/feeds/{SECRETS[2]}.ics",
         f"/api/health?token={SECRETS[1]}"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, **kwargs) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2, **kwargs)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def gunicorn(tmp_path, transactional_db):
    port = _free_port()
    log = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update({"DATABASE_URL": libpq_url(connection.settings_dict), "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": "access-log-test-secret-key-0123456789abcdef",
                "DJANGO_ALLOWED_HOSTS": f"127.0.0.1,{DOMAIN}", "WHATSAPP_BRIDGE_API_KEY": "k" * 40,
                "WHATSAPP_EVENTS_SECRET": "s" * 40, "STATICFILES_BACKEND":
                "django.contrib.staticfiles.storage.StaticFilesStorage", "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": "1", "GUNICORN_ACCESS_LOG": str(log)})
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "opticaapp.wsgi:application", "-c",
                                "deploy/gunicorn.conf.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=(tmp_path / "gunicorn.err").open("w"))
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health")
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_gunicorns_access_log_masks_reset_links_and_feed_tokens(gunicorn):
    port, log = gunicorn

    for path in PATHS:
        httpx.get(f"http://127.0.0.1:{port}{path}", headers={"Referer": f"https://x.test/{SECRETS[1]}"})

    text = _read_when(log, lambda t: t.count("\n") >= len(PATHS) + 1)
    assert not any(secret in text for secret in SECRETS), text
    assert "/accounts/reset/[redacted]/" in text and "/appointments/feeds/[redacted].ics" in text
    assert "GET /api/health " in text


def _read_when(path, ready, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if ready(text):
            return text
        time.sleep(0.2)
    return path.read_text() if path.exists() else ""


@pytest.fixture
def nginx(sandbox, gunicorn):  # noqa: F811 - the sandbox fixture
    """The rendered site, its ports moved to free ones on the loopback (nothing else changed), before gunicorn."""
    port, _log = gunicorn
    https, http = _free_port(), _free_port()
    site = _full_site(sandbox).replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{port};")
    site = re.sub(r"listen \[::\]:\d+[^;]*;", "", site)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl;").replace(
        "listen 80;", f"listen 127.0.0.1:{http};")
    (sandbox / "opticaapp.conf").write_text(site)
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (sandbox / folder).mkdir(exist_ok=True)
    (sandbox / "nginx.conf").write_text(f"""
daemon off;
pid {sandbox}/nginx.pid;
error_log {sandbox}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {sandbox}/client_body;
    proxy_temp_path {sandbox}/proxy;
    fastcgi_temp_path {sandbox}/fastcgi;
    uwsgi_temp_path {sandbox}/uwsgi;
    scgi_temp_path {sandbox}/scgi;
    include {sandbox}/opticaapp.conf;
}}
""")
    process = subprocess.Popen([_nginx(), "-p", str(sandbox), "-c", str(sandbox / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"https://127.0.0.1:{https}"
    try:
        _wait_for(f"{base}/api/health", verify=False, headers={"Host": DOMAIN})
        yield httpx.Client(base_url=base, verify=False, headers={"Host": DOMAIN}, timeout=30), sandbox / "logs"  # noqa: S501 - self-signed test cert
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_nginxs_access_log_masks_reset_links_and_feed_tokens(nginx):
    client, logs = nginx

    for path in PATHS:
        client.get(path, headers={"Referer": f"https://x.test/{SECRETS[1]}"})

    text = _read_when(logs / "opticaapp.access.log", lambda t: "/appointments/feeds/" in t)
    assert not any(secret in text for secret in SECRETS), text
    assert "/accounts/reset/[redacted]/" in text and "/appointments/feeds/[redacted].ics" in text


def test_nginx_answers_a_too_large_api_body_and_the_login_rate_limit_as_json(nginx):
    client, _logs = nginx

    too_large = client.post("/api/patients/", content=b"x" * (11 * 1024 * 1024),
                            headers={"Content-Type": "application/json"})
    answers = [client.post("/api/auth/token/", json={"email": f"n{n}@clinic.test", "password": "x"})
               for n in range(14)]

    assert too_large.status_code == 413
    assert too_large.headers["content-type"].startswith("application/json")
    assert too_large.json()["code"] == "too_large"
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert all(a.headers["content-type"].startswith("application/json") for a in answers)
    assert {a.json()["code"] for a in limited} <= {"throttled"}
