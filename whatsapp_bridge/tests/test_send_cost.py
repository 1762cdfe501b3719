"""What a send costs the bridge's store: SQLite statements counted in-process (issue 14).

The other tests run the real process; these count what one connection executes, so they serve the
app in-process: uvicorn on a thread of the test, its lifespan (the store, the sandbox, the sessions)
included, and a plain HTTP client.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from whatsapp_bridge import config
from whatsapp_bridge.app import create_app

from .conftest import API_KEY, free_port, wait_until

ORG = "77"


@contextmanager
def linked_bridge(data_dir, delivered_ms: int, read_ms: int):
    settings = config.load({
        "BRIDGE_API_KEY": API_KEY,
        "BRIDGE_DATA_DIR": str(data_dir),
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_SEND_MIN_GAP_MS": "0",
        "BRIDGE_SEND_JITTER_MS": "0",
        "BRIDGE_SEND_HOURLY_CAP": "0",
        "BRIDGE_SANDBOX_CONNECT_MS": "10",
        "BRIDGE_SANDBOX_DELIVERED_MS": str(delivered_ms),
        "BRIDGE_SANDBOX_READ_MS": str(read_ms),
        "BRIDGE_LOG_LEVEL": "WARNING",
    })
    app = create_app(settings)
    with served(app) as base, BridgeClient(app, base) as client:
        client.post("/api/start-session", json={"organization_id": ORG}).raise_for_status()
        qr = wait_until(lambda: client.get(f"/api/qr/{ORG}").json().get("qr_text"), message="a QR")
        client.get(urlsplit(qr).path, params={"phone": "+573009990000"}).raise_for_status()
        wait_until(lambda: client.get(f"/api/status/{ORG}").json()["status"] == "connected", message="connected")
        yield client


class BridgeClient(httpx.Client):
    """An HTTP client of the app served in-process, with the app at hand (its store's connection)."""

    def __init__(self, app, base_url: str):
        super().__init__(base_url=base_url, headers={"X-API-Key": API_KEY})
        self.app = app


@contextmanager
def served(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bridge-under-test", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, message="the bridge serving")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class Statements:
    """Every statement the store's connection runs, by its first words (a statement of an executemany
    counts once per row: that is what SQLite executes)."""

    def __init__(self, client: BridgeClient):
        self.db = client.app.state.store._db
        self.seen: Counter[str] = Counter()

    def __enter__(self) -> Counter[str]:
        self.db.set_trace_callback(lambda sql: self.seen.update([" ".join(sql.split()[:3])]))
        return self.seen

    def __exit__(self, *_exc) -> None:
        self.db.set_trace_callback(None)


def send(client: BridgeClient, i: int):
    answer = client.post("/api/send-message", json={
        "organization_id": ORG, "phone": f"+5730012{i:05d}", "message": "Su cita es mañana",
        "client_message_id": f"cost-{i}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def bridge_app(tmp_path):
    with linked_bridge(tmp_path, delivered_ms=300, read_ms=600) as client:
        yield client


def test_a_send_with_nothing_to_wait_for_costs_five_statements(tmp_path):
    with linked_bridge(tmp_path, delivered_ms=60_000, read_ms=60_000) as bridge_app:  # no receipt meanwhile
        send(bridge_app, 0)  # the first send looks the backlog up once
        with Statements(bridge_app) as seen:
            for i in range(1, 11):
                send(bridge_app, i)
    # Per send: its idempotency key looked up, its row inserted as handed over, the phone's copy, its
    # outcome and its event. It was eleven: two re-reads of the row, a separate update before the
    # hand-over, the backlog and the linked phone looked up at every send.
    assert sum(seen.values()) == 50, seen
    assert not any(words.startswith("SELECT * FROM sends WHERE message_id") for words in seen), seen


def test_receipts_falling_due_together_are_written_together_and_each_still_reported(bridge_app):
    sent = [send(bridge_app, i)["message_id"] for i in range(20)]
    store = bridge_app.app.state.store
    with Statements(bridge_app) as seen:
        time.sleep(1.5)  # every read is due 0.6 s after its send (polling the store would count too)
    assert all(store.send(m)["status"] == "read" for m in sent)
    updates_of_sends = seen["UPDATE sends SET"]
    # A receipt was a look-up and an update each: 2 x 2 x 20 = 80 statements on `sends` alone.
    assert updates_of_sends <= 8, seen
    events = [e for e in store.peek_events(1000) if e["body"].find('"message.status"') >= 0]
    statuses = Counter(s for e in events for s in ("delivered", "read") if f'"status": "{s}"' in e["body"])
    assert statuses == {"delivered": 20, "read": 20}
    assert all(row["status"] == "read" for row in store.sandbox_messages(ORG) if row["direction"] == "out")
