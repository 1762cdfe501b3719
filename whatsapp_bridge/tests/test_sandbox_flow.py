"""Linking, sending, receipts, replies and faults through the real bridge process (sandbox engine)."""

from __future__ import annotations

import re
import time

import httpx

from .conftest import wait_until

PATIENT = "+573001234567"
CLINIC_PHONE = "+573001112233"


def test_link_by_qr_send_receipts_and_button_reply(bridge, receiver):
    started = bridge.client.post("/api/start-session", json={"organization_id": 23})
    assert started.status_code == 200
    assert started.json()["organization_id"] == "23"
    bridge.wait_status("23", "qr_ready")
    qr = bridge.client.get("/api/qr/23").json()
    assert qr["qr"].startswith("data:image/png;base64,")
    assert qr["qr_text"].startswith(f"{bridge.url}/sandbox/scan/")
    assert qr["expires_at"] > time.time()
    assert bridge.status("23")["has_qr"] is True

    page = httpx.get(qr["qr_text"], params={"phone": CLINIC_PHONE})
    assert page.status_code == 200 and "linked" in page.text
    status = bridge.wait_status("23", "connected")
    assert status == {**status, "phone_number": CLINIC_PHONE, "has_qr": False}
    assert bridge.client.get("/api/qr/23").status_code == 404

    buttons = [{"id": "confirm", "title": "Confirmar"}, {"id": "cancel", "title": "Cancelar"}]
    sent = bridge.send("23", PATIENT, "Recordatorio de su cita", client_message_id="rem-1", buttons=buttons)
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["message_id"]
    assert sent.json() == {"message_id": message_id, "status": "sent"}

    inbox = bridge.inbox("23")
    assert [(m["message_id"], m["phone"], m["text"], m["buttons"]) for m in inbox] == [
        (message_id, PATIENT, "Recordatorio de su cita", buttons)
    ]

    for wanted in ("sent", "delivered", "read"):
        event = receiver.wait_for(
            lambda e, w=wanted: e["type"] == "message.status" and e["data"]["status"] == w, message=wanted
        )
        assert event["organization_id"] == "23"
        assert event["data"] == {
            "message_id": message_id,
            "client_message_id": "rem-1",
            "phone": PATIENT,
            "status": wanted,
            "error_code": None,
            "error": None,
        }
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$", event["timestamp"])

    reply = bridge.client.post("/sandbox/api/23/reply", json={"phone": PATIENT, "button_id": "confirm"})
    assert reply.status_code == 200, reply.text
    inbound = receiver.wait_for(lambda e: e["type"] == "message.inbound", message="inbound")
    data = inbound["data"]
    assert data["from"] == PATIENT and data["button_id"] == "confirm" and data["text"] == "Confirmar"
    assert data["message_id"] == reply.json()["message_id"]
    assert set(data) == {"message_id", "from", "text", "button_id", "push_name", "timestamp", "reply_to", "media"}
    assert data["reply_to"] is None and data["media"] is None

    bridge.client.post("/sandbox/api/23/reply", json={"phone": PATIENT, "text": "¿Puedo llegar tarde?"})
    text_reply = receiver.wait_for(
        lambda e: e["type"] == "message.inbound" and e["data"]["button_id"] is None, message="text reply"
    )
    assert text_reply["data"]["text"] == "¿Puedo llegar tarde?"

    assert receiver.statuses("23")[:4] == ["connecting", "qr_ready", "connecting", "connected"]
    connected = receiver.of("session.status", "23")[3]
    assert connected["data"] == {"status": "connected", "reason": None, "phone_number": CLINIC_PHONE}
    ids = [e["id"] for e in receiver.events]
    assert len(ids) == len(set(ids))
    assert receiver.bad_signatures == 0


