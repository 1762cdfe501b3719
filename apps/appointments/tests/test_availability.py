import datetime as dt

import pytest

from apps.appointments.availability import availability_list
from apps.appointments.models import EventSource
from apps.appointments.services import appointment_book, appointment_cancel
from apps.appointments.tests.conftest import bogota
from apps.appointments.tests.factories import (
    AppointmentTypeFactory,
    PatientFactory,
    ProviderFactory,
    TimeOffFactory,
)
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2031, 3, 3)


@pytest.fixture
def morning_provider(organization):
    return ProviderFactory(organization=organization, display_name="Dra. Mañana", hours=[(0, "08:00", "10:00")])


def _starts(slots, zone):
    return [slot.start.astimezone(zone).strftime("%H:%M") for slot in slots]


def test_free_slots_step_through_working_hours_and_fit_the_duration(organization, morning_provider, exam):
    slots = availability_list(organization=organization, appointment_type=exam, date_from=MONDAY, date_to=MONDAY,
                              step_minutes=30)

    assert _starts(slots, organization.zone) == ["08:00", "08:30", "09:00", "09:30"]
    assert all(slot.end - slot.start == dt.timedelta(minutes=30) for slot in slots)
    assert slots[0].start == dt.datetime(2031, 3, 3, 13, 0, tzinfo=dt.UTC)


def test_booked_slots_and_time_off_are_not_free_but_cancelled_ones_are(organization, morning_provider, exam, patient):
    taken = appointment_book(organization=organization, patient=patient, provider=morning_provider,
                             appointment_type=exam, start=bogota(2031, 3, 3, 8))
    appointment_book(organization=organization, patient=patient, provider=morning_provider, appointment_type=exam,
                     start=bogota(2031, 3, 3, 8, 30))
    TimeOffFactory(provider=morning_provider, start=bogota(2031, 3, 3, 9, 30), end=bogota(2031, 3, 3, 10))
    appointment_cancel(appointment=taken, source=EventSource.UI)

    slots = availability_list(organization=organization, appointment_type=exam, date_from=MONDAY, date_to=MONDAY,
                              step_minutes=30)

    assert _starts(slots, organization.zone) == ["08:00", "09:00"]


def test_a_longer_type_needs_a_longer_gap(organization, morning_provider):
    fitting = AppointmentTypeFactory(organization=organization, duration_minutes=45)

    slots = availability_list(organization=organization, appointment_type=fitting, date_from=MONDAY,
                              date_to=MONDAY, step_minutes=15)

    assert _starts(slots, organization.zone)[-1] == "09:15"


def test_any_provider_or_one_provider(organization, morning_provider, exam):
    ProviderFactory(organization=organization, display_name="Dr. Tarde", hours=[(0, "14:00", "15:00")])
    ProviderFactory(organization=organization, display_name="Dr. Inactivo", is_active=False)

    everyone = availability_list(organization=organization, appointment_type=exam, date_from=MONDAY,
                                 date_to=MONDAY, step_minutes=30)
    one = availability_list(organization=organization, appointment_type=exam, date_from=MONDAY, date_to=MONDAY,
                            provider=morning_provider, step_minutes=30)

    assert {slot.provider.display_name for slot in everyone} == {"Dra. Mañana", "Dr. Tarde"}
    assert {slot.provider for slot in one} == {morning_provider}


def test_the_past_has_no_free_slots(organization, morning_provider, exam):
    now = bogota(2031, 3, 3, 9, 10)

    slots = availability_list(organization=organization, appointment_type=exam, date_from=MONDAY, date_to=MONDAY,
                              step_minutes=30, now=now)

    assert _starts(slots, organization.zone) == ["09:30"]


def test_another_clinics_bookings_and_providers_do_not_count(organization, morning_provider, exam,
                                                             other_organization):
    theirs = ProviderFactory(organization=other_organization, hours=[(0, "08:00", "10:00")])
    appointment_book(organization=other_organization, patient=PatientFactory(organization=other_organization),
                     provider=theirs, appointment_type=AppointmentTypeFactory(organization=other_organization),
                     start=bogota(2031, 3, 3, 8))

    slots = availability_list(organization=organization, appointment_type=exam, date_from=MONDAY, date_to=MONDAY,
                              step_minutes=30)

    assert {slot.provider for slot in slots} == {morning_provider}
    assert len(slots) == 4


def test_slots_follow_the_wall_clock_across_a_dst_change():
    organization = OrganizationFactory(time_zone="America/Santiago")
    provider = ProviderFactory(organization=organization, hours=[(d, "09:00", "10:00") for d in range(7)])
    exam = AppointmentTypeFactory(organization=organization, duration_minutes=60)
    # Chile goes back from UTC-3 to UTC-4 on the night of Saturday 2031-04-05.
    slots = availability_list(organization=organization, appointment_type=exam, date_from=dt.date(2031, 4, 4),
                              date_to=dt.date(2031, 4, 7))

    assert [slot.start.astimezone(organization.zone).strftime("%H:%M") for slot in slots] == ["09:00"] * 4
    assert [slot.start.hour for slot in slots] == [12, 12, 13, 13]
    assert {slot.provider for slot in slots} == {provider}
