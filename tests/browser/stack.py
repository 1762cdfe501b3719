"""The whole system as a person meets it: web (gunicorn), worker and bridge as real processes.

Browser tests run against a database of their own on the server DATABASE_URL names, so the
processes and the test see the same committed rows without touching pytest-django's test database.
"""

import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from tests import processes
from tests.processes import ROOT, connect_kwargs, database_url_for, free_port, recreate_database

# Several people may run the browser tests against one server: each can name their own database.
DATABASE_NAME = os.environ.get("BROWSER_DATABASE_NAME", "opticaapp_browser")

# A page, a phone or a row that is not there yet raises (StopIteration, a Playwright error...): keep polling.
wait_until = functools.partial(processes.wait_until, interval=0.2, ignore=(Exception,))

__all__ = ["DATABASE_NAME", "ROOT", "Stack", "database_url_for", "recreate_database", "start_stack", "wait_until"]


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
        self.processes[name] = processes.process_start(args, env=self.env, log_path=self.log_dir / f"{name}.log")

    def stop(self, name: str) -> None:
        processes.process_stop(self.processes.pop(name), timeout=15)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        if self.graph is not None:
            self.graph.stop()

    def manage(self, *args: str) -> str:
        return processes.manage(self.env, *args)

    def sql(self, query: str, params=()) -> list[tuple]:
        """Read what the processes committed (ids, statuses): the test's view of the database."""
        with psycopg.connect(**connect_kwargs(self.env["DATABASE_URL"], self.database_name)) as conn:
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
    stack.start("bridge", *processes.BRIDGE_COMMAND)
    stack.start("web", *processes.WEB_COMMAND)
    if with_worker:
        stack.start("worker", sys.executable, "manage.py", "procrastinate", "worker")
    try:
        # Generous: on a busy 2-core machine a cold start of either process can take tens of seconds.
        processes.wait_answering(f"{bridge_url}/api/health", timeout=120, process=stack.processes["bridge"],
                                 log_path=log_dir / "bridge.log", name="the bridge")
        processes.wait_answering(f"{web_url}/api/health", timeout=120, process=stack.processes["web"],
                                 log_path=log_dir / "web.log", name="the web server")
    except AssertionError:
        stack.stop_all()
        raise
    return stack
