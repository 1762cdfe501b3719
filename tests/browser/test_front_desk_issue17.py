"""The front desk as staff live in it (issue 17), walked in a real browser against web, worker and bridge.

Each test is one item of the issue: what the receptionist sees and does. Settings a test changes
(quiet hours, notices) are put back at its end, so the tests also run one by one.
"""

import datetime as dt
import re

import httpx
import pytest
from playwright.sync_api import expect

from apps.notifications.tests.reply_table import REPLIES
from tests.browser.conftest import DEMO_ADMIN, SCREENSHOTS, log_in
from tests.browser.stack import wait_until
from tests.browser.test_front_desk import LONG, ZONE, Journey

PHONE = {"width": 390, "height": 844}
OPTOMETRIST = ("optometra@opticaapp.local", DEMO_ADMIN[1])
SENT = ("sent", "delivered", "read")


class Desk(Journey):
    """The journey's steps, plus what these walks need: the API for bulk bookings, settings, reminders."""

    def __init__(self, stack):
        super().__init__(stack)
        self._token = None

    def link_whatsapp(self, page) -> None:
        linked = self.stack.sql("SELECT status FROM whatsapp_whatsappsession WHERE organization_id = %s",
                                (self.organization_id,))
        if linked and linked[0][0] == "connected":
            self.linked = True
        super().link_whatsapp(page)

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        if self._token is None:
            self._token = httpx.post(f"{self.stack.web_url}/api/auth/token/", timeout=15,
                                     json={"email": DEMO_ADMIN[0], "password": DEMO_ADMIN[1]}).json()["token"]
        return httpx.request(method, f"{self.stack.web_url}{path}", timeout=30,
                             headers={"Authorization": f"Token {self._token}"}, **kwargs)

    def free_slots(self, count: int) -> list[dict]:
        kind = self.api("GET", "/api/appointment-types/").json()["results"][0]["id"]
        first = self.booking_day() + dt.timedelta(days=1)
        slots = self.api("GET", "/api/availability/", params={
            "appointment_type": kind, "date_from": first.isoformat(),
            "date_to": (first + dt.timedelta(days=13)).isoformat()}).json()["results"]
        # Far enough apart that no two overlap, whatever the type's length.
        chosen, last = [], {}
        for slot in slots:
            start = dt.datetime.fromisoformat(slot["start"])
            if slot["provider"] in last and start - last[slot["provider"]] < dt.timedelta(hours=2):
                continue
            last[slot["provider"]] = start
            chosen.append({**slot, "appointment_type": kind})
            if len(chosen) == count:
                return chosen
        raise AssertionError(f"only {len(chosen)} free slots for {count} bookings")

    def book_by_api(self, slot: dict) -> int:
        response = self.api("POST", "/api/appointments/", json={
            "patient": self.patient_id, "provider": slot["provider"], "appointment_type": slot["appointment_type"],
            "start": slot["start"]})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def settings_form(self, page, **values) -> None:
        """Fill the clinic's reminder settings in the browser; values: field name -> text or bool."""
        page.goto("/notifications/settings/")
        form = page.locator("#settings-form")
        for name, value in values.items():
            field = form.locator(f"[name={name}]")
            if isinstance(value, bool):
                field.set_checked(value)
            else:
                field.fill(value)
        form.locator("button").click()
        expect(page.locator(".alert-success")).to_be_visible()

    def send_reminder_now(self, page, appointment_id: int) -> str:
        """Press "send now" on the appointment page; returns the bridge id once the bridge took it."""
        before = {row[0] for row in self.stack.sql(
            "SELECT id FROM notifications_message WHERE appointment_id = %s AND kind = 'reminder'", (appointment_id,))}
        page.goto(f"/appointments/{appointment_id}/")
        page.locator("#reminder-send-now").click()
        expect(page.locator("#reminder-sent")).to_be_visible(timeout=LONG)

        def sent():
            rows = self.stack.sql("SELECT id, bridge_message_id, status FROM notifications_message "
                                  "WHERE appointment_id = %s AND kind = 'reminder'", (appointment_id,))
            return next((bridge for pk, bridge, status in rows if pk not in before and status in SENT and bridge),
                        None)

        return wait_until(sent, timeout=45, message="the reminder to be sent")

    def appointment_state(self, appointment_id: int) -> tuple[str, str]:
        return self.stack.sql("SELECT status, confirmation FROM appointments_appointment WHERE id = %s",
                              (appointment_id,))[0]

    def unread_badge(self, page) -> int:
        page.goto("/")
        badge = page.locator("#nav-unread")
        return int(badge.inner_text()) if badge.count() else 0


