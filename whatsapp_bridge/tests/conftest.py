"""Fixtures that run the real bridge process and a signed-event receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key-0123456789"
EVENTS_SECRET = "events-secret-abc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 15.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Receiver:
    """Django's side of the event webhook: verifies the signature, keeps what it accepted."""

    def __init__(self, port: int | None = None, secret: str = EVENTS_SECRET, answer=None):
        self.port = port or free_port()
        self.secret = secret
        # answer(batch) -> (status, headers) to play a receiver that refuses or redirects
        self.answer = answer
        self.refused = 0
        self.events: list[dict] = []
        self.batches = 0
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/whatsapp/events/"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - stdlib naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(self.headers.get("X-Bridge-Signature", ""), expected):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    self.send_response(403)
                    self.end_headers()
                    return
                batch = json.loads(body)
                status, headers = receiver.answer(batch) if receiver.answer else (200, {})
                with receiver.lock:
                    if status == 200:
                        receiver.batches += 1
                        receiver.events.extend(batch)
                    else:
                        receiver.refused += 1
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def of(self, type_: str, org: str | None = None) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e["type"] == type_ and (org is None or e["organization_id"] == org)]

    def statuses(self, org: str) -> list[str]:
        return [e["data"]["status"] for e in self.of("session.status", org)]

    def wait_for(self, predicate, timeout: float = 15.0, message: str = "event"):
        def find():
            with self.lock:
                return next((e for e in self.events if predicate(e)), None)

        return wait_until(find, timeout, message=message)


FAST_ENV = {
    "BRIDGE_SEND_MIN_GAP_MS": "0",
    "BRIDGE_SEND_JITTER_MS": "0",
    "BRIDGE_SANDBOX_CONNECT_MS": "50",
    "BRIDGE_SANDBOX_DELIVERED_MS": "150",
    "BRIDGE_SANDBOX_READ_MS": "300",
    "BRIDGE_RECONNECT_BASE_MS": "100",
    "BRIDGE_RECONNECT_MAX_MS": "400",
    "BRIDGE_RECONNECT_MAX_ATTEMPTS": "4",
    "BRIDGE_EVENTS_RETRY_BASE_MS": "100",
    "BRIDGE_EVENTS_RETRY_MAX_MS": "400",
}


class Bridge:
    """The real `python -m whatsapp_bridge` process on a free loopback port."""

    def __init__(self, data_dir: Path, env: dict | None = None):
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")},
            "BRIDGE_API_KEY": API_KEY,
            "BRIDGE_HOST": "127.0.0.1",
            "BRIDGE_PORT": str(self.port),
            "BRIDGE_DATA_DIR": str(data_dir),
            "BRIDGE_EVENTS_SECRET": EVENTS_SECRET,
            "PYTHONUNBUFFERED": "1",
            **FAST_ENV,
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / "bridge.log"
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"X-API-Key": API_KEY}, timeout=30)
        self.anon = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Bridge:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "whatsapp_bridge"], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log
        )

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"bridge exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                return self.anon.get("/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 30, 0.1, "bridge health")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def kill(self) -> None:
        """kill -9: no shutdown code runs, as in a crash or an OOM kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> Bridge:
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        self.client.close()
        self.anon.close()

    # conveniences over the HTTP API
    def status(self, org: str) -> dict:
        return self.client.get(f"/api/status/{org}").json()

    def wait_status(self, org: str, status: str, timeout: float = 15.0) -> dict:
        return wait_until(
            lambda: (s := self.status(org)).get("status") == status and s, timeout, message=f"{org} {status}"
        )

    def link(self, org: str, phone: str = "+573001112233") -> dict:
        resp = self.client.post("/api/start-session", json={"organization_id": org})
        assert resp.status_code == 200, resp.text
        self.wait_status(org, "qr_ready")
        qr = self.client.get(f"/api/qr/{org}").json()
        scanned = httpx.get(qr["qr_text"], params={"phone": phone}, timeout=10)
        assert scanned.status_code == 200, scanned.text
        return self.wait_status(org, "connected")

    def send(self, org: str, phone: str = "+573001234567", message: str = "Hola", **extra) -> httpx.Response:
        return self.client.post(
            "/api/send-message", json={"organization_id": org, "phone": phone, "message": message, **extra}
        )

    def inbox(self, org: str, **params) -> list[dict]:
        return self.client.get(f"/sandbox/api/{org}/messages", params=params).json()["messages"]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def make_bridge(tmp_path):
    bridges: list[Bridge] = []

    def make(env: dict | None = None, data_dir: Path | None = None, start: bool = True) -> Bridge:
        bridge = Bridge(data_dir or tmp_path / f"data{len(bridges)}", env)
        bridges.append(bridge)
        return bridge.start() if start else bridge

    yield make
    for bridge in bridges:
        bridge.close()


@pytest.fixture
def bridge(make_bridge, receiver):
    return make_bridge({"BRIDGE_EVENTS_URL": receiver.url})
