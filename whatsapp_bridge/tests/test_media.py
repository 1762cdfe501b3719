"""Media both ways through the real bridge process and the sandbox phones."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image

from .conftest import wait_until

PATIENT = "+573001234567"


def png(color: str = "red", size: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
OGG_VOICE = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01" + b"\x00" * 30


def media(data: bytes, kind: str, mime_type: str, filename: str | None = None, **extra) -> dict:
    body = {"kind": kind, "mime_type": mime_type, "data": base64.b64encode(data).decode(), **extra}
    if filename:
        body["filename"] = filename
    return body


def send_media(bridge, org: str, file: dict, **extra):
    return bridge.client.post(
        "/api/send-message", json={"organization_id": org, "phone": PATIENT, "media": file, **extra}
    )


def test_staff_send_a_pdf_with_caption_and_the_phone_receives_it(bridge, receiver):
    bridge.link("21")
    file = media(PDF, "document", "application/pdf", "fórmula.pdf")
    resp = send_media(bridge, "21", file, message="Su fórmula óptica", client_message_id="rx-1")
    assert resp.status_code == 200, resp.text
    [received] = bridge.inbox("21")
    assert received["text"] == "Su fórmula óptica"
    assert received["media"]["kind"] == "document" and received["media"]["mime_type"] == "application/pdf"
    assert received["media"]["filename"] == "fórmula.pdf" and received["media"]["size"] == len(PDF)
    held = bridge.client.get(f"/sandbox/api/21/media/{received['media']['id']}")
    assert held.status_code == 200 and held.content == PDF
    assert held.headers["content-type"] == "application/pdf"
    assert bridge.anon.get(f"/sandbox/api/21/media/{received['media']['id']}").status_code == 401
    receiver.wait_for(lambda e: e["type"] == "message.status" and e["data"]["status"] == "read", message="read")

    again = send_media(bridge, "21", media(PDF, "document", "application/pdf"), client_message_id="rx-1")
    assert again.json()["message_id"] == resp.json()["message_id"]
    assert len(bridge.inbox("21")) == 1


def test_an_image_without_caption_is_sent_and_the_old_text_send_is_unchanged(bridge):
    bridge.link("22")
    image = png()
    resp = send_media(bridge, "22", media(image, "image", "image/png"))
    assert resp.status_code == 200, resp.text
    assert bridge.send("22", message="Hola prueba").status_code == 200
    image_row, text_row = bridge.inbox("22")
    assert image_row["text"] == "" and image_row["media"]["kind"] == "image"
    assert bridge.client.get(f"/sandbox/api/22/media/{image_row['media']['id']}").content == image
    assert text_row["text"] == "Hola prueba" and text_row["media"] is None


def test_a_patient_image_and_voice_note_reach_django_and_are_fetched_once_keyed(bridge, receiver):
    bridge.link("23")
    image = png("blue")
    for body in (
        {"phone": PATIENT, "text": "Mire mi receta", "media": media(image, "image", "image/png", "receta.png")},
        {"phone": PATIENT, "media": media(OGG_VOICE, "audio", "audio/ogg; codecs=opus", voice=True)},
    ):
        assert bridge.client.post("/sandbox/api/23/reply", json=body).status_code == 200
    inbound = wait_until(lambda: len(got := receiver.of("message.inbound", "23")) == 2 and got, message="inbound")
    photo, voice = (e["data"] for e in inbound)
    assert photo["text"] == "Mire mi receta"
    assert {k: photo["media"][k] for k in ("kind", "mime_type", "filename", "size")} == {
        "kind": "image",
        "mime_type": "image/png",
        "filename": "receta.png",
        "size": len(image),
    }
    assert voice["text"] == "" and voice["media"]["kind"] == "audio" and voice["media"]["voice"] is True
    assert voice["media"]["mime_type"] == "audio/ogg"

    fetched = bridge.client.get(f"/api/media/23/{photo['media']['id']}")
    assert fetched.status_code == 200 and fetched.content == image
    assert fetched.headers["content-type"] == "image/png"
    assert json.loads(fetched.headers["x-media"])["sha256"] == photo["media"]["sha256"]
    assert bridge.anon.get(f"/api/media/23/{photo['media']['id']}").status_code == 401

    bridge.link("24", phone="+573009998877")
    other = bridge.client.get(f"/api/media/24/{photo['media']['id']}")
    assert other.status_code == 404 and other.json()["field"] == "media_id"
    assert bridge.client.get("/api/media/23/not-an-id").status_code == 404


def test_a_patient_quoting_a_clinic_message_names_it_in_reply_to(bridge, receiver):
    bridge.link("25")
    sent = bridge.send("25", message="¿Le envío la fórmula?").json()
    [row] = bridge.inbox("25")
    resp = bridge.client.post(
        "/sandbox/api/25/reply", json={"phone": PATIENT, "text": "Sí", "reply_to": row["whatsapp_id"]}
    )
    assert resp.status_code == 200
    event = receiver.wait_for(lambda e: e["type"] == "message.inbound" and e["organization_id"] == "25")
    assert event["data"]["reply_to"] == sent["message_id"]
    bad = bridge.client.post("/sandbox/api/25/reply", json={"phone": PATIENT, "text": "x", "reply_to": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "reply_to"


def test_bad_media_is_refused_naming_the_field_and_nothing_is_stored_or_sent(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_MAX_MEDIA_BYTES": str(200_000)})
    bridge.link("26")

    def refused(body: dict, path: str = "/api/send-message") -> tuple[int, str]:
        resp = bridge.client.post(path, json=body)
        assert 400 <= resp.status_code < 500, resp.text
        return resp.status_code, resp.json()["field"]

    base = {"organization_id": "26", "phone": PATIENT, "message": "x"}
    # A PDF that claims to be a PNG, and an HTML page that claims to be a PDF.
    assert refused({**base, "media": media(PDF, "image", "image/png")}) == (415, "media.data")
    assert refused({**base, "media": media(b"<html><script>", "document", "application/pdf")}) == (415, "media.data")
    assert refused({**base, "media": media(png(), "document", "application/pdf")}) == (415, "media.mime_type")
    assert refused({**base, "media": media(png(), "sticker", "image/png")}) == (422, "media.kind")
    assert refused({**base, "media": {**media(png(), "image", "image/png"), "data": "@@not base64@@"}}) == (
        422,
        "media.data",
    )
    assert refused({**base, "media": {"kind": "image", "data": ""}}) == (422, "media.mime_type")
    assert refused({**base, "media": media(png(), "image", "image/png"), "buttons": [{"id": "a", "title": "A"}]}) == (
        422,
        "buttons",
    )
    big = png(size=600)
    big += b"\x00" * (210_000 - len(big))
    assert refused({**base, "media": media(big, "image", "image/png")}) == (413, "media.data")
    huge = {**base, "media": media(b"\x89PNG" + b"\x00" * 400_000, "image", "image/png")}
    assert refused(huge) == (413, "media.data")
    assert refused({"organization_id": "26", "phone": PATIENT}) == (422, "message")
    assert bridge.inbox("26") == []

    reply = "/sandbox/api/26/reply"
    assert refused({"phone": PATIENT, "media": media(PDF, "audio", "audio/ogg")}, reply) == (415, "media.data")
    assert refused({"phone": PATIENT, "media": media(big, "image", "image/png")}, reply) == (413, "media.data")
    assert bridge.inbox("26", direction="all") == []
    assert not (bridge.data_dir / "media" / "26").exists()
    assert receiver.of("message.inbound", "26") == []
