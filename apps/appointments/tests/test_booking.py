"""appointment_book: the rules a booking must pass, and what it leaves behind."""

import datetime as dt

import pytest

from apps.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus, EventSource
from apps.appointments.services import appointment_book
from apps.appointments.signals import appointment_changed
from apps.appointments.tests.conftest import bogota
from apps.appointments.tests.factories import AppointmentTypeFactory, ProviderFactory, TimeOffFactory
from apps.common.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


def _book(organization, patient, provider, appointment_type, start, **kwargs):
    return appointment_book(organization=organization, patient=patient, provider=provider,
                            appointment_type=appointment_type, start=start, **kwargs)


def _refused(field, organization, patient, provider, appointment_type, start, **kwargs):
    with pytest.raises(ApplicationError) as caught:
        _book(organization, patient, provider, appointment_type, start, **kwargs)
    assert caught.value.field == field
    assert Appointment.objects.count() == 0
    return caught.value


def test_booking_takes_the_types_duration_and_records_who_and_how(organization, patient, provider, exam,
                                                                  staff_user, monday_9am):
    appointment = _book(organization, patient, provider, exam, monday_9am, booked_by=staff_user, notes="Trae gafas")

    assert appointment.end - appointment.start == dt.timedelta(minutes=30)
    assert appointment.start == dt.datetime(2031, 3, 3, 14, 0, tzinfo=dt.UTC)
    assert (appointment.status, appointment.confirmation) == (AppointmentStatus.SCHEDULED,
                                                              ConfirmationStatus.UNCONFIRMED)
    event = appointment.events.get()
    assert (event.kind, event.actor, event.source) == ("booked", staff_user, EventSource.UI)


def test_booking_announces_itself_only_once_committed(organization, patient, provider, exam, monday_9am,
                                                      django_capture_on_commit_callbacks):
    received = []

    def listener(sender, appointment_id, change, **kwargs):
        received.append((appointment_id, change))

    appointment_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            appointment = _book(organization, patient, provider, exam, monday_9am)
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        appointment_changed.disconnect(listener)

    assert received == [(appointment.pk, "booked")]


def test_a_naive_time_is_read_in_the_clinics_time_zone(organization, patient, provider, exam):
    appointment = _book(organization, patient, provider, exam, dt.datetime(2031, 3, 3, 9, 0))

    assert appointment.start == dt.datetime(2031, 3, 3, 14, 0, tzinfo=dt.UTC)


def test_an_explicit_end_before_the_start_is_refused(organization, patient, provider, exam, monday_9am):
    _refused("end", organization, patient, provider, exam, monday_9am, end=monday_9am - dt.timedelta(minutes=5))


def test_a_past_time_is_refused_unless_an_administrator_records_a_walk_in(organization, patient, provider, exam):
    yesterday = bogota(2020, 3, 2, 9)

    _refused("start", organization, patient, provider, exam, yesterday)

    assert _book(organization, patient, provider, exam, yesterday, override=True).pk


def test_outside_working_hours_is_refused_unless_overridden(organization, patient, provider, exam):
    sunday = bogota(2031, 3, 2, 10)
    monday_evening = bogota(2031, 3, 3, 17, 45)  # would end at 18:15, after closing

    error = _refused("start", organization, patient, provider, exam, sunday)
    assert error.code == "outside_hours"
    _refused("start", organization, patient, provider, exam, monday_evening)

    assert _book(organization, patient, provider, exam, sunday, override=True).pk


def test_a_provider_without_working_hours_takes_no_regular_bookings(organization, patient, exam, monday_9am):
    provider = ProviderFactory(organization=organization, hours=[])

    _refused("start", organization, patient, provider, exam, monday_9am)


def test_time_off_is_refused_unless_overridden(organization, patient, provider, exam, monday_9am):
    TimeOffFactory(provider=provider, start=bogota(2031, 3, 3, 8), end=bogota(2031, 3, 3, 12), reason="Congreso")

    error = _refused("start", organization, patient, provider, exam, monday_9am)
    assert error.code == "time_off"

    assert _book(organization, patient, provider, exam, monday_9am, override=True).pk


def test_an_overlapping_booking_is_refused_naming_start(organization, patient, provider, exam, monday_9am):
    first = _book(organization, patient, provider, exam, monday_9am)

    with pytest.raises(ApplicationError) as caught:
        _book(organization, patient, provider, exam, monday_9am + dt.timedelta(minutes=15))

    assert caught.value.field == "start"
    assert list(Appointment.objects.all()) == [first]


def test_back_to_back_bookings_and_other_providers_do_not_conflict(organization, patient, provider, exam, monday_9am):
    colleague = ProviderFactory(organization=organization)

    _book(organization, patient, provider, exam, monday_9am)
    _book(organization, patient, provider, exam, monday_9am + dt.timedelta(minutes=30))
    _book(organization, patient, colleague, exam, monday_9am)

    assert Appointment.objects.count() == 3


def test_a_cancelled_or_no_show_appointment_frees_its_slot(organization, patient, provider, exam, monday_9am):
    from apps.appointments.services import appointment_cancel

    first = _book(organization, patient, provider, exam, monday_9am)
    appointment_cancel(appointment=first, source=EventSource.UI)

    assert _book(organization, patient, provider, exam, monday_9am).pk


def test_a_patient_of_another_clinic_is_refused(organization, other_patient, provider, exam, monday_9am):
    _refused("patient", organization, other_patient, provider, exam, monday_9am)


def test_a_provider_of_another_clinic_is_refused(organization, patient, other_provider, exam, monday_9am):
    _refused("provider", organization, patient, other_provider, exam, monday_9am)


def test_a_type_of_another_clinic_is_refused(organization, other_organization, patient, provider, monday_9am):
    theirs = AppointmentTypeFactory(organization=other_organization)

    _refused("appointment_type", organization, patient, provider, theirs, monday_9am)


def test_an_inactive_provider_is_refused(organization, patient, exam, monday_9am):
    retired = ProviderFactory(organization=organization, is_active=False)

    _refused("provider", organization, patient, retired, exam, monday_9am)
