"""Files by WhatsApp on Django's side: the ledger, the checks, storage and who may see a file."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from apps.common.exceptions import ApplicationError
from apps.notifications.models import AttachmentKind, Message, MessageAttachment, MessageKind, MessageStatus
from apps.notifications.services import message_send_media
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory
from apps.whatsapp.events import events_process

pytestmark = pytest.mark.django_db


def png(color: str = "red", size: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def stored_files(settings) -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] if settings.MEDIA_ROOT.exists() else []


def test_a_file_is_in_the_ledger_and_stored_under_its_clinic_before_the_send_job_runs(
        organization, staff_user, settings, django_capture_on_commit_callbacks):
    patient = PatientFactory(consenting=True, organization=organization)
    with django_capture_on_commit_callbacks() as callbacks:
        message = message_send_media(organization=organization, patient=patient, content=png(),
                                     filename="../../etc/montura roja.png", content_type="image/png",
                                     caption="  Así quedaría la montura  ", sent_by=staff_user)
    message.refresh_from_db()
    assert (message.status, message.body, message.phone, message.sent_by) == (
        MessageStatus.QUEUED, "Así quedaría la montura", patient.phone, staff_user)
    attachment = message.attachment
    assert (attachment.kind, attachment.mime_type, attachment.filename, attachment.size) == (
        AttachmentKind.IMAGE, "image/png", "montura roja.png", len(png()))
    [path] = stored_files(settings)
    assert path.relative_to(settings.MEDIA_ROOT).parts[:2] == (str(organization.pk), "messages")
    assert path.read_bytes() == png()
    assert len(callbacks) == 1  # the send job, only after commit


def test_the_kind_comes_from_the_content_and_a_pdf_is_a_document(organization):
    patient = PatientFactory(consenting=True, organization=organization)
    message = message_send_media(organization=organization, patient=patient, content=PDF, filename="receta.pdf",
                                 content_type="application/octet-stream")
    assert (message.attachment.kind, message.attachment.mime_type) == (AttachmentKind.DOCUMENT, "application/pdf")


@pytest.mark.parametrize(("content", "content_type", "kind"), [
    (b"<html><script>alert(1)</script></html>", "application/pdf", None),  # a web page calling itself a PDF
    (PDF, "image/png", None),  # the declared type is not the content's
    (PDF, "application/pdf", AttachmentKind.IMAGE),  # a PDF is not an image
    (b"", "image/png", None),
])
def test_wrong_content_is_refused_naming_the_file_and_nothing_is_stored(organization, settings, content,
                                                                        content_type, kind):
    patient = PatientFactory(consenting=True, organization=organization)
    with pytest.raises(ApplicationError) as exc:
        message_send_media(organization=organization, patient=patient, content=content, filename="x",
                           content_type=content_type, kind=kind)
    assert exc.value.field == "content"
    assert not Message.objects.exists() and not MessageAttachment.objects.exists()
    assert stored_files(settings) == []


def test_an_oversized_file_is_refused_and_nothing_is_stored(organization, settings):
    settings.WHATSAPP_MEDIA_MAX_BYTES = 1000
    patient = PatientFactory(consenting=True, organization=organization)
    with pytest.raises(ApplicationError, match="1000") as exc:
        message_send_media(organization=organization, patient=patient, content=png() + b"\0" * 2000, filename="big.png",
                           content_type="image/png")
    assert exc.value.field == "content"
    assert not Message.objects.exists() and stored_files(settings) == []


def test_consent_and_stop_are_respected(organization, other_organization):
    stopped = PatientFactory(consenting=True, organization=organization, whatsapp_opted_out=True)
    no_consent = PatientFactory(organization=organization)
    theirs = PatientFactory(consenting=True, organization=other_organization)
    for patient in (stopped, no_consent, theirs):
        with pytest.raises(ApplicationError) as exc:
            message_send_media(organization=organization, patient=patient, content=PDF, filename="r.pdf",
                               content_type="application/pdf")
        assert exc.value.field == "patient"
    assert not Message.objects.exists()


def test_staff_upload_a_file_from_the_patient_page(staff_client, organization):
    patient = PatientFactory(consenting=True, organization=organization)
    resp = staff_client.post(reverse("patient-whatsapp-send-file", args=[patient.pk]), {
        "content": SimpleUploadedFile("foto.png", png(), content_type="image/png"), "caption": "Su montura"})
    assert resp.status_code == 200 and "whatsapp-file-sent" in resp.content.decode()
    message = Message.objects.get(patient=patient)
    assert message.body == "Su montura" and message.attachment.kind == AttachmentKind.IMAGE


def test_a_bad_upload_gets_a_form_error_on_the_file_field(staff_client, organization, settings):
    patient = PatientFactory(consenting=True, organization=organization)
    url = reverse("patient-whatsapp-send-file", args=[patient.pk])
    resp = staff_client.post(url, {"content": SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf",
                                                                 content_type="application/pdf")})
    assert resp.status_code == 400 and 'data-field="content"' in resp.content.decode()
    settings.WHATSAPP_MEDIA_MAX_BYTES = 100
    big = SimpleUploadedFile("big.png", png() + b"\0" * 200, content_type="image/png")
    resp = staff_client.post(url, {"content": big})
    assert resp.status_code == 400 and "100\xa0bytes" in resp.context["form"].errors["content"][0]
    assert not Message.objects.exists() and stored_files(settings) == []


def test_another_clinics_patient_cannot_be_sent_a_file(staff_client, other_organization):
    theirs = PatientFactory(consenting=True, organization=other_organization)
    url = reverse("patient-whatsapp-send-file", args=[theirs.pk])
    assert staff_client.get(url).status_code == 404
    resp = staff_client.post(url, {"content": SimpleUploadedFile("a.png", png(), content_type="image/png")})
    assert resp.status_code == 404 and not Message.objects.exists()


def test_staff_send_the_prescription_pdf(staff_client, organization, optometrist):
    rx = PrescriptionFactory(patient=PatientFactory(consenting=True, organization=organization, first_name="Lucía"),
                             status="final", prescriber=optometrist, issued_on=dt.date(2026, 11, 20),
                             finalized_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC), notes="Uso permanente · 2 años")
    resp = staff_client.post(reverse("prescription-send-whatsapp", args=[rx.pk]))
    assert resp.status_code == 302 and resp.url == reverse("patient-detail", args=[rx.patient.pk])
    message = Message.objects.get(patient=rx.patient)
    assert organization.name in message.body and message.kind == MessageKind.FREE_TEXT
    attachment = message.attachment
    assert (attachment.kind, attachment.mime_type) == (AttachmentKind.DOCUMENT, "application/pdf")
    assert attachment.filename.endswith("2026-11-20.pdf")
    with attachment.file.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_a_draft_or_another_clinics_prescription_is_not_sent(staff_client, organization, other_organization):
    draft = PrescriptionFactory(patient=PatientFactory(consenting=True, organization=organization))
    theirs = PrescriptionFactory(patient=PatientFactory(consenting=True, organization=other_organization))
    assert staff_client.post(reverse("prescription-send-whatsapp", args=[draft.pk])).status_code == 302
    assert staff_client.post(reverse("prescription-send-whatsapp", args=[theirs.pk])).status_code == 404
    assert not Message.objects.exists()


def test_a_file_is_served_only_to_its_own_clinic_after_login(client, staff_client, organization, other_user):
    patient = PatientFactory(consenting=True, organization=organization)
    message = message_send_media(organization=organization, patient=patient, content=png(), filename="a.png",
                                 content_type="image/png")
    url = reverse("message-attachment", args=[message.attachment.pk])
    resp = staff_client.get(url)
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == png()
    assert resp["Content-Type"] == "image/png" and resp["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in staff_client.get(url + "?download=1")["Content-Disposition"]
    staff_client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "login" in anonymous.url
    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_a_document_is_always_downloaded_never_rendered(staff_client, organization):
    patient = PatientFactory(consenting=True, organization=organization)
    message = message_send_media(organization=organization, patient=patient, content=PDF, filename="r.pdf",
                                 content_type="application/pdf")
    resp = staff_client.get(reverse("message-attachment", args=[message.attachment.pk]))
    assert resp["Content-Disposition"].startswith("attachment")


def _inbound(organization, data: dict, event_id: str = "ev-1"):
    base = {"message_id": "3EB0AA", "from": "+573001234567", "text": "", "button_id": None, "push_name": "Ana",
            "timestamp": "2026-12-01T15:00:00Z", "reply_to": None, "media": None}
    return events_process(events=[{"id": event_id, "type": "message.inbound", "organization_id": str(organization.pk),
                                   "timestamp": "2026-12-01T15:00:00Z", "data": {**base, **data}}])


def test_an_inbound_file_waits_in_the_inbox_until_it_is_fetched(staff_client, organization,
                                                                django_capture_on_commit_callbacks):
    PatientFactory(consenting=True, organization=organization, phone="+573001234567")
    media = {"id": "m1", "kind": "image", "mime_type": "image/png", "filename": "foto.png", "size": 70,
             "sha256": "ab", "voice": False}
    with django_capture_on_commit_callbacks() as callbacks:
        _inbound(organization, {"text": "Mi receta", "media": media})
        _inbound(organization, {"text": "Mi receta", "media": media}, event_id="ev-1")  # delivered twice
    inbound = Message.objects.get()
    assert (inbound.attachment.bridge_media_id, inbound.attachment.is_ready) == ("m1", False)
    assert len(callbacks) == 1  # one fetch job
    html = staff_client.get(reverse("message-list")).content.decode()
    assert "Mi receta" in html and f'data-attachment="{inbound.attachment.pk}"' in html
    assert staff_client.get(reverse("message-attachment", args=[inbound.attachment.pk])).status_code == 404


def test_an_inbound_quote_links_the_reply_and_a_refused_file_is_explained(organization):
    sent = MessageFactory(organization=organization, bridge_message_id="bridge-41")
    _inbound(organization, {"text": "Gracias", "reply_to": "bridge-41",
                            "media_rejected": {"kind": "image", "mime_type": "image/png",
                                               "error": "image is larger than 5242880 bytes"}})
    inbound = Message.objects.get(direction="in")
    assert inbound.reply_to == sent
    assert inbound.error_code == "media_rejected" and "larger than" in inbound.error
    assert not MessageAttachment.objects.exists()


def test_another_clinics_inbound_file_is_not_reachable(staff_client, other_organization):
    theirs = MessageFactory(organization=other_organization, direction="in", status="received")
    attachment = MessageAttachment.objects.create(organization=other_organization, message=theirs, kind="image",
                                                  mime_type="image/png", filename="x.png", bridge_media_id="m9")
    attachment.file.save("x.png", io.BytesIO(png()))
    assert staff_client.get(reverse("message-attachment", args=[attachment.pk])).status_code == 404
    assert f'data-attachment="{attachment.pk}"' not in staff_client.get(reverse("message-list")).content.decode()