@pytest.fixture(scope="module")
def desk_journey(stack):
    return Desk(stack)


@pytest.fixture
def desk(page, desk_journey):
    log_in(page)
    return page


@pytest.fixture
def phone_page(browser, stack, request):
    context = browser.new_context(base_url=stack.web_url, locale="es-CO", timezone_id="America/Bogota",
                                  viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    log_in(page)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def accept_dialogs(page, answers: list[bool], seen: list[str]):
    """Answer the next confirmation questions in order (True = accept), keeping what they asked."""

    def handle(dialog):
        seen.append(dialog.message)
        answer = answers.pop(0)
        if not answers:
            page.remove_listener("dialog", handle)  # the next questions belong to the next call
        dialog.accept() if answer else dialog.dismiss()

    page.on("dialog", handle)


def book_today_started(page, journey: Desk) -> int:
    """An administrator records an appointment that started a few minutes ago (the override)."""
    journey.add_patient(page)
    start = (dt.datetime.now(ZONE) - dt.timedelta(minutes=5)).replace(second=0, microsecond=0)
    # The first provider free at that moment (the demo's own visits may hold one of them).
    url = f"/appointments/new/?patient={journey.patient_id}&start={start:%Y-%m-%dT%H:%M}"
    page.goto(url)
    providers = page.locator("#appointment-form [name=provider] option").count()
    for provider in range(1, providers):
        page.goto(url)
        form = page.locator("#appointment-form")
        form.locator("[name=provider]").select_option(index=provider)
        form.locator("[name=appointment_type]").select_option(index=1)
        form.locator("[name=override]").check()
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        if re.search(r"/appointments/\d+/$", page.url):
            return int(re.search(r"/appointments/(\d+)/$", page.url).group(1))
    errors = page.locator(".alert, .invalid-feedback").all_inner_texts()
    raise AssertionError(f"no provider could take an appointment at {start}: {errors}")


# --- 1. Reminders you can see ----------------------------------------------------------------


def test_1_the_appointment_page_shows_its_reminder_when_and_why_and_staff_can_send_it_now(desk, desk_journey):
    desk_journey.settings_form(desk, quiet_start="06:00", quiet_end="11:00")
    try:
        appointment_id = desk_journey.book_appointment(desk, at="10:30")
        # 24 h before 10:30 falls in the quiet hours: the page says it waits, and until when.
        panel = desk.locator("#appointment-reminders")

        def planned():
            desk.goto(f"/appointments/{appointment_id}/")
            return panel.locator("[data-reminder-status=pending]").count() == 1

        wait_until(planned, timeout=30, interval=1, message="the planned reminder on the appointment page")
        row = panel.locator("[data-reminder-status=pending]")
        expect(row).to_contain_text("24 h antes")
        expect(row.locator("[data-role=due]")).to_contain_text("Sale el")
        expect(row.locator("[data-role=why]")).to_contain_text(re.compile("horario de silencio|día cerrado"))
        expect(desk.locator("#appointment-patient")).to_have_attribute("href", f"/patients/{desk_journey.patient_id}/")

        desk_journey.link_whatsapp(desk)
        desk_journey.send_reminder_now(desk, appointment_id)
        desk.goto(f"/appointments/{appointment_id}/")
        expect(panel.locator("[data-status]").first).to_have_attribute("data-status", re.compile("sent|delivered|read"))
        expect(desk.locator("#reminder-send-now")).to_have_text(re.compile("Reenviar recordatorio"))

        # The patient page lists the same reminder, linked to its appointment.
        desk.goto(f"/patients/{desk_journey.patient_id}/")
        expect(desk.locator(f'#patient-reminders a[href="/appointments/{appointment_id}/"]')).to_be_visible()
    finally:
        desk_journey.settings_form(desk, quiet_start="20:00", quiet_end="08:00")


# --- 2. Replies understood as people write them ------------------------------------------------


def test_2_every_reply_of_the_table_does_what_the_patient_meant(desk, desk_journey):
    desk_journey.add_patient(desk)
    desk_journey.link_whatsapp(desk)
    answers = [(text, meaning) for text, meaning in REPLIES if meaning is not None]
    for_staff = [text for text, meaning in REPLIES if meaning is None]
    slots = desk_journey.free_slots(len(answers) + 1)
    expected = {"confirm": ("scheduled", "confirmed"), "cancel": ("cancelled", "declined"),
                "callback": ("scheduled", "callback_requested")}

    # Conversation and questions stay for staff: the appointment waits, the inbox shows them unread.
    waiting = desk_journey.book_by_api(slots.pop())
    desk_journey.send_reminder_now(desk, waiting)
    desk.goto(f"/inbox/patients/{desk_journey.patient_id}/")  # read: nothing unread from this patient
    unread_before = desk_journey.unread_badge(desk)
    for text in for_staff:
        desk_journey.patient_writes(text)
    wait_until(lambda: desk_journey.stack.sql(
        "SELECT count(*) FROM notifications_message WHERE direction = 'in' AND patient_id = %s AND kind = 'free_text'",
        (desk_journey.patient_id,))[0][0] >= len(for_staff), timeout=45, message="the staff replies to arrive")
    assert desk_journey.appointment_state(waiting) == ("scheduled", "requested")
    assert desk_journey.unread_badge(desk) == unread_before + 1
    desk.goto(f"/inbox/patients/{desk_journey.patient_id}/")
    expect(desk.locator("#thread")).to_contain_text(for_staff[0])
    unread_before = desk_journey.unread_badge(desk)

    # Each answer goes to the reminder it follows (the last one sent to the number).
    for (text, meaning), slot in zip(answers, slots, strict=False):
        appointment_id = desk_journey.book_by_api(slot)
        desk_journey.send_reminder_now(desk, appointment_id)
        desk_journey.patient_writes(text)
        wait_until(lambda a=appointment_id, m=meaning: desk_journey.appointment_state(a) == expected[m],
                   timeout=45, message=f"{text!r} to {meaning}")
    # What the receptionist sees of the last one, and the inbox badge: handled answers are not news.
    desk.goto(f"/appointments/{appointment_id}/")
    status, confirmation = expected[answers[-1][1]]
    expect(desk.locator("#appointment")).to_have_attribute("data-confirmation", confirmation)
    assert desk_journey.unread_badge(desk) == unread_before


# --- 3. Status moves that cannot be true are refused -------------------------------------------


def test_3_a_future_visit_offers_no_visit_moves_and_permanent_ones_ask_first(desk, desk_journey):
    future = desk_journey.book_appointment(desk, at="11:30")
    desk.goto(f"/appointments/{future}/")
    expect(desk.locator("#status-panel")).to_be_visible()
    expect(desk.locator("#status-panel [data-move]")).to_have_count(0)

    started = book_today_started(desk, desk_journey)
    desk.goto("/appointments/today/")
    row = desk.locator(f"#appointment-row-{started}")
    expect(row.locator("[data-move=arrived]")).to_be_visible()
    asked = []
    accept_dialogs(desk, [False, True], asked)
    row.locator("[data-move=no_show]").click()
    expect(row).to_have_attribute("data-status", "scheduled")
    row.locator("[data-move=no_show]").click()
    expect(desk.locator(f"#appointment-row-{started}")).to_have_attribute("data-status", "no_show")
    assert all("No asistió" in question for question in asked)

    # A released appointment offers to book the patient again, with their details filled in.
    desk.goto(f"/appointments/{started}/")
    desk.locator("#rebook").click()
    desk.wait_for_url(re.compile(r"/appointments/new/\?patient="))
    expect(desk.locator(f'#patient-results [data-patient-id="{desk_journey.patient_id}"] input')).to_be_checked()

    # Cancelling asks first; dismissed, nothing changes.
    desk.goto(f"/appointments/{future}/")
    accept_dialogs(desk, [False], asked)
    desk.locator("#cancel-form button").click()
    expect(desk.locator("#appointment")).to_have_attribute("data-status", "scheduled")
    assert "¿Cancelar esta cita?" in asked[-1]


# --- 4. Phone-sized screens ----------------------------------------------------------------------


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_4_on_a_phone_the_today_list_fits_and_its_actions_are_reachable(phone_page, desk_journey, desk):
    started = book_today_started(desk, desk_journey)
    phone_page.goto("/appointments/today/")
    row = phone_page.locator(f"#appointment-row-{started}")
    expect(row).to_be_visible()
    assert no_horizontal_scroll(phone_page)
    button = row.locator("[data-move=arrived]")
    box = button.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"]
    button.tap()
    expect(phone_page.locator(f"#appointment-row-{started}")).to_have_attribute("data-status", "arrived")


def test_4_on_a_phone_the_calendar_is_an_agenda_with_bookable_times(phone_page, desk_journey):
    day = desk_journey.booking_day()
    phone_page.goto(f"/appointments/calendar/?view=day&date={day.isoformat()}")
    expect(phone_page.locator("#agenda")).to_be_visible()
    expect(phone_page.locator("#calendar")).to_be_hidden()
    assert no_horizontal_scroll(phone_page)
    free = phone_page.locator("#agenda [data-agenda-free-slot]").first
    expect(free).to_be_visible()
    free.tap()
    phone_page.wait_for_url(re.compile(r"/appointments/new/\?start="))
    assert no_horizontal_scroll(phone_page)


# --- 5. Settings widgets work --------------------------------------------------------------------


def test_5_closed_days_are_checkboxes_and_sunday_shows_checked(desk):
    desk.goto("/notifications/settings/")
    days = desk.locator("#settings-form input[name=closed_days]")
    expect(days).to_have_count(7)
    for index in range(7):
        expect(days.nth(index)).to_have_attribute("type", "checkbox")
        expect(days.nth(index)).not_to_have_class(re.compile("form-control"))
    expect(desk.locator("#settings-form input[name=closed_days][value='6']")).to_be_checked()
    expect(desk.locator("#settings-form label[for=id_closed_days_6]")).to_have_text(re.compile("^domingo$", re.I))


# --- 6. Optical wording and numbers --------------------------------------------------------------


def test_6_a_prescription_reads_decimal_commas_as_written_and_prints_in_spanish(page, desk_journey):
    log_in(page)
    patient_id = desk_journey.add_patient(page)
    page.context.clear_cookies()
    log_in(page, *OPTOMETRIST)
    page.goto(f"/patients/{patient_id}/prescriptions/new/")
    form = page.locator("#prescription-form")
    expect(form.locator("thead")).to_contain_text("OI")
    expect(form).to_contain_text("Adición")
    values = {"od_sphere": "-1,25", "od_cylinder": "-0,50", "od_axis": "90", "od_add": "0,25",
              "os_sphere": "-1,00", "os_add": "0,25", "pd": "62,5"}
    for name, value in values.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/prescriptions/\d+/$"))
    prescription_id = int(re.search(r"/prescriptions/(\d+)/$", page.url).group(1))
    assert desk_journey.stack.sql("SELECT od_add::text, pd::text FROM patients_prescription WHERE id = %s",
                                  (prescription_id,)) == [("0.25", "62.5")]

    asked = []
    accept_dialogs(page, [True], asked)
    page.locator("#finalize-prescription").click()
    expect(page.locator("#finalize-prescription")).to_have_count(0)
    assert "¿Finalizar esta fórmula?" in asked[0]

    page.goto(f"/prescriptions/{prescription_id}/print/")
    table = page.locator(".rx-table")
    expect(table).to_contain_text("Adición")
    expect(table.locator("tbody th").nth(1)).to_have_text("OI")
    expect(table).to_contain_text("+0,25")
    expect(table).not_to_contain_text("0.25")
    expect(page.locator("#prescriber-registration")).to_contain_text("Registro profesional TP 52.318")


# --- 7. Alerts, words, translations, icon --------------------------------------------------------


def test_7_admin_and_pages_speak_spanish_and_the_tab_has_an_icon(desk, stack):
    icon = desk.locator("link[rel=icon]")
    expect(icon).to_have_attribute("href", re.compile(r"favicon\.svg$"))
    assert httpx.get(f"{stack.web_url}{icon.get_attribute('href')}", timeout=10).status_code == 200
    desk.goto("/admin/")
    expect(desk.locator("#content")).to_contain_text("Notificaciones")
    expect(desk.locator("#content")).to_contain_text("Recordatorios planeados")
    desk.goto("/admin/notifications/message/")
    expect(desk.locator("#result_list thead")).not_to_contain_text(re.compile("created at|bridge message id"))


# --- 9. Staff-initiated messages -----------------------------------------------------------------


def test_9_booked_moved_and_cancelled_by_staff_reach_the_patient_when_the_clinic_turns_them_on(desk,
                                                                                               desk_journey):
    desk_journey.add_patient(desk)
    desk_journey.link_whatsapp(desk)
    # Quiet hours off for this walk: the notices would otherwise wait for the morning.
    desk_journey.settings_form(desk, quiet_start="", quiet_end="", notify_booked=True, notify_moved=True,
                               notify_cancelled=True)
    try:
        appointment_id = desk_journey.book_appointment(desk, at="15:00")

        def on_phone(words):
            return wait_until(lambda: any(words in m["text"] for m in desk_journey.phone_messages()), timeout=45,
                              message=f"{words!r} on the simulated phone")

        on_phone("quedó agendada")
        desk.goto(f"/appointments/{appointment_id}/")
        move = desk.locator("#move-form")
        move.locator("[name=time]").fill("16:00")
        move.locator("button").click()
        expect(desk.locator(".alert-success")).to_be_visible()
        on_phone("cambió de hora")
        accept_dialogs(desk, [True], [])
        desk.locator("#cancel-form button").click()
        expect(desk.locator("#appointment")).to_have_attribute("data-status", "cancelled")
        on_phone("fue cancelada")
        kinds = {row[0] for row in desk_journey.stack.sql(
            "SELECT kind FROM notifications_message WHERE appointment_id = %s", (appointment_id,))}
        assert {"booked", "moved", "cancelled"} <= kinds
    finally:
        desk_journey.settings_form(desk, quiet_start="20:00", quiet_end="08:00", notify_booked=False,
                                   notify_moved=False, notify_cancelled=False)


# --- 7 (last: it unlinks WhatsApp, and links it again) -------------------------------------------


def test_7_the_relink_alert_speaks_in_words_and_closes_itself_once_linked_again(desk, desk_journey):
    desk_journey.link_whatsapp(desk)
    response = desk_journey.stack.bridge("POST", f"/sandbox/api/{desk_journey.organization_id}/logout")
    response.raise_for_status()
    desk.goto("/dashboard/alerts/")
    alert = desk.locator(".staff-alert[data-kind=session_needs_relink]")

    def alert_shown():
        desk.goto("/dashboard/alerts/")
        return alert.count() == 1

    wait_until(alert_shown, timeout=30, interval=1, message="the relink alert")
    expect(alert).to_contain_text("el teléfono quitó el vínculo")
    expect(alert).not_to_contain_text(re.compile(r"\((logout|device_removed|logged_out)\)"))

    desk_journey.linked = False
    desk_journey.link_whatsapp(desk)
    desk.goto("/dashboard/alerts/")
    expect(desk.locator(".staff-alert[data-kind=session_needs_relink]")).to_have_count(0)
    expect(desk.locator("body")).to_contain_text("se cerró sola")
