"""Restarts of either side: sessions come back linked, sends stay idempotent, no event is lost."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx

from .conftest import REPO_ROOT, Receiver, wait_until

PATIENT = "+573001234567"


def test_restart_resumes_linked_sessions_only(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url})
    bridge.link("21", "+573005550001")
    bridge.client.post("/api/start-session", json={"organization_id": "22"})
    bridge.wait_status("22", "qr_ready")
    first = bridge.send("21", client_message_id="before-restart")
    assert first.status_code == 200

    bridge.restart()

    status = bridge.wait_status("21", "connected")
    assert status["phone_number"] == "+573005550001" and status["has_qr"] is False
    assert bridge.client.get("/api/qr/21").status_code == 404
    assert bridge.status("22")["status"] == "disconnected"
    assert bridge.client.get("/api/qr/22").status_code == 404

    again = bridge.send("21", client_message_id="before-restart", message="retry after restart")
    assert again.json() == first.json()
    assert len(bridge.inbox("21")) == 1

    statuses = receiver.statuses("21")
    assert statuses[-2:] == ["connecting", "connected"]
    assert statuses.count("qr_ready") == 1


def test_events_survive_receiver_downtime_and_bridge_restart(make_bridge):
    receiver = Receiver()
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url})
    bridge.link("61")
    sent_ids = [bridge.send("61", client_message_id=f"m{i}").json()["message_id"] for i in range(3)]
    wait_until(
        lambda: all(m["status"] == "read" for m in bridge.inbox("61")) and len(bridge.inbox("61")) == 3,
        message="receipts in the sandbox",
    )
    bridge.client.post("/sandbox/api/61/reply", json={"phone": PATIENT, "text": "gracias"})

    def depth() -> float:
        text = bridge.client.get("/metrics").text
        line = next(x for x in text.splitlines() if x.startswith("bridge_event_queue_depth"))
        return float(line.split()[-1])

    wait_until(lambda: depth() >= 14, message="events queued while the receiver is down")
    bridge.restart()
    bridge.wait_status("61", "connected")
    receiver.start()
    try:
        wait_until(lambda: depth() == 0, timeout=20, message="queue drained")
        events = receiver.events
        ids = [e["id"] for e in events]
        assert len(ids) == len(set(ids)), "an event was delivered twice"
        assert receiver.bad_signatures == 0
        assert receiver.statuses("61") == [
            "connecting",
            "qr_ready",
            "connecting",
            "connected",
            "connecting",
            "connected",
        ]
        for message_id in sent_ids:
            seen = [e["data"]["status"] for e in receiver.of("message.status") if e["data"]["message_id"] == message_id]
            assert seen == ["sent", "delivered", "read"]
        assert [e["data"]["text"] for e in receiver.of("message.inbound")] == ["gracias"]
        timestamps = [e["timestamp"] for e in events]
        assert timestamps == sorted(timestamps)
    finally:
        receiver.stop()


def _send_in_background(bridge, org: str, **body) -> dict:
    """A send request that stays open (waiting for its pacing slot) while the test acts."""
    result: dict = {}

    def run():
        try:
            result["response"] = bridge.send(org, **body)
        except httpx.HTTPError as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    result["thread"] = thread
    return result


def _row(bridge, client_message_id: str) -> dict | None:
    with sqlite3.connect(bridge.data_dir / "bridge.sqlite3") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM sends WHERE client_message_id=?", (client_message_id,)).fetchone()
        return dict(row) if row else None


def test_a_send_killed_during_its_pacing_wait_is_sent_by_the_retry_not_answered_as_sent(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_SEND_MIN_GAP_MS": "60000"})
    bridge.link("71")
    assert bridge.send("71", client_message_id="first").status_code == 200
    waiting = _send_in_background(bridge, "71", message="Segundo", client_message_id="second")
    wait_until(lambda: _row(bridge, "second") is not None, message="the second send recorded, waiting its slot")
    bridge.kill()

    bridge.env["BRIDGE_SEND_MIN_GAP_MS"] = "0"
    bridge.start()
    bridge.wait_status("71", "connected")
    again = bridge.send("71", message="Segundo", client_message_id="second")
    assert again.status_code == 200 and again.json()["status"] == "sent"
    wait_until(lambda: len(bridge.inbox("71")) >= 2, message="the interrupted send on the phone")
    assert [m["text"] for m in bridge.inbox("71")] == ["Hola", "Segundo"]
    message_id = again.json()["message_id"]
    receiver.wait_for(
        lambda e: (
            e["type"] == "message.status" and e["data"]["message_id"] == message_id and e["data"]["status"] == "sent"
        ),
        message="the sent status of the interrupted send",
    )
    waiting["thread"].join(timeout=5)


def test_boot_sends_what_a_killed_bridge_left_sending_and_a_later_retry_sends_nothing_more(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_SEND_MIN_GAP_MS": "60000"})
    bridge.link("72")
    bridge.send("72", client_message_id="a")
    _send_in_background(bridge, "72", message="Segundo", client_message_id="b")
    wait_until(lambda: _row(bridge, "b") is not None, message="the second send waiting its slot")
    bridge.kill()
    assert _row(bridge, "b")["status"] == "sending"

    bridge.env["BRIDGE_SEND_MIN_GAP_MS"] = "0"
    bridge.start()
    wait_until(lambda: len(bridge.inbox("72")) == 2, message="the outbox to send the interrupted row at boot")
    assert _row(bridge, "b")["status"] in ("sent", "delivered", "read")
    assert bridge.send("72", message="Segundo", client_message_id="b").json()["status"] == "sent"
    assert len(bridge.inbox("72")) == 2


def test_a_send_waiting_its_slot_at_logout_fails_and_is_never_sent_on_relink(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_SEND_MIN_GAP_MS": "3000"})
    bridge.link("73")
    bridge.send("73", client_message_id="a")
    waiting = _send_in_background(bridge, "73", message="Cita cancelada después", client_message_id="b")
    wait_until(lambda: _row(bridge, "b") is not None, message="the second send waiting its slot")
    assert bridge.client.post("/api/logout", json={"organization_id": "73"}).status_code == 200
    waiting["thread"].join(timeout=10)
    assert waiting["response"].status_code == 409
    assert _row(bridge, "b")["status"] == "failed"
    receiver.wait_for(
        lambda e: (
            e["type"] == "message.status"
            and e["data"]["client_message_id"] == "b"
            and e["data"]["error_code"] == "session_logged_out"
        ),
        message="the failure of the parked send",
    )

    bridge.link("73")
    time.sleep(1)  # let an outbox that would wrongly release it do so
    assert [m["text"] for m in bridge.inbox("73")] == ["Hola"]


def test_a_queued_send_past_its_deliver_before_fails_with_a_reason_and_never_goes_out(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_RECONNECT_MAX_ATTEMPTS": "50"})
    bridge.link("74")
    # The phone stays away well past the deadline, which is far enough ahead to be valid when it arrives.
    bridge.client.post("/sandbox/api/74/disconnect", json={"seconds": 8})
    bridge.wait_status("74", "reconnecting")
    deadline = datetime.now(UTC) + timedelta(seconds=3)
    queued = bridge.send("74", client_message_id="late", deliver_before=deadline.isoformat())
    assert queued.status_code == 202, queued.text
    event = receiver.wait_for(
        lambda e: (
            e["type"] == "message.status"
            and e["data"]["client_message_id"] == "late"
            and e["data"]["status"] == "failed"
        ),
        message="the deadline failure",
    )
    assert event["data"]["error_code"] == "deadline_passed"
    assert "deliver_before" in event["data"]["error"]
    bridge.wait_status("74", "connected")
    time.sleep(0.5)
    assert bridge.inbox("74") == []

    past = bridge.send("74", client_message_id="past", deliver_before="2020-01-01T00:00:00Z")
    assert past.status_code == 422 and past.json()["field"] == "deliver_before"
    naive = bridge.send("74", client_message_id="naive", deliver_before="2099-01-01T00:00:00")
    assert naive.status_code == 422 and naive.json()["field"] == "deliver_before"


def test_receipts_pending_at_a_restart_still_arrive(make_bridge, receiver):
    bridge = make_bridge(
        {"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_SANDBOX_DELIVERED_MS": "1500", "BRIDGE_SANDBOX_READ_MS": "2500"}
    )
    bridge.link("75")
    message_id = bridge.send("75").json()["message_id"]
    bridge.restart()

    def statuses():
        return [
            e["data"]["status"] for e in receiver.of("message.status", "75") if e["data"]["message_id"] == message_id
        ]

    wait_until(lambda: statuses() == ["sent", "delivered", "read"], message="receipts after the restart")
    assert bridge.inbox("75")[0]["status"] == "read"


def test_an_event_the_receiver_keeps_refusing_goes_to_dead_letters_without_holding_back_anyone(make_bridge):
    def refuse_poison(batch):
        if any(e["type"] == "message.inbound" and e["data"]["text"] == "veneno" for e in batch):
            return 500, {}
        return 200, {}

    receiver = Receiver(answer=refuse_poison).start()
    try:
        bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_EVENTS_MAX_ATTEMPTS": "3"})
        bridge.link("81")
        bridge.link("82", "+573001112244")
        bridge.client.post("/sandbox/api/81/reply", json={"phone": PATIENT, "text": "veneno"})
        bridge.client.post("/sandbox/api/81/reply", json={"phone": PATIENT, "text": "después"})
        bridge.client.post("/sandbox/api/82/reply", json={"phone": PATIENT, "text": "otra clínica"})

        def inbound_texts():
            return [e["data"]["text"] for e in receiver.of("message.inbound")]

        wait_until(lambda: {"después", "otra clínica"} <= set(inbound_texts()), message="the events behind the poison")
        health = wait_until(
            lambda: (h := bridge.anon.get("/api/health").json())["events"]["dead_letters"] == 1 and h,
            message="the poison in the dead letters",
        )
        assert health["events"]["dead_letters"] == 1
        wait_until(lambda: bridge.anon.get("/api/health").json()["events"]["queued"] == 0, message="queue drained")
        assert "bridge_event_dead_letters 1.0" in bridge.client.get("/metrics").text
        assert "veneno" not in inbound_texts()

        receiver.answer = None  # the receiver is fixed
        replay = subprocess.run(
            [sys.executable, "-m", "whatsapp_bridge", "replay-dead-letters"],
            cwd=REPO_ROOT,
            env=bridge.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert replay.returncode == 0, replay.stderr
        assert replay.stdout.startswith("1 event")
        wait_until(lambda: "veneno" in inbound_texts(), timeout=20, message="the replayed event")
        assert bridge.anon.get("/api/health").json()["events"]["dead_letters"] == 0
    finally:
        receiver.stop()


def test_a_redirecting_receiver_is_a_configuration_error_on_health_and_in_the_log(make_bridge):
    receiver = Receiver(answer=lambda batch: (301, {"Location": "https://127.0.0.1/whatsapp/events/"})).start()
    try:
        bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_EVENTS_MAX_ATTEMPTS": "2"})
        bridge.client.post("/api/start-session", json={"organization_id": "83"})
        health = wait_until(
            lambda: (h := bridge.anon.get("/api/health").json())["events"]["config_error"] and h,
            message="the configuration error on health",
        )
        assert health["status"] == "degraded"
        assert "301" in health["events"]["config_error"] and "BRIDGE_EVENTS_URL" in health["events"]["config_error"]
        wait_until(lambda: receiver.refused >= 3, message="more redirected attempts")
        assert bridge.anon.get("/api/health").json()["events"]["dead_letters"] == 0
        log = bridge.log_path.read_text()
        assert '"level": "error"' in log and "BRIDGE_EVENTS_URL is misconfigured" in log
    finally:
        receiver.stop()


def test_a_normal_stop_prints_no_traceback(make_bridge):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": "http://127.0.0.1:9/unreachable/", "BRIDGE_SEND_MIN_GAP_MS": "60000"})
    bridge.link("84")
    bridge.send("84")
    _send_in_background(bridge, "84", message="esperando")
    time.sleep(0.5)
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = bridge.proc
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
        assert "Traceback" not in bridge.log_path.read_text()
        bridge.start()
        bridge.wait_status("84", "connected")
        _send_in_background(bridge, "84", message="otra vez")
        time.sleep(0.5)


def test_a_stop_while_receipts_are_falling_due_logs_no_error_and_they_arrive_after(make_bridge, receiver):
    bridge = make_bridge(
        {"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_SANDBOX_DELIVERED_MS": "200", "BRIDGE_SANDBOX_READ_MS": "400",
         "BRIDGE_SEND_HOURLY_CAP": "0"}
    )
    bridge.link("77")
    sent = []
    began = time.monotonic()
    # Sends for a second: receipts fall due all the time, also while the bridge stops.
    while time.monotonic() - began < 1.0:
        sent.append(bridge.send("77", f"+5730012{len(sent):05d}", client_message_id=f"r-{len(sent)}").json())
    bridge.stop()
    log = bridge.log_path.read_text()
    assert '"level": "error"' not in log and "Traceback" not in log

    bridge.start()
    read = {e["data"]["message_id"] for e in receiver.of("message.status", "77") if e["data"]["status"] == "read"}
    wait_until(lambda: read | {e["data"]["message_id"] for e in receiver.of("message.status", "77")
                               if e["data"]["status"] == "read"} >= {s["message_id"] for s in sent},
               message="every read receipt, after the restart for those cut short")
