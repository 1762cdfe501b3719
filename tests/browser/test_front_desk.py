"""The front desk's day with WhatsApp, in a real browser against the real web, worker and bridge.

The steps build on each other (a patient, their appointment, the linked phone, the reminder), so
each test asks for what it needs through the `journey` helpers, which do a step in the browser
the first time and reuse its result afterwards: any test can also run on its own.
"""

import datetime as dt
import re
import uuid
import zoneinfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.stack import wait_until

ZONE = zoneinfo.ZoneInfo("America/Bogota")
LONG = 30_000  # ms: generous waits for what crosses the worker and the bridge


class Journey:
    def __init__(self, stack):
        self.stack = stack
        self.organization_id = stack.sql("SELECT id FROM organizations_organization WHERE slug = 'optica-demo'")[0][0]
        self.patient_id = None
        self.phone = None
        self.appointments = {}  # local time of the booking ("10:00") -> appointment id
        self.linked = False
        self.reminded = set()

    # --- steps ------------------------------------------------------------------------------

    def add_patient(self, page) -> int:
        if self.patient_id:
            return self.patient_id
        suffix = uuid.uuid4().int % 10_000_000
        self.phone = f"+57310{suffix:07d}"
        page.goto("/patients/new/")
        form = page.locator("#patient-form")
        form.locator("[name=document_number]").fill(str(50_000_000 + suffix))
        form.locator("[name=first_name]").fill("Valentina")
        form.locator("[name=last_name]").fill(f"Prueba {suffix}")
        form.locator("[name=phone]").fill(f"310 {suffix:07d}")
        form.locator("[name=whatsapp_consent]").check()
        form.locator("[name=whatsapp_consent_source]").select_option("in_person")
        form.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r"/patients/\d+/$"))
        self.patient_id = int(re.search(r"/patients/(\d+)/$", page.url).group(1))
        return self.patient_id

    @property
    def patient_name(self) -> str:
        return self.stack.sql("SELECT first_name || ' ' || last_name FROM patients_patient WHERE id = %s",
                              (self.patient_id,))[0][0]

    def booking_day(self) -> dt.date:
        """Two or more days ahead, Monday to Friday: open for the providers and for reminders."""
        day = dt.datetime.now(ZONE).date() + dt.timedelta(days=2)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return day

    @property
    def appointment_id(self) -> int | None:
        return self.appointments.get("10:00")

    def book_appointment(self, page, at="10:00") -> int:
        if at in self.appointments:
            return self.appointments[at]
        self.add_patient(page)
        day = self.booking_day()
        page.goto(f"/appointments/calendar/?view=day&date={day.isoformat()}")
        page.locator(f'td[data-slot^="{day.isoformat()}T{at}"] a[data-free-slot]').first.click()
        page.wait_for_url(re.compile(r"/appointments/new/"))
        page.locator("#patient-search").fill(self.patient_name)
        page.locator(f'#patient-results [data-patient-id="{self.patient_id}"] input[type=radio]').check()
        page.locator("#appointment-form [name=appointment_type]").select_option(index=1)
        page.locator("#appointment-form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/appointments/\d+/$"))
        self.appointments[at] = int(re.search(r"/appointments/(\d+)/$", page.url).group(1))
        return self.appointments[at]

    def link_whatsapp(self, page) -> None:
        if self.linked:
            return
        page.goto("/whatsapp/")
        page.locator("#link-button").click()
        qr_link = page.locator("#qr-link")
        expect(qr_link).to_be_visible(timeout=LONG)
        scan_url = qr_link.get_attribute("href")
        # "Scanning" the sandbox QR is opening its link, as the simulated phone's camera would.
        page.goto(scan_url)
        page.goto("/whatsapp/")
        expect(page.locator("#whatsapp-status")).to_have_attribute("data-status", "connected", timeout=LONG)
        self.linked = True

    def phone_messages(self, direction="out") -> list[dict]:
        response = self.stack.bridge("GET", f"/sandbox/api/{self.organization_id}/messages",
                                     params={"direction": direction})
        response.raise_for_status()
        digits = self.phone.lstrip("+")
        return [m for m in response.json()["messages"] if m["phone"].lstrip("+") == digits]

    def deliver_reminder(self, page, at="10:00") -> dict:
        """Run the reminder job on a test clock set to the moment the reminder is due."""
        appointment_id = self.book_appointment(page, at)
        self.link_whatsapp(page)
        if appointment_id not in self.reminded:
            plan = wait_until(lambda: self.stack.sql(
                "SELECT due_at, status, reason FROM notifications_reminder WHERE appointment_id = %s",
                (appointment_id,)), timeout=30, message="the reminder to be planned")
            due = [due_at for due_at, status, _reason in plan if status == "pending"]
            assert due, f"no reminder will go out: {plan}"
            # The test clock: the dispatcher runs as if it were just after the last reminder's time.
            tick = int(max(due).timestamp()) + 1
            self.stack.manage("shell", "-c", "from apps.notifications.tasks import dispatch_due_reminders; "
                                             f"dispatch_due_reminders.defer(timestamp={tick})")
            self.reminded.add(appointment_id)
        bridge_id = wait_until(lambda: next(iter(self.stack.sql(
            "SELECT bridge_message_id FROM notifications_message WHERE appointment_id = %s AND kind = 'reminder' "
            "AND bridge_message_id <> '' ORDER BY id", (appointment_id,))), (None,))[0],
            timeout=45, message="the reminder to be sent")
        reminder = wait_until(lambda: next((m for m in self.phone_messages() if m["message_id"] == bridge_id), None),
                              timeout=30, message="the reminder on the simulated phone")
        # Sent means the appointment now waits for the patient's answer.
        wait_until(lambda: self.stack.sql("SELECT confirmation FROM appointments_appointment WHERE id = %s",
                                          (appointment_id,))[0][0] != "unconfirmed",
                   timeout=30, message="the confirmation to be requested")
        return reminder

    def wait_confirmed_on_calendar(self, page, appointment_id: int):
        """The calendar's chip of the appointment, once it shows it confirmed (reloading until then)."""
        day = self.booking_day()
        chip = page.locator(f'[data-appointment-id="{appointment_id}"]')

        def confirmed_on_calendar():
            page.goto(f"/appointments/calendar/?view=day&date={day.isoformat()}")
            return chip.get_attribute("data-confirmation") == "confirmed"

        wait_until(confirmed_on_calendar, timeout=30, interval=1, message="the calendar to show the confirmation")
        return chip

    def patient_writes(self, text: str) -> None:
        response = self.stack.bridge("POST", f"/sandbox/api/{self.organization_id}/reply",
                                     json={"phone": self.phone, "text": text})
        response.raise_for_status()


