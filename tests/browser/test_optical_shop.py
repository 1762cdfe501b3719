"""The optical shop in a real browser against the real web, worker and bridge: an order from the
prescription to the lab and back, "your glasses are ready" on the patient's phone, the payment, the
delivery and the receipt on WhatsApp."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.stack import wait_until

LONG = 30_000  # ms: what crosses the worker and the bridge

SETUP = """
import json
from apps.accounts.models import User
from apps.notifications.models import NotificationSettings
from apps.notifications.services import notification_settings_get
from apps.organizations.models import Organization
from apps.patients.models import ConsentSource
from apps.patients.services import patient_create, prescription_create, prescription_finalize
from decimal import Decimal

org = Organization.objects.get(slug="optica-demo")
optometrist = User.objects.get(email="optometra@opticaapp.local")
patient = patient_create(organization=org, document_number="{document}", first_name="Camilo",
                         last_name="Prueba {suffix}", phone="{phone}", whatsapp_consent=True,
                         whatsapp_consent_source=ConsentSource.IN_PERSON)
rx = prescription_create(organization=org, patient=patient, actor=optometrist,
                         data={{"od_sphere": Decimal("-2.00"), "os_sphere": Decimal("-1.75"), "pd": Decimal("62")}})
prescription_finalize(prescription=rx, actor=optometrist)
settings = notification_settings_get(organization=org)
before = {{"quiet_start": str(settings.quiet_start or ""), "quiet_end": str(settings.quiet_end or ""),
          "closed_days": settings.closed_days}}
# Any hour of the test run is an allowed hour (quiet hours are covered by the Django tests).
NotificationSettings.objects.filter(pk=settings.pk).update(quiet_start=None, quiet_end=None, closed_days=[])
print(json.dumps({{"prescription": rx.pk, "organization": org.pk, "before": before}}))
"""

RESTORE = """
import json
from apps.notifications.models import NotificationSettings
before = json.loads('{before}')
NotificationSettings.objects.filter(organization_id={organization}).update(
    quiet_start=before["quiet_start"] or None, quiet_end=before["quiet_end"] or None,
    closed_days=before["closed_days"])
