"""The `cloud` engine of the real bridge process against a local Graph API server (Meta's shapes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3

import pytest

from .conftest import wait_until
from .graph_server import graph_fixture, status_error  # noqa: F401 - the `graph` fixture

PATIENT = "+573001234567"
TOKEN = "EAAG" + "x" * 60
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "optica-verify-7f3a"
PHONE_NUMBER_ID = "106540352242922"


@pytest.fixture
def account(graph):
    return graph.add_account(phone_number_id=PHONE_NUMBER_ID, token=TOKEN, app_secret=APP_SECRET,
                             display="+57 601 5550100", waba_id="102290129340398")


@pytest.fixture
def cloud_bridge(make_bridge, receiver, graph, account):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_GRAPH_API_URL": graph.url,
                          "BRIDGE_CREDENTIALS_KEY": "credentials-key-for-tests", "BRIDGE_CLOUD_INFO_REFRESH_S": "0"})
    graph.webhook_url = f"{bridge.url}/webhooks/whatsapp"
    return bridge


def credentials(org="7", **overrides):
    return {"organization_id": org, "phone_number_id": PHONE_NUMBER_ID, "waba_id": "102290129340398",
            "access_token": TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, **overrides}


def connect(bridge, org="7"):
    resp = bridge.client.post("/api/cloud/credentials", json=credentials(org))
    assert resp.status_code == 200, resp.text
    return bridge.wait_status(org, "connected")


def template(**overrides):
    return {"name": "recordatorio_cita", "language": "es",
            "parameters": [{"text": "Valentina"}, {"text": "martes 9 de diciembre"}, {"text": "10:00"}],
            "quick_replies": True, **overrides}


BUTTONS = [{"id": "confirm:41", "title": "Confirmar"}, {"id": "cancel:41", "title": "Cancelar"},
           {"id": "callback:41", "title": "Llamarme"}]


def statuses_of(receiver, message_id):
    return [e["data"] for e in receiver.of("message.status") if e["data"]["message_id"] == message_id]


def test_credentials_are_checked_with_meta_and_the_session_has_no_qr(cloud_bridge, graph):
    wrong_token = cloud_bridge.client.post("/api/cloud/credentials", json=credentials(access_token="EAAG" + "y" * 40))
    assert wrong_token.status_code == 422 and wrong_token.json()["field"] == "access_token"
    assert "190" in wrong_token.json()["error_code"]
    unknown = cloud_bridge.client.post("/api/cloud/credentials", json=credentials(phone_number_id="999999999"))
    assert unknown.status_code == 422 and unknown.json()["field"] == "phone_number_id"
    missing = cloud_bridge.client.post("/api/cloud/credentials", json={"organization_id": "7", "waba_id": "1"})
    assert missing.status_code == 422 and missing.json()["field"] == "phone_number_id"
    assert cloud_bridge.status("7")["status"] == "disconnected"

    status = connect(cloud_bridge)
    assert status["engine"] == "cloud"
    assert status["phone_number"] == "+576015550100"
    assert status["has_qr"] is False
    assert status["capabilities"]["qr"] is False and status["capabilities"]["pairing_code"] is False
    assert status["capabilities"]["credentials"] is True
    assert status["quality_rating"] == "GREEN" and status["messaging_limit_tier"] == "TIER_250"
    assert status["webhook_url"].endswith("/webhooks/whatsapp")
    assert TOKEN not in str(status) and APP_SECRET not in str(status) and VERIFY_TOKEN not in str(status)
    assert cloud_bridge.client.get("/api/qr/7").status_code == 404
    code = cloud_bridge.client.post("/api/pairing-code", json={"organization_id": "7", "phone": PATIENT})
    assert code.status_code == 409

    # Stored encrypted, never logged; after a restart the session is connected again by itself.
    cloud_bridge.restart()
    assert cloud_bridge.wait_status("7", "connected")["phone_number"] == "+576015550100"
    raw = (cloud_bridge.data_dir / "cloud.sqlite3").read_bytes()
    for secret in (TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret.encode() not in raw
        assert secret not in cloud_bridge.log_path.read_text()


def test_a_phone_number_id_belongs_to_one_organization_and_its_ratings_follow_meta(cloud_bridge, account):
    connect(cloud_bridge, "7")
    taken = cloud_bridge.client.post("/api/cloud/credentials", json=credentials("8"))
    assert taken.status_code == 409 and taken.json()["field"] == "phone_number_id"
    assert cloud_bridge.status("8")["status"] == "disconnected"
    account.quality_rating, account.messaging_limit_tier = "YELLOW", "TIER_2K"
    status = cloud_bridge.status("7")
    assert (status["quality_rating"], status["messaging_limit_tier"]) == ("YELLOW", "TIER_2K")


def test_meta_subscription_handshake(cloud_bridge):
    connect(cloud_bridge)
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    ok = cloud_bridge.anon.get("/webhooks/whatsapp", params=query)
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = cloud_bridge.anon.get("/webhooks/whatsapp", params={**query, "hub.verify_token": "meatyhamhock"})
    assert wrong.status_code == 403 and wrong.json()["field"] == "hub.verify_token"
    missing = cloud_bridge.anon.get("/webhooks/whatsapp", params={"hub.mode": "subscribe"})
    assert missing.status_code == 400


def test_unsigned_tampered_or_unknown_webhooks_are_refused_and_nothing_is_emitted(cloud_bridge, graph, account,
                                                                                   receiver):
    connect(cloud_bridge)
    payload = graph.user_message(account, PATIENT, {"type": "text", "text": {"body": "Hola"}})
    assert graph.post(payload, None).status_code == 401
    assert graph.post(payload, "not-the-app-secret-at-all").status_code == 401
    assert graph.post(payload, APP_SECRET, signature="sha256=" + "0" * 64).status_code == 401
    signed_then_changed = graph.post(payload, APP_SECRET)
    assert signed_then_changed.status_code == 200  # the genuine one, for contrast
    tampered = graph.user_message(account, PATIENT, {"type": "text", "text": {"body": "Cancelar todo"}})
    good = json.dumps(tampered).encode()
    sig = "sha256=" + hmac.new(APP_SECRET.encode(), good, hashlib.sha256).hexdigest()
    assert graph.post(good.replace(b"Cancelar todo", b"Confirmo todo"), None, signature=sig).status_code == 401
    other = graph.add_account(phone_number_id="200000000000001", token=TOKEN, app_secret=APP_SECRET,
                              display="+57 601 5550199", waba_id="1")
    unknown = graph.post(graph.user_message(other, PATIENT, {"type": "text", "text": {"body": "Hola"}}), APP_SECRET)
    assert unknown.status_code == 404 and unknown.json()["field"] == "phone_number_id"
    assert graph.post(b"{not json", APP_SECRET).status_code == 400
    # A template review names no phone number: accepted when signed by the app (Meta would retry a 4xx).
    review = {"object": "whatsapp_business_account", "entry": [{"id": account.waba_id, "changes": [{
        "field": "message_template_status_update",
        "value": {"event": "APPROVED", "message_template_id": 1, "message_template_name": "recordatorio_cita",
                  "message_template_language": "es", "reason": "NONE"}}]}]}
    assert graph.post(review, APP_SECRET).status_code == 200
    assert graph.post(review, "some-other-apps-secret-000000").status_code == 401
    wait_until(lambda: receiver.of("message.inbound", "7"), message="the genuine message")
    texts = [e["data"]["text"] for e in receiver.of("message.inbound", "7")]
    assert texts == ["Hola"]


def test_a_free_text_outside_the_window_is_refused_and_nothing_reaches_meta(cloud_bridge, graph):
    connect(cloud_bridge)
    resp = cloud_bridge.send("7", PATIENT, "¿Sigue en pie su cita?")
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == "template" and resp.json()["error_code"] == "outside_window"
    assert "24" in resp.json()["error"]
    assert graph.sent == []


def test_reminder_template_reply_and_statuses_in_any_order(cloud_bridge, graph, account, receiver):
    connect(cloud_bridge)
    resp = cloud_bridge.send("7", "3001234567", "Hola Valentina, su cita es el martes a las 10:00",
                             client_message_id="reminder-41", buttons=BUTTONS, template=template())
    assert resp.status_code == 200, resp.text
    message_id = resp.json()["message_id"]
    sent = graph.sent[-1]
    assert sent["to"] == PATIENT and sent["type"] == "template"
    assert sent["biz_opaque_callback_data"] == message_id
    assert sent["template"]["name"] == "recordatorio_cita" and sent["template"]["language"] == {"code": "es"}
    body, *buttons = sent["template"]["components"]
    assert body == {"type": "body", "parameters": [{"type": "text", "text": "Valentina"},
                                                   {"type": "text", "text": "martes 9 de diciembre"},
                                                   {"type": "text", "text": "10:00"}]}
    assert [(b["sub_type"], b["index"], b["parameters"][0]["payload"]) for b in buttons] == [
        ("quick_reply", "0", "confirm:41"), ("quick_reply", "1", "cancel:41"), ("quick_reply", "2", "callback:41")]

    # Meta delivers out of order and more than once: read before delivered, then both again.
    for status in ("sent", "read", "delivered", "read", "sent"):
        assert graph.post(graph.status(account, sent, status), APP_SECRET).status_code == 200
    wait_until(lambda: any(s["status"] == "read" for s in statuses_of(receiver, message_id)), message="read")
    assert [s["status"] for s in statuses_of(receiver, message_id)] == ["sent", "read"]

    # The patient taps the template's quick-reply button; Meta sends it twice.
    tap = graph.user_message(account, PATIENT, {"type": "button", "context": {"from": "576015550100",
                                                                              "id": sent["wamid"]},
                                                "button": {"payload": "confirm:41", "text": "Confirmar"}})
    assert graph.post(tap, APP_SECRET).status_code == 200
    assert graph.post(tap, APP_SECRET).status_code == 200
    event = receiver.wait_for(lambda e: e["type"] == "message.inbound", message="the tap")["data"]
    assert event["button_id"] == "confirm:41" and event["text"] == "Confirmar"
    assert event["from"] == PATIENT and event["push_name"] == "Valentina"
    assert event["reply_to"] == message_id  # the quoted reminder, by the bridge's own id
    assert event["message_id"] == tap["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    graph.post(graph.user_message(account, PATIENT, {"type": "text", "text": {"body": "Gracias"}}), APP_SECRET)
    wait_until(lambda: len(receiver.of("message.inbound", "7")) == 2, message="the second message")
    assert [e["data"]["text"] for e in receiver.of("message.inbound", "7")] == ["Confirmar", "Gracias"]


def test_inside_the_window_text_buttons_and_lists_are_sent(cloud_bridge, graph, account, receiver):
    connect(cloud_bridge)
    graph.post(graph.user_message(account, PATIENT, {"type": "text", "text": {"body": "Quiero otra hora"}}),
               APP_SECRET)
    receiver.wait_for(lambda e: e["type"] == "message.inbound", message="the patient's message")

    assert cloud_bridge.send("7", PATIENT, "Claro 😊").status_code == 200
    assert graph.sent[-1]["type"] == "text" and graph.sent[-1]["text"]["body"] == "Claro 😊"

    assert cloud_bridge.send("7", PATIENT, "¿Confirma?", buttons=BUTTONS[:2]).status_code == 200
    interactive = graph.sent[-1]["interactive"]
    assert interactive["type"] == "button" and interactive["body"] == {"text": "¿Confirma?"}
    assert [b["reply"] for b in interactive["action"]["buttons"]] == BUTTONS[:2]

    slots = {"button": "Ver horas", "sections": [{"title": "Jueves", "rows": [
        {"id": "slot:0930", "title": "09:30", "description": "Dr. Ruiz"}, {"id": "slot:1100", "title": "11:00"}]}]}
    assert cloud_bridge.send("7", PATIENT, "Elija una hora", list=slots).status_code == 200
    listed = graph.sent[-1]["interactive"]
    assert listed["type"] == "list" and listed["action"]["button"] == "Ver horas"
    assert listed["action"]["sections"][0]["rows"][1] == {"id": "slot:1100", "title": "11:00"}

    pick = graph.user_message(account, PATIENT, {"type": "interactive", "interactive": {
        "type": "list_reply", "list_reply": {"id": "slot:1100", "title": "11:00"}}})
    graph.post(pick, APP_SECRET)
    event = receiver.wait_for(lambda e: e["type"] == "message.inbound" and e["data"]["button_id"], message="pick")
    assert event["data"]["button_id"] == "slot:1100"

    too_many = {"button": "Ver", "sections": [{"rows": [{"id": str(i), "title": str(i)} for i in range(11)]}]}
    refused = cloud_bridge.send("7", PATIENT, "x", list=too_many)
    assert refused.status_code == 422 and refused.json()["field"] == "list"


@pytest.mark.parametrize("code", [131047, 131026, 130429, 131056, 368])
def test_a_failed_status_carries_metas_code_and_title(cloud_bridge, graph, account, receiver, code):
    connect(cloud_bridge)
    resp = cloud_bridge.send("7", PATIENT, "Recordatorio", template=template(quick_replies=False))
    message_id = resp.json()["message_id"]
    sent = graph.sent[-1]
    graph.post(graph.status(account, sent, "sent"), APP_SECRET)
    graph.post(graph.status(account, sent, "failed", errors=[status_error(code)]), APP_SECRET)
    failed = receiver.wait_for(lambda e: e["type"] == "message.status" and e["data"]["status"] == "failed",
                               message="failed status")["data"]
    assert failed["message_id"] == message_id
    assert failed["error_code"] == str(code)
    assert f"({code})" in failed["error"]
    # A late "delivered" for the same message does not bring it back.
    graph.post(graph.status(account, sent, "delivered"), APP_SECRET)
    graph.post(graph.status(account, sent, "failed", errors=[status_error(code)]), APP_SECRET)
    graph.post(graph.user_message(account, PATIENT, {"type": "text", "text": {"body": "fin"}}), APP_SECRET)
    receiver.wait_for(lambda e: e["type"] == "message.inbound", message="a later message")
    assert [s["status"] for s in statuses_of(receiver, message_id)] == ["sent", "failed"]


def test_a_status_that_arrives_before_the_sends_own_answer_is_kept(cloud_bridge, graph, account, receiver):
    connect(cloud_bridge)
    graph.before_answer = lambda sent: graph.post(graph.status(account, sent, "delivered"), APP_SECRET)
    resp = cloud_bridge.send("7", PATIENT, "Recordatorio", template=template())
    assert resp.status_code == 200
    message_id = resp.json()["message_id"]
    wait_until(lambda: len(statuses_of(receiver, message_id)) == 2, message="both statuses")
    assert {s["status"] for s in statuses_of(receiver, message_id)} == {"delivered", "sent"}


def test_metas_synchronous_errors(cloud_bridge, graph):
    connect(cloud_bridge)
    graph.fail_next.append((400, 131026))
    undeliverable = cloud_bridge.send("7", PATIENT, "x", template=template(), client_message_id="a")
    assert undeliverable.status_code == 422 and undeliverable.json()["error_code"] == "131026"
    assert undeliverable.json()["field"] == "phone"
    missing = cloud_bridge.send("7", PATIENT, "x", template=template(name="no_such_template"))
    assert missing.status_code == 422 and missing.json()["error_code"] == "132001"
    graph.fail_next.append((429, 130429))
    throttled = cloud_bridge.send("7", PATIENT, "x", template=template(), client_message_id="b")
    assert throttled.status_code == 502 and throttled.json()["error_code"] == "130429"
    # Worth retrying: the same client_message_id goes out once Meta accepts it.
    again = cloud_bridge.send("7", PATIENT, "x", template=template(), client_message_id="b")
    assert again.status_code == 200
    assert cloud_bridge.send("7", PATIENT, "x", template=template(), client_message_id="b").json() == again.json()
    assert len(graph.sent) == 1


def test_logout_forgets_the_account(cloud_bridge, graph, account):
    connect(cloud_bridge)
    assert cloud_bridge.client.post("/api/logout", json={"organization_id": "7"}).json()["status"] == "logged_out"
    payload = graph.user_message(account, PATIENT, {"type": "text", "text": {"body": "Hola"}})
    assert graph.post(payload, APP_SECRET).status_code == 404
    with sqlite3.connect(cloud_bridge.data_dir / "cloud.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM cloud_accounts").fetchone()[0] == 0
    query = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": VERIFY_TOKEN}
    assert cloud_bridge.anon.get("/webhooks/whatsapp", params=query).status_code == 403


def test_media_both_ways_through_the_graph_api(cloud_bridge, graph, account, receiver):
    from .test_media import OGG_VOICE, PDF, media, png

    connect(cloud_bridge)
    photo = png("blue")
    photo_id = graph.user_media(account, photo, "image/png")
    voice_id = graph.user_media(account, OGG_VOICE, "audio/ogg")
    graph.post(graph.user_message(account, PATIENT, {"type": "image", "image": {
        "id": photo_id, "mime_type": "image/png", "sha256": "x", "caption": "Mi fórmula anterior"}}), APP_SECRET)
    voice = graph.user_message(account, PATIENT, {"type": "audio", "audio": {
        "id": voice_id, "mime_type": "audio/ogg; codecs=opus", "sha256": "y", "voice": True}})
    graph.post(voice, APP_SECRET)
    graph.post(voice, APP_SECRET)  # Meta's redelivery
    got = wait_until(lambda: len(e := receiver.of("message.inbound", "7")) == 2 and e, message="two media messages")
    image, audio = (e["data"] for e in got)
    assert image["text"] == "Mi fórmula anterior" and image["media"]["kind"] == "image"
    assert audio["media"]["kind"] == "audio" and audio["media"]["voice"] is True
    fetched = cloud_bridge.client.get(f"/api/media/7/{image['media']['id']}")
    assert fetched.status_code == 200 and fetched.content == photo

    # A file whose bytes are not what Meta said reaches the clinic as a refusal, nothing stored.
    fake_id = graph.user_media(account, b"MZ\x90\x00 not a png", "image/png")
    graph.post(graph.user_message(account, PATIENT, {"type": "image", "image": {"id": fake_id,
                                                                                "mime_type": "image/png"}}),
               APP_SECRET)
    refused = wait_until(lambda: len(e := receiver.of("message.inbound", "7")) == 3 and e[-1], message="refusal")
    assert refused["data"]["media"] is None and refused["data"]["media_rejected"]["kind"] == "image"

    # The patient wrote, so the window is open: staff send the prescription as a PDF.
    resp = cloud_bridge.client.post("/api/send-message", json={
        "organization_id": "7", "phone": PATIENT, "message": "Su fórmula óptica", "client_message_id": "rx-9",
        "media": media(PDF, "document", "application/pdf", "formula.pdf")})
    assert resp.status_code == 200, resp.text
    sent = graph.sent[-1]
    assert sent["type"] == "document"
    assert sent["document"]["caption"] == "Su fórmula óptica" and sent["document"]["filename"] == "formula.pdf"
    uploaded = graph.media[sent["document"]["id"]]
    assert uploaded["data"] == PDF and uploaded["mime_type"] == "application/pdf"