@pytest.fixture(scope="module")
def journey(stack):
    return Journey(stack)


@pytest.fixture
def desk(page, journey):
    log_in(page)
    return page


def test_staff_add_a_patient(desk, journey):
    patient_id = journey.add_patient(desk)

    expect(desk.locator("h1")).to_contain_text("Valentina")
    assert journey.stack.sql("SELECT whatsapp_consent, phone FROM patients_patient WHERE id = %s",
                             (patient_id,)) == [(True, journey.phone)]


def test_staff_book_an_appointment_from_the_calendar(desk, journey):
    appointment_id = journey.book_appointment(desk)

    day = journey.booking_day()
    desk.goto(f"/appointments/calendar/?view=day&date={day.isoformat()}")
    chip = desk.locator(f'[data-appointment-id="{appointment_id}"]')
    expect(chip).to_contain_text(journey.patient_name)
    expect(chip).to_have_attribute("data-status", "scheduled")


def test_the_week_of_all_providers_loads_each_providers_week_as_it_comes_into_view(desk, journey):
    appointment_id = journey.book_appointment(desk)

    desk.goto(f"/appointments/calendar/?view=week&date={journey.booking_day().isoformat()}")
    sections = desk.locator("#provider-weeks section[data-provider-week]")
    expect(sections.first).to_be_visible()
    assert sections.count() >= 2  # the demo clinic has two optometrists
    for index in range(sections.count()):
        section = sections.nth(index)
        section.scroll_into_view_if_needed()
        # Each provider's own week: seven days, free times that book with that provider.
        expect(section.locator("table.cal-table th[data-day]")).to_have_count(7)
        provider = section.get_attribute("data-provider-week")
        expect(section.locator("a[data-free-slot]").first).to_have_attribute(
            "href", re.compile(rf"provider={provider}$"))
    expect(desk.locator(f'#provider-weeks [data-appointment-id="{appointment_id}"]')).to_contain_text(
        journey.patient_name)


def test_an_admin_links_whatsapp_by_scanning_the_sandbox_qr(desk, journey):
    journey.link_whatsapp(desk)

    expect(desk.locator("#linked-phone")).to_be_visible()
    desk.goto("/")
    expect(desk.locator("#dashboard-whatsapp [data-session-status]")).to_have_attribute(
        "data-session-status", "connected")