def test_unknown_button_and_reply_while_offline(bridge):
    bridge.link("7")
    bad = bridge.client.post("/sandbox/api/7/reply", json={"phone": PATIENT, "button_id": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "button_id"
    both = bridge.client.post("/sandbox/api/7/reply", json={"phone": PATIENT})
    assert both.status_code == 422


def test_same_client_message_id_sends_once(bridge):
    bridge.link("5")
    first = bridge.send("5", client_message_id="appt-9-24h")
    second = bridge.send("5", client_message_id="appt-9-24h", message="different text")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    other = bridge.send("5", client_message_id="appt-9-1h")
    assert other.json()["message_id"] != first.json()["message_id"]
    assert len(bridge.inbox("5")) == 2


def test_pairing_code_links_the_session(bridge, receiver):
    assert bridge.client.post("/api/pairing-code", json={"organization_id": "8", "phone": PATIENT}).status_code == 404
    bridge.client.post("/api/start-session", json={"organization_id": "8"})
    bridge.wait_status("8", "qr_ready")
    resp = bridge.client.post("/api/pairing-code", json={"organization_id": "8", "phone": "+573209876543"})
    assert resp.status_code == 200, resp.text
    code = resp.json()["code"]
    assert re.fullmatch(r"[1-9A-Z]{4}-[1-9A-Z]{4}", code)
    wrong = bridge.client.post("/sandbox/api/pair", json={"code": "ZZZZ-ZZZZ"})
    assert wrong.status_code == 404 and wrong.json()["field"] == "code"
    assert bridge.client.post("/sandbox/api/pair", json={"code": code}).status_code == 200
    assert bridge.wait_status("8", "connected")["phone_number"] == "+573209876543"
    again = bridge.client.post("/api/pairing-code", json={"organization_id": "8", "phone": PATIENT})
    assert again.status_code == 409 and again.json()["session_status"] == "connected"


def test_logout_from_the_phone_is_reported_and_relinking_needs_a_new_qr(bridge, receiver):
    bridge.link("11")
    assert bridge.client.post("/sandbox/api/11/logout").status_code == 200
    status = bridge.wait_status("11", "logged_out")
    assert status["reason"] == "device_removed" and status["phone_number"] is None
    event = receiver.wait_for(
        lambda e: e["type"] == "session.status" and e["data"]["status"] == "logged_out", message="logged_out"
    )
    assert event["data"] == {"status": "logged_out", "reason": "device_removed", "phone_number": None}

    refused = bridge.send("11", client_message_id="after-logout")
    assert refused.status_code == 409
    assert refused.json() == {**refused.json(), "field": "organization_id", "session_status": "logged_out"}
    assert bridge.inbox("11") == []

    restarted = bridge.client.post("/api/start-session", json={"organization_id": "11"}).json()
    assert restarted["status"] == "qr_ready" and restarted["has_qr"] is True


def test_logout_through_the_api_wipes_the_link(bridge):
    bridge.link("12")
    resp = bridge.client.post("/api/logout", json={"organization_id": "12"})
    assert resp.status_code == 200
    assert resp.json()["status"] == "logged_out" and resp.json()["reason"] == "logout"
    assert bridge.send("12").status_code == 409


def test_drop_queues_sends_and_delivers_them_after_reconnecting(bridge, receiver):
    bridge.link("13")
    dropped = bridge.client.post("/sandbox/api/13/disconnect", json={"seconds": 1.0})
    assert dropped.status_code == 200
    assert bridge.status("13")["status"] == "reconnecting"
    queued = bridge.send("13", client_message_id="while-down")
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued"
    message_id = queued.json()["message_id"]
    bridge.wait_status("13", "connected")
    wait_until(lambda: any(m["message_id"] == message_id for m in bridge.inbox("13")), message="queued send")
    receiver.wait_for(
        lambda e: (
            e["type"] == "message.status" and e["data"]["message_id"] == message_id and e["data"]["status"] == "sent"
        ),
        message="sent event of queued message",
    )
    assert "reconnecting" in receiver.statuses("13")


def test_qr_rotates_then_expires(make_bridge, receiver):
    bridge = make_bridge(
        {
            "BRIDGE_EVENTS_URL": receiver.url,
            "BRIDGE_QR_FIRST_MS": "800",
            "BRIDGE_QR_ROTATION_MS": "400",
            "BRIDGE_QR_CODES": "3",
        }
    )
    bridge.client.post("/api/start-session", json={"organization_id": "31"})
    first = bridge.client.get("/api/qr/31").json()
    second = wait_until(
        lambda: (q := bridge.client.get("/api/qr/31").json()).get("qr_text") not in (None, first["qr_text"]) and q,
        message="rotated QR",
    )
    assert second["index"] > first["index"]
    status = bridge.wait_status("31", "failed")
    assert status["reason"] == "qr_expired" and status["has_qr"] is False
    assert bridge.client.get("/api/qr/31").status_code == 404
    assert httpx.get(first["qr_text"]).status_code == 410
    receiver.wait_for(lambda e: e["data"].get("reason") == "qr_expired", message="qr_expired event")
    assert bridge.client.post("/api/start-session", json={"organization_id": "31"}).json()["status"] == "qr_ready"


def test_sends_are_paced(make_bridge):
    bridge = make_bridge({"BRIDGE_SEND_MIN_GAP_MS": "1200", "BRIDGE_SEND_JITTER_MS": "300"})
    bridge.link("41")
    assert bridge.send("41", client_message_id="p1").status_code == 200
    started = time.monotonic()
    assert bridge.send("41", client_message_id="p2").status_code == 200
    assert time.monotonic() - started >= 1.0


def test_hourly_cap_queues_instead_of_sending(make_bridge):
    bridge = make_bridge({"BRIDGE_SEND_HOURLY_CAP": "2"})
    bridge.link("42")
    assert bridge.send("42", client_message_id="c1").status_code == 200
    assert bridge.send("42", client_message_id="c2").status_code == 200
    capped = bridge.send("42", client_message_id="c3")
    assert capped.status_code == 202 and capped.json()["status"] == "queued"
    assert len(bridge.inbox("42")) == 2


def test_past_the_hourly_cap_every_further_send_is_answered_at_once_and_queued_in_order(make_bridge):
    bridge = make_bridge({"BRIDGE_SEND_HOURLY_CAP": "1"})
    bridge.link("43")
    assert bridge.send("43", client_message_id="k1").status_code == 200
    # The first queued send starts the outbox, which waits for the cap to lift; the next ones must
    # not wait for it (they used to hang until the caller's timeout).
    for i in range(2, 6):
        started = time.monotonic()
        answer = bridge.client.post("/api/send-message", timeout=5, json={
            "organization_id": "43", "phone": "+573001234567", "message": "Hola", "client_message_id": f"k{i}"})
        assert (answer.status_code, answer.json()["status"]) == (202, "queued")
        assert time.monotonic() - started < 2
    assert len(bridge.inbox("43")) == 1
