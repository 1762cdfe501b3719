"""The whole system as a person meets it: web (gunicorn), worker and bridge as real processes.

Browser tests run against a database of their own on the server DATABASE_URL names, so the
processes and the test see the same committed rows without touching pytest-django's test database.
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
# Several people may run the browser tests against one server: each can name their own database.
DATABASE_NAME = os.environ.get("BROWSER_DATABASE_NAME", "opticaapp_browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect_kwargs(url: str, dbname: str) -> dict:
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
    with psycopg.connect(**_connect_kwargs(url, "postgres")) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def wait_until(predicate, *, timeout=30.0, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            result = None
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@dataclass
class Stack:
    web_url: str
    bridge_url: str
    env: dict
    log_dir: Path
    database_name: str = DATABASE_NAME
    processes: dict = field(default_factory=dict)
    graph: object = None  # the local stand-in for Meta's Graph API (cloud engine)

    def start(self, name: str, *args: str) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = (
            subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT),
            log,
        )

    def stop(self, name: str) -> None:
        process, log = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        if self.graph is not None:
            self.graph.stop()

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def sql(self, query: str, params=()) -> list[tuple]:
        """Read what the processes committed (ids, statuses): the test's view of the database."""
        with psycopg.connect(**_connect_kwargs(self.env["DATABASE_URL"], self.database_name)) as conn:
            return conn.execute(query, params).fetchall()

    def bridge(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"X-API-Key": self.env["BRIDGE_API_KEY"]}
        return httpx.request(method, f"{self.bridge_url}{path}", headers=headers, timeout=10, **kwargs)


def start_stack(log_dir: Path, bridge_data: Path, *, database_name: str = DATABASE_NAME, extra_env: dict | None = None,
                with_worker: bool = True) -> Stack:
    from whatsapp_bridge.tests.graph_server import GraphServer

    base_url = os.environ["DATABASE_URL"]
    recreate_database(base_url, database_name)
    web_port, bridge_port = free_port(), free_port()
    web_url, bridge_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{bridge_port}"
    graph = GraphServer().start()
    graph.webhook_url = f"{bridge_url}/webhooks/whatsapp"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for(base_url, database_name),
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": web_url,
        "WHATSAPP_BRIDGE_URL": bridge_url,
        "WHATSAPP_BRIDGE_API_KEY": "browser-bridge-key",
        "WHATSAPP_EVENTS_SECRET": "browser-events-secret",
        "BRIDGE_API_KEY": "browser-bridge-key",
        "BRIDGE_EVENTS_SECRET": "browser-events-secret",
        "BRIDGE_EVENTS_URL": f"{web_url}/whatsapp/events/",
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(bridge_port),
        "BRIDGE_PUBLIC_URL": bridge_url,
        "BRIDGE_DATA_DIR": str(bridge_data),
        # Web and worker share the files staff send and patients' files the worker fetches.
        "MEDIA_ROOT": str(bridge_data / "django-media"),
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_SEND_MIN_GAP_MS": "0",
        "BRIDGE_SEND_JITTER_MS": "0",
        "BRIDGE_GRAPH_API_URL": graph.url,
        "BRIDGE_CREDENTIALS_KEY": "browser-credentials-key",
        # The reply-table walk sends a hundred messages in minutes; pacing is the bridge's own suite's matter.
        "BRIDGE_SEND_HOURLY_CAP": "100000",
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": str(log_dir / "access.log"),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    stack = Stack(web_url=web_url, bridge_url=bridge_url, env=env, log_dir=log_dir, graph=graph,
                  database_name=database_name)
    stack.manage("migrate", "--noinput", "-v", "0")
    stack.manage("seed_demo")
    venv_bin = Path(sys.executable).parent
    stack.start("bridge", sys.executable, "-m", "whatsapp_bridge")
    stack.start("web", str(venv_bin / "gunicorn"), "opticaapp.wsgi:application", "-c", "deploy/gunicorn.conf.py")
    if with_worker:
        stack.start("worker", sys.executable, "manage.py", "procrastinate", "worker")
    try:
        # Generous: on a busy 2-core machine a cold start of either process can take tens of seconds.
        wait_until(lambda: httpx.get(f"{bridge_url}/api/health", timeout=2).status_code == 200,
                   timeout=120, message="the bridge to answer")
        wait_until(lambda: httpx.get(f"{web_url}/api/health", timeout=2).status_code == 200,
                   timeout=120, message="the web server to answer")
    except AssertionError:
        stack.stop_all()
        raise
    return stack