def test_the_reminder_arrives_on_the_simulated_phone(desk, journey):
    reminder = journey.deliver_reminder(desk)

    assert "Valentina" in reminder["text"]
    # What the person holding the simulated phone sees.
    desk.goto(f"{journey.stack.bridge_url}/sandbox/")
    desk.locator("#key").fill(journey.stack.env["BRIDGE_API_KEY"])
    desk.locator("#key").dispatch_event("change")
    expect(desk.locator(f'#org option[value="{journey.organization_id}"]')).to_be_attached()
    desk.locator("#org").select_option(str(journey.organization_id))
    desk.locator(f'.phone[data-p="{reminder["phone"]}"]').click()
    expect(desk.locator("#chat")).to_contain_text(reminder["text"])


def test_the_patient_answers_1_and_the_calendar_shows_the_appointment_confirmed(desk, journey):
    journey.deliver_reminder(desk)
    journey.patient_writes("1")

    chip = journey.wait_confirmed_on_calendar(desk, journey.appointment_id)
    expect(chip).to_have_attribute("data-confirmation", "confirmed")
    # The acknowledgement reached the patient too.
    wait_until(lambda: any("confirmada" in m["text"] for m in journey.phone_messages()), timeout=30,
               message="the acknowledgement on the simulated phone")


def test_a_patient_message_appears_in_the_inbox_and_staff_reply_from_it(desk, journey):
    journey.add_patient(desk)
    journey.link_whatsapp(desk)
    question = f"Hola, ¿puedo llevar a mi hijo también? {uuid.uuid4().hex[:6]}"

    desk.goto("/inbox/?filter=all")
    journey.patient_writes(question)
    # The list refreshes itself (htmx polling): no reload.
    row = desk.locator(".conversation-row", has_text=question)
    expect(row).to_be_visible(timeout=LONG)
    expect(row).to_contain_text(journey.patient_name)
    row.click()

    expect(desk.locator("#thread")).to_contain_text(question)
    answer = f"Claro que sí, los esperamos. {uuid.uuid4().hex[:6]}"
    desk.locator("#reply-body").fill(answer)
    desk.locator("#reply-form").get_by_role("button").click()
    expect(desk.locator("#reply-sent")).to_be_visible()

    bubble = desk.locator(".message-bubble[data-direction=out]", has_text=answer)
    expect(bubble).to_be_visible(timeout=LONG)
    wait_until(lambda: any(m["text"] == answer for m in journey.phone_messages()), timeout=45,
               message="the reply on the simulated phone")
    # The ticks follow the bridge's receipts (the sandbox delivers and reads).
    expect(bubble).not_to_have_attribute("data-status", re.compile("queued|sending|failed"), timeout=LONG)
    # The patient answers while the conversation is open: it shows up without a reload.
    thanks = f"¡Gracias! {uuid.uuid4().hex[:6]}"
    journey.patient_writes(thanks)
    expect(desk.locator(".message-bubble[data-direction=in]", has_text=thanks)).to_be_visible(timeout=LONG)


def test_an_empty_reply_is_refused_with_a_message(desk, journey):
    journey.add_patient(desk)
    desk.goto(f"/inbox/patients/{journey.patient_id}/")
    desk.locator("#reply-body").fill("   ")
    desk.locator("#reply-form").get_by_role("button").click()

    expect(desk.locator("#reply-error")).to_be_visible()


def test_a_patient_who_cancels_by_whatsapp_shows_up_as_an_alert_until_handled(desk, journey):
    appointment_id = journey.book_appointment(desk, at="11:00")
    journey.deliver_reminder(desk, at="11:00")
    journey.patient_writes("2")

    wait_until(lambda: journey.stack.sql("SELECT status, cancelled_by FROM appointments_appointment WHERE id = %s",
                                         (appointment_id,)) == [("cancelled", "patient")],
               timeout=30, message="the appointment to be cancelled by the patient")
    desk.goto("/")
    expect(desk.locator("#alert-count")).to_be_visible()
    desk.goto("/dashboard/alerts/")
    alert = desk.locator(".staff-alert[data-kind=patient_cancelled]", has_text=journey.patient_name)
    expect(alert).to_have_count(1)
    alert.locator("button[type=submit]").click()

    expect(desk.locator(".staff-alert", has_text=journey.patient_name)).to_have_count(0)
