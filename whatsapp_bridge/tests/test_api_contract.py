"""Bad input, authentication, health, metrics and the OpenAPI schema of the real bridge."""

from __future__ import annotations

import subprocess
import sys

import httpx

from .conftest import API_KEY, REPO_ROOT

PATIENT = "+573001234567"


def test_every_keyed_route_refuses_a_missing_or_wrong_key(bridge):
    routes = [
        ("POST", "/api/start-session", {"organization_id": "1"}),
        ("GET", "/api/qr/1", None),
        ("GET", "/api/status/1", None),
        ("POST", "/api/send-message", {"organization_id": "1", "phone": PATIENT, "message": "x"}),
        ("POST", "/api/pairing-code", {"organization_id": "1", "phone": PATIENT}),
        ("POST", "/api/logout", {"organization_id": "1"}),
        ("GET", "/metrics", None),
        ("GET", "/sandbox/api/1/messages", None),
        ("POST", "/sandbox/api/1/reply", {"phone": PATIENT, "text": "x"}),
        ("POST", "/sandbox/api/1/disconnect", None),
        ("POST", "/sandbox/api/1/logout", None),
    ]
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY + "x"}):
        for method, path, body in routes:
            resp = bridge.anon.request(method, path, json=body, headers=headers)
            assert resp.status_code == 401, (method, path, resp.text)
            assert "error" in resp.json()
    assert bridge.anon.post("/api/send-message", content=b"{not json", headers={}).status_code == 401
    assert bridge.client.get("/api/status/1").status_code == 200


def test_unknown_organization_is_404(bridge):
    for method, path, body in [
        ("GET", "/api/qr/404", None),
        ("POST", "/api/send-message", {"organization_id": "404", "phone": PATIENT, "message": "x"}),
        ("POST", "/api/logout", {"organization_id": "404"}),
        ("POST", "/api/pairing-code", {"organization_id": "404", "phone": PATIENT}),
        ("GET", "/sandbox/api/404/messages", None),
        ("POST", "/sandbox/api/404/reply", {"phone": PATIENT, "text": "hola"}),
        ("POST", "/sandbox/api/404/disconnect", None),
        ("POST", "/sandbox/api/404/logout", None),
    ]:
        resp = bridge.client.request(method, path, json=body)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.json()["field"] == "organization_id"


def test_bad_send_input_names_the_field_and_sends_nothing(bridge):
    bridge.link("3")

    def field_of(body=None, content=None, headers=None):
        resp = bridge.client.post("/api/send-message", json=body, content=content, headers=headers)
        assert 400 <= resp.status_code < 500, resp.text
        return resp.status_code, resp.json()["field"]

    base = {"organization_id": "3", "phone": PATIENT, "message": "Hola"}
    for phone in ("+57123", "123", "not a phone", "", "+5730012345678901", "57300123456789"):
        assert field_of({**base, "phone": phone}) == (422, "phone")
    assert field_of({k: v for k, v in base.items() if k != "phone"}) == (422, "phone")
    assert field_of({**base, "message": ""}) == (422, "message")
    assert field_of({**base, "message": "   "}) == (422, "message")
    assert field_of({**base, "message": "x" * 4097}) == (422, "message")
    assert field_of({**base, "organization_id": ""}) == (422, "organization_id")
    assert field_of({**base, "organization_id": "a/b"}) == (422, "organization_id")
    four = [{"id": str(i), "title": f"B{i}"} for i in range(4)]
    assert field_of({**base, "buttons": four}) == (422, "buttons")
    assert field_of({**base, "buttons": [{"id": "a", "title": "x" * 21}]}) == (422, "buttons")
    assert field_of({**base, "buttons": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]}) == (422, "buttons")
    assert field_of(content=b'{"organization_id": "3",', headers={"content-type": "application/json"}) == (
        400,
        "body",
    )
    huge = b'{"organization_id": "3", "phone": "+573001234567", "message": "' + b"x" * 70_000 + b'"}'
    assert field_of(content=huge, headers={"content-type": "application/json"}) == (413, "body")
    assert bridge.inbox("3") == []


def test_send_before_linking_is_refused(bridge):
    bridge.client.post("/api/start-session", json={"organization_id": "4"})
    bridge.wait_status("4", "qr_ready")
    resp = bridge.send("4")
    assert resp.status_code == 409
    assert resp.json()["session_status"] == "qr_ready" and resp.json()["field"] == "organization_id"
    bad_engine = bridge.client.post("/api/start-session", json={"organization_id": "4", "engine": "telegram"})
    assert bad_engine.status_code == 422 and bad_engine.json()["field"] == "engine"


