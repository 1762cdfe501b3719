"""Restarts of either side: sessions come back linked, sends stay idempotent, no event is lost."""

from __future__ import annotations

from .conftest import Receiver, wait_until

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
