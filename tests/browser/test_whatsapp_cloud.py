"""A clinic on the official WhatsApp Business Cloud API, in a real browser.

A second clinic (its own admin) so the demo clinic's QR-linked journey is untouched. Meta's
side is the local Graph API server the stack starts (whatsapp_bridge/tests/graph_server.py):
it receives what the bridge sends and posts Meta's signed webhooks back.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot_path
from tests.browser.stack import wait_until
from tests.browser.test_front_desk import LONG, Journey

ADMIN = ("cloud-admin@opticaapp.local", "cloud-demo-password")
TOKEN = "EAAG" + "b" * 60
APP_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PHONE_NUMBER_ID = "117788990011223"

CREATE_CLINIC = f"""
from django.contrib.auth import get_user_model
from apps.organizations.management.commands.seed_demo import Command
from apps.organizations.models import Organization, Role
from apps.organizations.services import membership_set
org, _ = Organization.objects.get_or_create(slug="optica-cloud", defaults={{
    "name": "Óptica Nube", "time_zone": "America/Bogota", "default_phone_region": "CO"}})
user = get_user_model().objects.filter(email="{ADMIN[0]}").first() or \\
    get_user_model().objects.create_user("{ADMIN[0]}", "{ADMIN[1]}", full_name="Admin Nube")
membership_set(user=user, organization=org, role=Role.OWNER)
Command().extra_seed(org)
print("ORG", org.pk)
"""


@pytest.fixture(scope="module")
def clinic(stack):
    out = stack.manage("shell", "-c", CREATE_CLINIC)
    organization_id = int(out.split("ORG", 1)[1].split()[0])
    account = stack.graph.add_account(phone_number_id=PHONE_NUMBER_ID, token=TOKEN, app_secret=APP_SECRET,
                                      display="+57 601 5550177", waba_id="108877665544332")
    journey = Journey(stack)
    journey.organization_id = organization_id
    return journey, account


def test_a_clinic_on_the_cloud_api_reminds_by_template_and_gets_the_reply_and_statuses(page, stack, clinic):
    journey, account = clinic
    log_in(page, *ADMIN)

    # 1. Connect: a credentials form, no QR.
    page.goto("/whatsapp/")
    form = page.locator("#cloud-form")
    form.locator("[name=phone_number_id]").fill(PHONE_NUMBER_ID)
    form.locator("[name=waba_id]").fill("108877665544332")
    form.locator("[name=access_token]").fill("EAAG" + "z" * 40)
    form.locator("[name=app_secret]").fill(APP_SECRET)
    form.locator("#cloud-connect-button").click()
    expect(page.locator('[data-field="access_token"]')).to_be_visible()  # Meta refused that token
    form.locator("[name=access_token]").fill(TOKEN)
    form.locator("[name=app_secret]").fill(APP_SECRET)
    verify_token = form.locator("[name=verify_token]").input_value()
    assert len(verify_token) >= 8  # suggested by the page
    form.locator("#cloud-connect-button").click()
    status = page.locator("#whatsapp-status")
    expect(status).to_have_attribute("data-status", "connected", timeout=LONG)
    expect(page.locator("#cloud-status")).to_have_attribute("data-quality", "GREEN")
    expect(page.locator("#cloud-tier")).to_contain_text("250")
    expect(page.locator("#cloud-webhook-url")).to_contain_text("/webhooks/whatsapp")
    expect(page.locator("#qr-image")).to_have_count(0)
    expect(page.locator("#cloud-form")).to_be_hidden()  # inside the closed "replace the credentials"
    page.screenshot(path=str(screenshot_path("cloud_whatsapp_page_connected")), full_page=True)
    # Meta's handshake with the verify token the page suggested.
    handshake = stack.bridge("GET", "/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.challenge": "8675309", "hub.verify_token": verify_token})
    assert handshake.text == "8675309"

    # 2. The reminder template, mapped to the approved Meta template.
    page.goto("/notifications/settings/templates/reminder/es/")
    meta = page.locator("#meta-template")
    meta.locator("[name=meta_template_name]").fill("recordatorio_cita")
    meta.locator("[name=meta_language]").fill("es")
    meta.locator("[name=meta_parameters]").fill("patient_first_name, date, time")
    meta.locator("[name=meta_quick_replies]").check()
    page.locator("#template-form button.btn-primary").click()
    page.wait_for_url("**/notifications/settings/")

    # 3. A patient and an appointment, booked from the UI; the reminder goes out as the template.
    appointment_id = journey.book_appointment(page)
    plan = wait_until(lambda: stack.sql("SELECT due_at FROM notifications_reminder WHERE appointment_id = %s "
                                        "AND status = 'pending'", (appointment_id,)), message="the planned reminder")
    tick = int(max(due for (due,) in plan).timestamp()) + 1
    stack.manage("shell", "-c", "from apps.notifications.tasks import dispatch_due_reminders; "
                                f"dispatch_due_reminders.defer(timestamp={tick})")
    sent = wait_until(lambda: next((m for m in stack.graph.sent if m["to"] == journey.phone), None), timeout=45,
                      message="the template at Meta")
    assert sent["type"] == "template" and sent["template"]["name"] == "recordatorio_cita"
    assert sent["template"]["components"][0]["parameters"][0]["text"] == "Valentina"

    # 4. Meta reports it read; the patient taps "Confirmar" on the template.
    stack.graph.post(stack.graph.status(account, sent, "delivered"), APP_SECRET)
    stack.graph.post(stack.graph.status(account, sent, "read"), APP_SECRET)
    stack.graph.post(stack.graph.user_message(account, journey.phone, {
        "type": "button", "context": {"id": sent["wamid"]},
        "button": {"payload": f"confirm:{appointment_id}", "text": "Confirmar"}}), APP_SECRET)

    journey.wait_confirmed_on_calendar(page, appointment_id)
    page.goto(f"/inbox/patients/{journey.patient_id}/")
    expect(page.locator(".message-bubble[data-direction=in]", has_text="Confirmar")).to_be_visible(timeout=LONG)
    reminder = page.locator(".message-bubble[data-direction=out]", has_text="recordamos")
    expect(reminder).to_have_attribute("data-status", "read", timeout=LONG)