def test_health_metrics_and_openapi(bridge):
    bridge.link("9")
    bridge.send("9", client_message_id="h1")
    health = bridge.anon.get("/api/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["sessions"]["connected"] == 1
    assert set(body["sessions"]) == {
        "disconnected",
        "connecting",
        "qr_ready",
        "connected",
        "reconnecting",
        "logged_out",
        "failed",
    }
    assert API_KEY not in health.text

    metrics = bridge.client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'bridge_sessions{status="connected"} 1.0' in text
    assert "bridge_event_queue_depth" in text
    assert 'bridge_sends_total{engine="sandbox",outcome="sent"} 1.0' in text
    assert "bridge_send_latency_seconds_count" in text
    bearer = bridge.anon.get("/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
    assert bearer.status_code == 200

    schema = bridge.anon.get("/openapi.json").json()
    for path in (
        "/api/start-session",
        "/api/qr/{organization_id}",
        "/api/status/{organization_id}",
        "/api/send-message",
        "/api/logout",
        "/api/health",
        "/api/pairing-code",
    ):
        assert path in schema["paths"], path

    page = bridge.anon.get("/sandbox/")
    assert page.status_code == 200 and "<script>" in page.text and "http" not in page.text.split("<script>")[0]


def test_sandbox_routes_absent_when_disabled(make_bridge):
    bridge = make_bridge({"BRIDGE_SANDBOX": "0", "BRIDGE_DEFAULT_ENGINE": "whatsmeow"})
    assert bridge.anon.get("/sandbox/").status_code == 404
    assert bridge.client.get("/sandbox/api/1/messages").status_code == 404
    resp = bridge.client.post("/api/start-session", json={"organization_id": "1", "engine": "sandbox"})
    assert resp.status_code == 400 and resp.json()["field"] == "engine"


def test_refuses_to_start_without_an_api_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BRIDGE_DATA_DIR": str(tmp_path), "BRIDGE_PORT": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "whatsapp_bridge"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode != 0
    assert "BRIDGE_API_KEY" in proc.stderr


def test_wrong_phone_on_scan_link_is_refused(bridge):
    bridge.client.post("/api/start-session", json={"organization_id": "14"})
    bridge.wait_status("14", "qr_ready")
    qr = bridge.client.get("/api/qr/14").json()
    assert httpx.get(qr["qr_text"], params={"phone": "123"}).status_code == 400
    assert bridge.status("14")["status"] == "qr_ready"


def test_a_method_a_route_does_not_take_is_405_with_allow(bridge):
    resp = bridge.client.request("TRACE", "/api/send-message")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "POST"
    assert resp.json() == {"error": "Method Not Allowed"}


def test_an_unreadable_body_is_400_naming_the_body(bridge):
    resp = bridge.client.post(
        "/api/start-session", content=b'{"organization_id": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["field"] == "body"


def test_bodies_are_read_as_their_schema_says(bridge):
    # A number sent as text, or false for a number, is refused naming the field instead of converted.
    bridge.client.post("/api/start-session", json={"organization_id": "31"})
    resp = bridge.client.post("/sandbox/api/31/disconnect", json={"seconds": False})
    assert resp.status_code == 422 and resp.json()["field"] == "seconds"
    resp = bridge.client.post("/api/send-message", json={"organization_id": "31", "phone": "+573001112233",
                                                         "message": " "})
    assert resp.status_code == 422 and resp.json()["field"] == "message"
    # Organization ids may still come as numbers, as callers of the Node server sent them.
    assert bridge.client.post("/api/start-session", json={"organization_id": 31}).status_code == 200


def test_the_schema_documents_every_refusal_of_a_route(bridge):
    schema = bridge.anon.get("/openapi.json").json()
    send = schema["paths"]["/api/send-message"]["post"]["responses"]
    assert {"200", "202", "400", "401", "404", "409", "413", "422", "502"} <= set(send)
    assert send["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    status = schema["paths"]["/api/status/{organization_id}"]["get"]["responses"]
    assert set(status) == {"200", "401", "404", "422"}
    assert status["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    scan = schema["paths"]["/sandbox/scan/{token}"]["get"]["responses"]
    assert {"400", "404", "410"} <= set(scan) and "text/html" in scan["410"]["content"]


def test_engines_can_be_limited_to_the_sandbox(make_bridge):
    bridge = make_bridge({"BRIDGE_ENGINES": "sandbox"})
    resp = bridge.client.post("/api/start-session", json={"organization_id": "1", "engine": "whatsmeow"})
    assert resp.status_code == 400 and resp.json()["field"] == "engine"
