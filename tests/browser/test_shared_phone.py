"""A family's phone answers "1" while two of its patients wait for an answer: the front desk chooses
whose appointment it was, in a real browser against the real web, worker and bridge."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.stack import wait_until
from tests.browser.test_front_desk import LONG
from tests.browser.test_front_desk_issue17 import Desk


@pytest.fixture(scope="module")
def family(stack):
    return Desk(stack)


@pytest.fixture
def desk(page, family):
    log_in(page)
    return page


def add_sibling(page, family: Desk) -> int:
    """A second patient with the first one's phone, as the front desk records a child of the family."""
    page.goto("/patients/new/")
    form = page.locator("#patient-form")
    form.locator("[name=document_number]").fill(str(int(family.phone[-7:]) + 90_000_000))
    form.locator("[name=first_name]").fill("Tomás")
    form.locator("[name=last_name]").fill("Hermano")
    form.locator("[name=phone]").fill(family.phone)
    form.locator("[name=whatsapp_consent]").check()
    form.locator("[name=whatsapp_consent_source]").select_option("in_person")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    return int(re.search(r"/patients/(\d+)/$", page.url).group(1))


def waiting_for_an_answer(family: Desk, appointment_id: int) -> None:
    family.stack.manage("shell", "-c", (
        "from apps.appointments.models import Appointment; "
        "from apps.appointments.services import appointment_confirmation_set; "
        f"appointment_confirmation_set(appointment=Appointment.objects.get(pk={appointment_id}), "
        "confirmation='requested', source='system')"))


def test_the_front_desk_chooses_which_child_a_shared_phone_s_answer_was_about(desk, family):
    family.add_patient(desk)
    family.link_whatsapp(desk)
    mother_s_slot, child_s_slot = family.free_slots(2)
    mother_s = family.book_by_api(mother_s_slot)
    child = add_sibling(desk, family)
    answer = family.api("POST", "/api/appointments/", json={
        "patient": child, "provider": child_s_slot["provider"],
        "appointment_type": child_s_slot["appointment_type"], "start": child_s_slot["start"]})
    assert answer.status_code == 201, answer.text
    child_s = answer.json()["id"]
    for appointment_id in (mother_s, child_s):
        waiting_for_an_answer(family, appointment_id)

    family.patient_writes("1")  # from the family's phone, through the bridge's simulated phone

    alert = desk.locator(".staff-alert[data-kind=ambiguous_reply]", has_text=family.phone)

    def alert_shown():
        desk.goto("/dashboard/alerts/")
        return alert.count() == 1

    wait_until(alert_shown, timeout=LONG / 1000, message="the shared phone's alert")
    alert.get_by_role("link", name="Elegir el paciente").click()
    form = desk.locator("#ambiguous-reply-form")
    expect(form.locator("[data-appointment]")).to_have_count(2)
    form.locator(f'[data-appointment="{child_s}"] input[type=radio]').check()
    form.get_by_role("button", name="Aplicar la respuesta").click()

    expect(desk.locator(".alert-success")).to_contain_text("Tomás Hermano")
    expect(desk.locator(".staff-alert[data-kind=ambiguous_reply]", has_text=family.phone)).to_have_count(0)
    assert family.appointment_state(child_s) == ("scheduled", "confirmed")
    assert family.appointment_state(mother_s) == ("scheduled", "requested")
