"""The staff UI: calendars, today list with htmx moves, booking form, detail and patient fragment."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentStatus, EventSource
from apps.appointments.services import appointment_confirmation_set
from apps.appointments.tests.conftest import bogota
from apps.appointments.tests.factories import AppointmentFactory, ProviderFactory
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(organization, patient, provider, exam, monday_9am):
    return AppointmentFactory(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                              start=monday_9am)


@pytest.fixture
def today_appointment(organization, patient, provider, exam):
    # Started a minute ago (or at midnight, just after it): today's list, and its moves open.
    now = timezone.now().astimezone(organization.zone)
    start = max(now.replace(second=0, microsecond=0) - dt.timedelta(minutes=1),
                now.replace(hour=0, minute=0, second=0, microsecond=0))
    return AppointmentFactory(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                              start=start, end=start + dt.timedelta(minutes=30))


def test_day_calendar_shows_appointments_in_the_clinics_time_with_confirmation_hooks(staff_client, booked):
    appointment_confirmation_set(appointment=booked, confirmation="confirmed", source=EventSource.UI)

    response = staff_client.get(reverse("calendar"), {"date": "2031-03-03"})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-appointment-id="{booked.pk}"' in html
    assert 'data-status="scheduled"' in html and 'data-confirmation="confirmed"' in html
    assert "09:00–09:30" in html  # 14:00 UTC shown in Bogotá
    assert "Confirmada" in html
    assert "Juan Pérez" in html


def test_free_slots_link_to_the_booking_form_with_provider_and_time(staff_client, provider):
    response = staff_client.get(reverse("calendar"), {"date": "2031-03-03", "provider": provider.pk})

    html = response.content.decode()
    assert f"{reverse('appointment-create')}?start=2031-03-03T08:00&provider={provider.pk}" in html
    assert "data-free-slot" in html


def test_week_calendar_of_one_provider_has_seven_days(staff_client, provider, booked):
    response = staff_client.get(reverse("calendar"), {"date": "2031-03-05", "view": "week", "provider": provider.pk})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-day="2031-03-') == 7
    assert f'data-appointment-id="{booked.pk}"' in html


def test_calendar_of_all_providers_has_a_column_each(staff_client, organization, provider):
    ProviderFactory(organization=organization, display_name="Dr. Segundo")

    html = staff_client.get(reverse("calendar"), {"date": "2031-03-03"}).content.decode()

    assert "Dra. Ana Ruiz" in html and "Dr. Segundo" in html


def test_week_of_several_providers_loads_a_section_per_provider(staff_client, organization, provider, booked):
    second = ProviderFactory(organization=organization, display_name="Dr. Segundo")

    shell = staff_client.get(reverse("calendar"), {"date": "2031-03-05", "view": "week"}).content.decode()
    section = staff_client.get(reverse("calendar-provider-week", args=[provider.pk]), {"date": "2031-03-05"},
                               HTTP_HX_REQUEST="true").content.decode()

    # The shell names each provider and asks for their week as it scrolls into view; no grid of its own.
    for each in (provider, second):
        assert f'data-provider-week="{each.pk}"' in shell and each.display_name in shell
        assert f'{reverse("calendar-provider-week", args=[each.pk])}?date=2031-03-03' in shell
    assert 'hx-trigger="intersect once"' in shell
    assert f'data-appointment-id="{booked.pk}"' not in shell
    # A section is that provider's week: seven days, the appointment, free cells that book with them.
    assert "<html" not in section and section.count('data-day="2031-03-') == 7
    assert f'data-appointment-id="{booked.pk}"' in section and "09:00–09:30" in section
    assert f"?start=2031-03-03T08:00&provider={provider.pk}" in section


def test_a_provider_week_section_of_another_clinic_is_not_found(staff_client, other_provider):
    response = staff_client.get(reverse("calendar-provider-week", args=[other_provider.pk]), {"date": "2031-03-05"})

    assert response.status_code == 404


def test_calendar_shows_the_dst_clinics_local_time(client, monday_9am):
    from apps.appointments.tests.factories import AppointmentTypeFactory
    from apps.organizations.models import Role
    from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory

    organization = OrganizationFactory(time_zone="America/New_York")
    member = MembershipFactory(organization=organization, role=Role.STAFF).user
    AppointmentFactory(organization=organization, appointment_type=AppointmentTypeFactory(organization=organization),
                       start=dt.datetime(2031, 7, 7, 13, 0, tzinfo=dt.UTC),
                       end=dt.datetime(2031, 7, 7, 13, 30, tzinfo=dt.UTC))
    client.force_login(member)

    html = client.get(reverse("calendar"), {"date": "2031-07-07"}).content.decode()

    assert "09:00–09:30" in html  # EDT, UTC-4


def test_today_list_moves_a_status_with_htmx_returning_just_the_row(staff_client, today_appointment):
    response = staff_client.get(reverse("today"))
    assert f'id="appointment-row-{today_appointment.pk}"' in response.content.decode()

    response = staff_client.post(reverse("appointment-status", args=[today_appointment.pk]),
                                 {"status": "arrived", "context": "row"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<tr") and "<html" not in html
    assert 'data-status="arrived"' in html
    assert 'data-move="in_progress"' in html and 'data-move="arrived"' not in html
    today_appointment.refresh_from_db()
    assert today_appointment.status == AppointmentStatus.ARRIVED
    assert today_appointment.events.get().source == "ui"


def test_an_illegal_move_from_the_today_list_shows_the_error_in_the_row(staff_client, today_appointment):
    response = staff_client.post(reverse("appointment-status", args=[today_appointment.pk]),
                                 {"status": "completed", "context": "row"}, HTTP_HX_REQUEST="true")

    assert 'data-role="error"' in response.content.decode()
    today_appointment.refresh_from_db()
    assert today_appointment.status == AppointmentStatus.SCHEDULED


def test_booking_form_books_and_opens_the_appointment(staff_client, staff_user, patient, provider, exam):
    response = staff_client.post(reverse("appointment-create"), {
        "patient": patient.pk, "provider": provider.pk, "appointment_type": exam.pk,
        "date": "2031-03-03", "time": "10:00", "notes": "Primera vez",
    })

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("appointment-detail", args=[appointment.pk])
    assert appointment.start == bogota(2031, 3, 3, 10)
    assert appointment.booked_by == staff_user


def test_booking_form_prefills_from_a_clicked_slot_and_a_patient(staff_client, patient, provider):
    response = staff_client.get(reverse("appointment-create"),
                                {"start": "2031-03-03T08:30", "provider": provider.pk, "patient": patient.pk})

    html = response.content.decode()
    assert 'value="2031-03-03"' in html and 'value="08:30' in html
    assert f'value="{patient.pk}" checked' in html


def test_booking_form_refuses_outside_hours_naming_the_time(staff_client, patient, provider, exam):
    response = staff_client.post(reverse("appointment-create"), {
        "patient": patient.pk, "provider": provider.pk, "appointment_type": exam.pk,
        "date": "2031-03-02", "time": "10:00",
    })

    assert response.status_code == 400
    assert 'data-field="time"' in response.content.decode()
    assert not Appointment.objects.exists()


def test_staff_cannot_override_but_an_administrator_can(client, staff_user, admin_user, patient, provider, exam):
    sunday = {"patient": patient.pk, "provider": provider.pk, "appointment_type": exam.pk, "date": "2031-03-02",
              "time": "10:00", "override": "on"}

    client.force_login(staff_user)
    assert client.post(reverse("appointment-create"), sunday).status_code == 400
    client.force_login(admin_user)
    assert client.post(reverse("appointment-create"), sunday).status_code == 302
    assert Appointment.objects.count() == 1


def test_patient_search_finds_patients_of_the_clinic_only(staff_client, organization, patient, other_patient):
    PatientFactory(organization=organization, first_name="María", last_name="Gómez")

    html = staff_client.get(reverse("appointment-patient-search"), {"q": "pérez"}).content.decode()
    assert f'data-patient-id="{patient.pk}"' in html
    html = staff_client.get(reverse("appointment-patient-search"), {"q": "Clínica"}).content.decode()
    assert f'data-patient-id="{other_patient.pk}"' not in html


def test_detail_page_shows_history_badges_and_actions(staff_client, booked):
    appointment_confirmation_set(appointment=booked, confirmation="requested", source=EventSource.WHATSAPP)

    html = staff_client.get(reverse("appointment-detail", args=[booked.pk])).content.decode()

    assert 'id="status-panel"' in html and f'data-appointment-id="{booked.pk}"' in html
    assert 'data-confirmation="requested"' in html
    assert 'data-event-kind="confirmation"' in html
    assert 'id="move-form"' in html and 'id="cancel-form"' in html


def test_detail_status_panel_moves_with_htmx(staff_client, today_appointment):
    response = staff_client.post(reverse("appointment-status", args=[today_appointment.pk]), {"status": "no_show"},
                                 HTTP_HX_REQUEST="true")

    assert 'id="status-panel"' in response.content.decode()
    assert 'data-status="no_show"' in response.content.decode()


def test_move_cancel_and_confirm_from_the_detail_page(staff_client, booked):
    staff_client.post(reverse("appointment-confirmation", args=[booked.pk]), {"confirmation": "confirmed"})
    booked.refresh_from_db()
    assert booked.confirmation == "confirmed"

    staff_client.post(reverse("appointment-move", args=[booked.pk]),
                      {"provider": booked.provider_id, "date": "2031-03-04", "time": "11:15"})
    booked.refresh_from_db()
    assert booked.start == bogota(2031, 3, 4, 11, 15)
    assert booked.confirmation == "unconfirmed"

    staff_client.post(reverse("appointment-cancel", args=[booked.pk]), {"cancelled_by": "patient", "reason": "Viaje"})
    booked.refresh_from_db()
    assert (booked.status, booked.cancelled_by, booked.cancel_reason) == ("cancelled", "patient", "Viaje")


def test_patient_fragment_lists_that_patients_appointments(staff_client, patient, booked, organization):
    AppointmentFactory(organization=organization, start=bogota(2031, 3, 3, 11))  # someone else

    response = staff_client.get(reverse("patient-appointments", args=[patient.pk]))

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.count("<tr data-appointment-id") == 1
    assert f'data-appointment-id="{booked.pk}"' in html


def test_nav_links_appear(staff_client):
    html = staff_client.get(reverse("home")).content.decode()

    assert reverse("calendar") in html and reverse("today") in html


def test_pages_need_a_login(client, booked):
    for url in (reverse("calendar"), reverse("today"), reverse("appointment-create"),
                reverse("appointment-detail", args=[booked.pk])):
        assert client.get(url).status_code == 302


def test_the_ical_feed_lists_the_providers_visits_behind_its_token(client, provider, booked, organization):
    AppointmentFactory(organization=organization, start=timezone.now() + dt.timedelta(days=400))  # out of range
    soon = AppointmentFactory(organization=organization, provider=provider,
                              start=timezone.now() + dt.timedelta(days=2),
                              end=timezone.now() + dt.timedelta(days=2, minutes=30))

    response = client.get(reverse("provider-feed", args=[provider.feed_token]))

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert f"UID:appointment-{soon.pk}@" in body
    assert f"UID:appointment-{booked.pk}@" not in body  # years ahead, outside the feed's window
    assert soon.patient.last_name not in body  # only an initial leaves the clinic
    assert client.get(reverse("provider-feed", args=["not-the-token"])).status_code == 404


def test_booking_form_suggests_free_times_from_availability(staff_client, organization, exam, other_provider):
    morning = ProviderFactory(organization=organization, display_name="Dr. Temprano", hours=[(0, "08:00", "09:00")])
    AppointmentFactory(organization=organization, provider=morning, appointment_type=exam,
                       start=bogota(2031, 3, 3, 8), end=bogota(2031, 3, 3, 8, 30))

    query = {"provider": morning.pk, "appointment_type": exam.pk, "date": "2031-03-03"}
    html = staff_client.get(reverse("appointment-slots"), query).content.decode()
    theirs = staff_client.get(reverse("appointment-slots"), {"provider": other_provider.pk,
                                                             "appointment_type": exam.pk, "date": "2031-03-03"})

    assert [part.split('"')[0] for part in html.split('data-slot-time="')[1:]] == ["08:30"]
    assert f'data-slot-provider="{morning.pk}"' in html
    assert "data-slot-time" not in theirs.content.decode()


def test_past_cells_of_the_calendar_are_not_offered(organization, provider):
    from apps.appointments.calendar_grid import calendar_build

    grid = calendar_build(organization=organization, first_day=dt.date(2031, 3, 3), view="day", provider=provider,
                          providers=[provider], now=bogota(2031, 3, 3, 12))

    free = [cell.start.strftime("%H:%M") for cell in grid.columns[0].cells if cell.free]
    assert free[0] == "12:00" and "11:45" not in free


def test_the_today_list_refreshes_its_rows_for_htmx(staff_client, today_appointment):
    page = staff_client.get(reverse("today")).content.decode()
    rows = staff_client.get(reverse("today"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="today-rows").content.decode()

    assert 'id="today-rows"' in page and 'hx-trigger="every 30s"' in page
    assert rows.lstrip().startswith("<tr") and "<html" not in rows
    assert f'data-appointment-id="{today_appointment.pk}"' in rows


@pytest.mark.parametrize("params", [{"date": "9999-12-31", "view": "week"}, {"date": "0001-01-01"},
                                    {"provider": "²"}])
def test_the_calendar_shows_today_for_a_day_or_provider_it_cannot_use(staff_client, provider, params):
    response = staff_client.get(reverse("calendar"), params)

    assert response.status_code == 200
    assert response.context["day"] == response.context["today"]
