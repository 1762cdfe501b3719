"""Files by WhatsApp in a real browser: staff send the prescription PDF and a photo, a patient sends a photo."""

import io
import re

from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.stack import wait_until
from tests.browser.test_front_desk import LONG, Journey


def final_prescription(journey: Journey) -> int:
    """An optometrist's finalized prescription for the journey's patient (set up, not the flow under test)."""
    out = journey.stack.manage("shell", "-c", (
        "import datetime as dt; from django.utils import timezone; from apps.accounts.models import User; "
        "from apps.patients.models import Patient, Prescription; "
        f"p = Patient.objects.get(pk={journey.patient_id}); "
        "doctor = User.objects.get(email='optometra@opticaapp.local'); "
        "rx = Prescription.objects.create(organization=p.organization, patient=p, status='final', "
        "created_by=doctor, prescriber=doctor, finalized_at=timezone.now(), issued_on=dt.date.today(), "
        "od_sphere='-1.25', od_cylinder='-0.50', od_axis=90, os_sphere='-1.00', pd='62.0', notes='Uso permanente'); "
        "print(rx.pk)"))
    return int(out.strip().splitlines()[-1])


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def photo(color: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()


def test_staff_send_the_prescription_pdf_and_a_photo_and_a_patient_photo_arrives_in_the_inbox(page, stack):
    journey = Journey(stack)
    log_in(page)
    journey.add_patient(page)
    # Other browser tests of the session may have linked the demo clinic already.
    journey.linked = stack.bridge("GET", f"/api/status/{journey.organization_id}").json().get("status") == "connected"
    journey.link_whatsapp(page)
    rx = final_prescription(journey)

    # Staff: the prescription as a PDF, from the patient page.
    page.goto(f"/patients/{journey.patient_id}/")
    page.locator(f'[data-prescription="{rx}"] button.send-rx-pdf').click()
    page.wait_for_url(re.compile(rf"/patients/{journey.patient_id}/$"))
    expect(page.locator(".alert-success")).to_be_visible()
    document = wait_until(lambda: next((m for m in journey.phone_messages() if m["media"]), None), timeout=45,
                          message="the PDF on the simulated phone")
    assert document["media"]["kind"] == "document" and document["media"]["mime_type"] == "application/pdf"

    # Staff: a photo, with a caption, from the same page.
    box = page.locator("#patient-whatsapp-send-file")
    box.locator("input[type=file]").set_input_files(
        files=[{"name": "montura.png", "mimeType": "image/png", "buffer": photo("green")}])
    box.locator("[name=caption]").fill("Así se ve la montura")
    box.locator("button").click()
    expect(page.locator(".whatsapp-file-sent")).to_be_visible()
    wait_until(lambda: any(m["media"] and m["media"]["kind"] == "image" for m in journey.phone_messages()),
               timeout=45, message="the photo on the simulated phone")

    # The patient's phone shows both files, and sends a photo back.
    page.goto(f"{stack.bridge_url}/sandbox/")
    page.locator("#key").fill(stack.env["BRIDGE_API_KEY"])
    page.locator("#key").dispatch_event("change")
    expect(page.locator(f'#org option[value="{journey.organization_id}"]')).to_be_attached()
    page.locator("#org").select_option(str(journey.organization_id))
    page.locator(f'.phone[data-p="{journey.phone}"]').click()
    expect(page.locator('#chat .media[data-kind="document"] a')).to_contain_text(".pdf", timeout=LONG)
    expect(page.locator('#chat .media[data-kind="image"] img')).to_be_visible(timeout=LONG)
    page.locator("#as").fill(journey.phone)
    page.locator("#text").fill("¿Y esta otra?")
    page.locator("#file").set_input_files(files=[{"name": "otra.png", "mimeType": "image/png",
                                                  "buffer": photo("purple")}])
    page.locator("#reply button").click()
    expect(page.locator("#chat .msg.in .media img")).to_be_visible(timeout=LONG)

    # Staff: the patient's photo in the inbox conversation, loaded through the login-protected view,
    # and a document sent back from the reply box.
    page.goto(f"/inbox/patients/{journey.patient_id}/")
    bubble = page.locator(".message-bubble", has_text="¿Y esta otra?")
    image = bubble.locator(".message-attachment img")
    expect(image).to_be_visible(timeout=LONG)
    page.wait_for_function("img => img.complete && img.naturalWidth === 40", arg=image.element_handle())
    page.locator("#reply-body").fill("Le envío el catálogo")
    page.locator("#reply-file").set_input_files(files=[{"name": "catalogo.pdf", "mimeType": "application/pdf",
                                                       "buffer": PDF}])
    page.locator("#reply-form button[type=submit]").click()
    expect(page.locator("#reply-sent")).to_be_visible()
    sent = page.locator(".message-bubble", has_text="Le envío el catálogo")
    expect(sent.locator(".attachment-download")).to_contain_text("catalogo.pdf", timeout=LONG)
    wait_until(lambda: any(m["media"] and m["media"]["filename"] == "catalogo.pdf" for m in journey.phone_messages()),
               timeout=45, message="the catalogue on the simulated phone")
