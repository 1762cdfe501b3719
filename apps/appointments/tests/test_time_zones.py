"""Working hours are wall-clock times of the clinic, on both sides of a DST change."""

import datetime as dt
import zoneinfo

import pytest

from apps.appointments.models import EventSource
from apps.appointments.services import appointment_book, appointment_move
from apps.appointments.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.common.exceptions import ApplicationError
from apps.organizations.tests.factories import OrganizationFactory
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# US clocks go forward on Sunday 2031-03-09: the Friday before is UTC-5, the Monday after UTC-4.
FRIDAY_BEFORE = dt.date(2031, 3, 7)
MONDAY_AFTER = dt.date(2031, 3, 10)


@pytest.fixture
def new_york_clinic():
    organization = OrganizationFactory(time_zone="America/New_York")
    return {
        "organization": organization,
        "patient": PatientFactory(organization=organization),
        "provider": ProviderFactory(organization=organization, hours=[(d, "09:00", "17:00") for d in range(5)]),
        "appointment_type": AppointmentTypeFactory(organization=organization, duration_minutes=30),
    }


def _utc(day, hour):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def test_the_dates_straddle_a_dst_change():
    assert dt.datetime.combine(FRIDAY_BEFORE, dt.time(9), tzinfo=NEW_YORK).utcoffset() == dt.timedelta(hours=-5)
    assert dt.datetime.combine(MONDAY_AFTER, dt.time(9), tzinfo=NEW_YORK).utcoffset() == dt.timedelta(hours=-4)


def test_opening_time_is_a_different_utc_instant_before_and_after_the_change(new_york_clinic):
    # 14:00 UTC is 09:00 on the Friday but 10:00 on the Monday; 13:00 UTC is 08:00 / 09:00.
    friday = appointment_book(**new_york_clinic, start=_utc(FRIDAY_BEFORE, 14))
    monday = appointment_book(**new_york_clinic, start=_utc(MONDAY_AFTER, 13))

    assert friday.start.astimezone(NEW_YORK).time() == dt.time(9)
    assert monday.start.astimezone(NEW_YORK).time() == dt.time(9)
    with pytest.raises(ApplicationError) as caught:
        appointment_book(**new_york_clinic, start=_utc(FRIDAY_BEFORE, 13))
    assert caught.value.field == "start"


def test_closing_time_follows_the_wall_clock(new_york_clinic):
    # 16:30 local is the last half hour: 21:30 UTC before the change, 20:30 UTC after.
    assert appointment_book(**new_york_clinic, start=_utc(FRIDAY_BEFORE, 21) + dt.timedelta(minutes=30)).pk
    with pytest.raises(ApplicationError):
        appointment_book(**new_york_clinic, start=_utc(MONDAY_AFTER, 21) + dt.timedelta(minutes=30))


def test_a_naive_time_means_the_clinics_local_time_in_either_season(new_york_clinic):
    monday = appointment_book(**new_york_clinic, start=dt.datetime.combine(MONDAY_AFTER, dt.time(9)))

    assert monday.start == _utc(MONDAY_AFTER, 13)


def test_moving_across_the_change_keeps_the_local_time_checks(new_york_clinic):
    appointment = appointment_book(**new_york_clinic, start=_utc(FRIDAY_BEFORE, 14))

    with pytest.raises(ApplicationError):
        appointment_move(appointment=appointment, start=_utc(MONDAY_AFTER, 12), source=EventSource.UI)
    appointment_move(appointment=appointment, start=_utc(MONDAY_AFTER, 13), source=EventSource.UI)

    appointment.refresh_from_db()
    assert appointment.start.astimezone(NEW_YORK).time() == dt.time(9)


def test_bogota_has_no_dst_so_opening_is_the_same_utc_instant_all_year():
    organization = OrganizationFactory(time_zone="America/Bogota")
    clinic = {
        "organization": organization,
        "patient": PatientFactory(organization=organization),
        "provider": ProviderFactory(organization=organization, hours=[(d, "08:00", "12:00") for d in range(5)]),
        "appointment_type": AppointmentTypeFactory(organization=organization, duration_minutes=30),
    }

    for day in (dt.date(2031, 1, 6), dt.date(2031, 7, 7)):  # winter and summer Mondays up north
        assert appointment_book(**clinic, start=_utc(day, 13)).start.astimezone(organization.zone).time() == dt.time(8)
        with pytest.raises(ApplicationError):
            appointment_book(**clinic, start=_utc(day, 12))
