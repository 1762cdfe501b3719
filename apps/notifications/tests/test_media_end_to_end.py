"""Files both ways through the real bridge (sandbox), the real worker and PostgreSQL."""

import base64
import datetime as dt

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.notifications.models import AttachmentKind, Message, MessageAttachment, MessageStatus
from apps.notifications.tests.test_media import png
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory
from tests.processes import API_KEY, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

OGG_VOICE = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01" + b"\x00" * 30


def phone_file(bridge, organization_id, media_id: str) -> bytes:
    resp = requests.get(f"{bridge.url}/sandbox/api/{organization_id}/media/{media_id}",
                        headers={"X-API-Key": API_KEY}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.content


def test_staff_send_the_prescription_pdf_and_a_photo_and_the_phone_gets_both(
        staff_client, organization, optometrist, live_bridge, make_worker):
    live_bridge.link(organization.pk)
    make_worker(bridge_url=live_bridge.url)
    patient = PatientFactory(consenting=True, organization=organization, phone="+573001234567")
    rx = PrescriptionFactory(patient=patient, status="final", prescriber=optometrist, issued_on=dt.date(2026, 11, 20),
                             finalized_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))

    assert staff_client.post(reverse("prescription-send-whatsapp", args=[rx.pk])).status_code == 302
    pdf = Message.objects.get(patient=patient)
    wait_until(lambda: Message.objects.get(pk=pdf.pk).status == MessageStatus.READ, message="the PDF read")
    photo = png("green")
    resp = staff_client.post(reverse("patient-whatsapp-send-file", args=[patient.pk]),
                             {"content": SimpleUploadedFile("montura.png", photo, content_type="image/png")})
    assert resp.status_code == 200
    wait_until(lambda: len(live_bridge.phone_inbox(organization.pk, patient.phone)) == 2, message="both files")

    document, image = live_bridge.phone_inbox(organization.pk, patient.phone)
    assert document["media"]["kind"] == "document" and document["media"]["mime_type"] == "application/pdf"
    assert organization.name in document["text"]
    with pdf.attachment.file.open("rb") as handle:
        assert phone_file(live_bridge, organization.pk, document["media"]["id"]) == handle.read()
    assert image["media"]["kind"] == "image" and image["text"] == ""
    assert phone_file(live_bridge, organization.pk, image["media"]["id"]) == photo


def test_a_patient_photo_and_voice_note_arrive_in_the_inbox(staff_client, organization, live_bridge, make_worker):
    live_bridge.link(organization.pk)
    make_worker(bridge_url=live_bridge.url)
    patient = PatientFactory(consenting=True, organization=organization, phone="+573001234567", first_name="Marta")
    photo = png("blue")
    live_bridge.reply(organization.pk, patient.phone, text="¿Esta montura?", media={
        "kind": "image", "mime_type": "image/png", "filename": "montura.png",
        "data": base64.b64encode(photo).decode()})
    live_bridge.reply(organization.pk, patient.phone, media={
        "kind": "audio", "mime_type": "audio/ogg", "data": base64.b64encode(OGG_VOICE).decode(), "voice": True})

    def fetched():
        rows = MessageAttachment.objects.filter(organization=organization).exclude(file="")
        return rows.count() == 2 and list(rows.order_by("pk"))

    image, voice = wait_until(fetched, message="both files fetched by the worker")
    assert (image.kind, image.message.body, image.message.patient) == (AttachmentKind.IMAGE, "¿Esta montura?",
                                                                       patient)
    assert (voice.kind, voice.voice, voice.mime_type) == (AttachmentKind.AUDIO, True, "audio/ogg")
    assert str(organization.pk) == image.file.name.split("/")[0]

    html = staff_client.get(reverse("message-list")).content.decode()
    image_url = reverse("message-attachment", args=[image.pk])
    assert f'<img src="{image_url}"' in html and f'id="attachment-media-{voice.pk}"' in html
    resp = staff_client.get(image_url)
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == photo
