"""Callers of the Node/Baileys server this bridge replaces keep working, byte for byte."""

from __future__ import annotations

import httpx

from .conftest import API_KEY, Bridge

PATIENT = "+573001234567"

# What the old server's callers sent, as bytes on the wire: national numbers, no client id,
# organization ids as strings, and whatever Content-Type the caller's HTTP library chose.
OLD_CALLS = [
    ({"Content-Type": "application/json"},
     b'{"organization_id": "23", "phone": "3001234567", "message": "Hola prueba"}', "Hola prueba"),
    ({}, b'{"organization_id":"23","phone":"3001234567","message":"Sin content-type"}', "Sin content-type"),
    # curl -d without -H
    ({"Content-Type": "application/x-www-form-urlencoded"},
     b'{"organization_id": "23", "phone": "300 123 4567", "message": "Desde curl"}', "Desde curl"),
    ({"Content-Type": "application/json; charset=utf-8"},
     '{"organization_id": "23", "phone": "573001234567", "message": "Su cita ✅ mañana 👓"}'.encode(),
     "Su cita ✅ mañana 👓"),
    # JSON.stringify in Node keeps emoji raw; Python's json.dumps escapes them as surrogate pairs.
    ({"Content-Type": "application/json"},
     b'{"organization_id": 23, "phone": "+573001234567", '
     b'"message": "Hola \\ud83d\\udc4b \\u00bfc\\u00f3mo est\\u00e1?"}',
     "Hola 👋 ¿cómo está?"),
]


def replay(bridge: Bridge, headers: dict, body: bytes) -> httpx.Response:
    return httpx.post(f"{bridge.url}/api/send-message", content=body, headers={"X-API-Key": API_KEY, **headers},
                      timeout=30)


def test_the_old_servers_calls_replayed_byte_for_byte(bridge):
    never_started = bridge.client.get("/api/status/23")
    assert never_started.status_code == 200
    assert {k: never_started.json()[k] for k in ("status", "has_qr", "phone_number")} == {
        "status": "disconnected", "has_qr": False, "phone_number": None}

    started = httpx.post(f"{bridge.url}/api/start-session", content=b'{"organization_id": "23"}',
                         headers={"X-API-Key": API_KEY}, timeout=30)
    assert started.status_code == 200, started.text
    bridge.wait_status("23", "qr_ready")
    qr = bridge.client.get("/api/qr/23").json()
    assert qr["qr"].startswith("data:image/png;base64,")
    assert httpx.get(qr["qr_text"], params={"phone": "+573009998877"}, timeout=10).status_code == 200
    bridge.wait_status("23", "connected")

    for headers, body, _text in OLD_CALLS:
        resp = replay(bridge, headers, body)
        assert resp.status_code == 200, (headers, body, resp.text)
        assert resp.json()["status"] == "sent" and resp.json()["message_id"]
    received = bridge.inbox("23", direction="out")
    assert [(m["phone"], m["text"]) for m in received] == [(PATIENT, text) for _h, _b, text in OLD_CALLS]

    for phone in (b"30012", b"abc", b"+57123", b""):
        bad = replay(bridge, {"Content-Type": "application/json"},
                     b'{"organization_id": "23", "phone": "' + phone + b'", "message": "x"}')
        assert bad.status_code == 422 and bad.json()["field"] == "phone", bad.text
    assert len(bridge.inbox("23", direction="out")) == len(OLD_CALLS)


def test_the_default_region_is_set_per_session(bridge):
    resp = bridge.client.post("/api/start-session", json={"organization_id": "mx1", "default_region": "mx"})
    assert resp.json()["default_region"] == "MX"
    bridge.wait_status("mx1", "qr_ready")
    httpx.get(bridge.client.get("/api/qr/mx1").json()["qr_text"], timeout=10)
    bridge.wait_status("mx1", "connected")
    assert bridge.send("mx1", "55 1234 5678").status_code == 200
    assert bridge.inbox("mx1")[-1]["phone"] == "+525512345678"
    assert bridge.send("mx1", "+573001234567").status_code == 200  # E.164 from anywhere still goes
    bad = bridge.client.post("/api/start-session", json={"organization_id": "x1", "default_region": "ZZ"})
    assert bad.status_code == 422 and bad.json()["field"] == "default_region"
    # The region survives a restart.
    bridge.restart()
    assert bridge.wait_status("mx1", "connected")["default_region"] == "MX"


def test_the_old_setting_names_are_aliases_and_the_new_ones_win(make_bridge):
    old = make_bridge(start=False)
    old.env["API_KEY"] = old.env.pop("BRIDGE_API_KEY")
    old.env["PORT"] = old.env.pop("BRIDGE_PORT")
    old.start()
    assert old.client.get("/api/status/1").status_code == 200
    assert old.anon.get("/api/status/1").status_code == 401

    both = make_bridge(start=False)
    both.env.update({"API_KEY": "the-old-servers-key", "PORT": "1"})
    both.start()  # would fail to bind port 1 if PORT won
    assert both.client.get("/api/status/1").status_code == 200
    assert both.anon.get("/api/status/1", headers={"X-API-Key": "the-old-servers-key"}).status_code == 401