"""


@pytest.fixture
def shop(stack):
    suffix = uuid.uuid4().int % 10_000_000
    phone = f"+57311{suffix:07d}"
    out = stack.manage("shell", "-c", SETUP.format(document=60_000_000 + suffix, suffix=suffix, phone=phone))
    data = json.loads(out.strip().splitlines()[-1])
    data.update(phone=phone, suffix=suffix)
    yield data
    stack.manage("shell", "-c", RESTORE.format(before=json.dumps(data["before"]), organization=data["organization"]))


def ensure_linked(page, stack, organization_id):
    status = stack.sql("SELECT status FROM whatsapp_whatsappsession WHERE organization_id = %s", (organization_id,))
    if status and status[0][0] == "connected":
        return
    page.goto("/whatsapp/")
    page.locator("#link-button").click()
    qr_link = page.locator("#qr-link")
    expect(qr_link).to_be_visible(timeout=LONG)
    page.goto(qr_link.get_attribute("href"))
    page.goto("/whatsapp/")
    expect(page.locator("#whatsapp-status")).to_have_attribute("data-status", "connected", timeout=LONG)


def phone_messages(stack, organization_id, phone):
    response = stack.bridge("GET", f"/sandbox/api/{organization_id}/messages", params={"direction": "out"})
    response.raise_for_status()
    return [m for m in response.json()["messages"] if m["phone"].lstrip("+") == phone.lstrip("+")]


def move(page, status):
    page.locator(f'#status-actions button[data-move="{status}"]').click()
    expect(page.locator("#order-status")).to_have_attribute("data-status", status)


def test_order_to_the_lab_ready_on_whatsapp_paid_and_delivered(page, stack, shop):
    log_in(page)
    ensure_linked(page, stack, shop["organization"])

    # From the prescription in force, a new order for the lab.
    page.goto(f"/prescriptions/{shop['prescription']}/")
    page.locator("#new-order").click()
    form = page.locator("#order-form")
    form.locator("[name=lab]").select_option(index=1)
    form.locator("[name=frame_brand]").fill("Ray-Ban")
    form.locator("[name=frame_model]").fill("Wayfarer")
    form.locator("[name=lens_type]").select_option("single_vision")
    form.locator("[name=treatments][value=anti_reflective]").check()
    form.locator("[name=fitting_height]").fill("21")
    form.locator("button[type=submit]").click()
    expect(page.locator("#order-status")).to_have_attribute("data-status", "draft")

    # What it sells, and a deposit ("abono") by Nequi.
    lines = page.locator("#line-form")
    lines.locator("[name=kind]").select_option("frame")
    lines.locator("[name=description]").fill("Montura Ray-Ban Wayfarer")
    lines.locator("[name=unit_price]").fill("350.000")
    lines.locator("button").click()
    expect(page.locator("#order-total")).to_have_text("$ 350.000")
    payment = page.locator("#payment-form")
    payment.locator("[name=amount]").fill("100.000")
    payment.locator("[name=method]").select_option("nequi")
    payment.locator("button").click()
    expect(page.locator("#order-balance")).to_have_text("$ 250.000")

    # A payment above the balance is refused on its field.
    page.locator("#payment-form [name=amount]").fill("300.000")
    page.locator("#payment-form button").click()
    expect(page.locator('#payment-form [data-field="amount"]')).to_be_visible()
    expect(page.locator("#order-balance")).to_have_text("$ 250.000")

    # To the lab and back; "ready" tells the patient.
    for status in ("sent_to_lab", "in_lab", "received", "ready"):
        move(page, status)
    ready = wait_until(lambda: next((m for m in phone_messages(stack, shop["organization"], shop["phone"])
                                     if "ya está listo" in m["text"]), None),
                       timeout=45, message="the ready message on the simulated phone")
    assert "Saldo pendiente: $ 250.000" in ready["text"]
    expect(page.locator('#order-whatsapp [data-purpose="ready"]')).to_be_visible()

    # What the person holding the simulated phone sees.
    sandbox = page.context.new_page()
    sandbox.goto(f"{stack.bridge_url}/sandbox/")
    sandbox.locator("#key").fill(stack.env["BRIDGE_API_KEY"])
    sandbox.locator("#key").dispatch_event("change")
    expect(sandbox.locator(f'#org option[value="{shop["organization"]}"]')).to_be_attached()
    sandbox.locator("#org").select_option(str(shop["organization"]))
    sandbox.locator(f'.phone[data-p="{ready["phone"]}"]').click()
    expect(sandbox.locator("#chat")).to_contain_text("ya está listo")
    sandbox.close()

    # The patient pays the balance at pickup, and takes the glasses.
    page.locator("#payment-form [name=amount]").fill("250.000")
    page.locator("#payment-form [name=method]").select_option("card")
    page.locator("#payment-form button").click()
    expect(page.locator("#order-balance")).to_have_text("$ 0")
    move(page, "delivered")
    expect(page.locator("#order-history [data-to=delivered]")).to_be_visible()

    # The receipt, as a PDF, on WhatsApp.
    page.locator("#send-receipt").click()
    receipt = wait_until(lambda: next((m for m in phone_messages(stack, shop["organization"], shop["phone"])
                                       if m.get("media")), None), timeout=45, message="the receipt on the phone")
    assert receipt["media"]["mime_type"] == "application/pdf" and "Recibo de tu pedido" in receipt["text"]

    # The day's cash report lists both payments.
    page.goto("/orders/cash/")
    rows = page.locator("#cash-payments tbody tr", has_text=f"Camilo Prueba {shop['suffix']}")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Nequi")).to_contain_text("$ 100.000")
