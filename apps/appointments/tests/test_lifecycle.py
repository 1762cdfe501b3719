"""Moving, cancelling and the history they leave."""

import datetime as dt

import pytest

from apps.appointments.models import AppointmentStatus, CancelledBy, ConfirmationStatus, EventSource, SchedulingSettings
from apps.appointments.services import (
    appointment_book,
    appointment_cancel,
    appointment_confirmation_set,
    appointment_move,
    appointment_status_change,
    appointment_update,
)
from apps.appointments.signals import appointment_changed
from apps.appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory, ProviderFactory
from apps.common.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(organization, patient, provider, exam, monday_9am):
    return appointment_book(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                            start=monday_9am)


@pytest.fixture
def changes():
    received = []

    def listener(sender, appointment_id, change, **kwargs):
        received.append(change)

    appointment_changed.connect(listener)
    yield received
    appointment_changed.disconnect(listener)


def test_moving_keeps_the_duration_resets_confirmation_and_keeps_history(booked, staff_user, monday_9am, changes,
                                                                         django_capture_on_commit_callbacks):
    appointment_confirmation_set(appointment=booked, confirmation="confirmed", source=EventSource.WHATSAPP)
    later = monday_9am + dt.timedelta(hours=2)

    with django_capture_on_commit_callbacks(execute=True):
        appointment_move(appointment=booked, start=later, actor=staff_user, source=EventSource.UI)

    booked.refresh_from_db()
    assert (booked.start, booked.end) == (later, later + dt.timedelta(minutes=30))
    assert booked.confirmation == ConfirmationStatus.UNCONFIRMED
    moved = booked.events.get(kind="moved")
    assert (moved.from_value, moved.to_value, moved.actor) == ("2031-03-03T14:00:00+00:00", "2031-03-03T16:00:00+00:00",
                                                                    staff_user)
    assert booked.events.filter(kind="confirmation", to_value="unconfirmed").exists()
    assert changes == ["moved"]


def test_moving_onto_a_taken_slot_is_refused_and_leaves_it_where_it_was(organization, patient, provider, exam,
                                                                        booked, monday_9am):
    other = appointment_book(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                             start=monday_9am + dt.timedelta(hours=1))

    with pytest.raises(ApplicationError) as caught:
        appointment_move(appointment=other, start=monday_9am + dt.timedelta(minutes=10), source=EventSource.API)

    assert caught.value.field == "start"
    other.refresh_from_db()
    assert other.start == monday_9am + dt.timedelta(hours=1)
    assert not other.events.filter(kind="moved").exists()


def test_moving_to_another_provider_of_the_clinic(organization, booked, monday_9am):
    colleague = ProviderFactory(organization=organization)

    appointment_move(appointment=booked, start=monday_9am, provider=colleague, source=EventSource.UI)

    booked.refresh_from_db()
    assert booked.provider == colleague


def test_moving_to_a_provider_of_another_clinic_is_refused(booked, other_provider, monday_9am):
    with pytest.raises(ApplicationError) as caught:
        appointment_move(appointment=booked, start=monday_9am, provider=other_provider, source=EventSource.UI)

    assert caught.value.field == "provider"


def test_only_a_scheduled_appointment_moves(booked, monday_9am):
    appointment_status_change(appointment=booked, to_status="arrived", source=EventSource.UI, now=monday_9am)

    with pytest.raises(ApplicationError) as caught:
        appointment_move(appointment=booked, start=monday_9am + dt.timedelta(hours=1), source=EventSource.UI)

    assert caught.value.field == "status"


def test_a_staff_cancellation_well_ahead_is_not_late(booked, staff_user, changes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=booked, actor=staff_user, reason="Optómetra enfermo", source=EventSource.UI)

    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED
    assert (booked.cancelled_by, booked.cancel_reason, booked.cancelled_late) == (
        CancelledBy.STAFF, "Optómetra enfermo", False)
    assert booked.cancelled_at is not None
    assert booked.events.get(kind="cancelled").from_value == "scheduled"
    assert changes == ["cancelled"]


def test_a_patient_cancelling_inside_the_clinics_threshold_is_late_and_declines(organization):
    from django.utils import timezone

    SchedulingSettings.objects.create(organization=organization, late_cancel_hours=48)
    appointment = AppointmentFactory(organization=organization, start=timezone.now() + dt.timedelta(hours=30),
                                     end=timezone.now() + dt.timedelta(hours=31), confirmation="requested")

    appointment_cancel(appointment=appointment, by_patient=True, reason="Viaje", source=EventSource.WHATSAPP)

    appointment.refresh_from_db()
    assert (appointment.cancelled_by, appointment.cancelled_late) == (CancelledBy.PATIENT, True)
    assert appointment.confirmation == ConfirmationStatus.DECLINED
    assert set(appointment.events.values_list("kind", "source")) == {("cancelled", "whatsapp"),
                                                                     ("confirmation", "whatsapp")}


def test_cancelling_twice_is_harmless_but_a_completed_visit_cannot_be_cancelled(booked, organization):
    appointment_cancel(appointment=booked, source=EventSource.UI)
    appointment_cancel(appointment=booked, source=EventSource.UI)
    assert booked.events.filter(kind="cancelled").count() == 1

    done = AppointmentFactory(organization=organization, status=AppointmentStatus.COMPLETED)
    with pytest.raises(ApplicationError) as caught:
        appointment_cancel(appointment=done, source=EventSource.UI)
    assert caught.value.field == "status"


def test_status_change_to_cancelled_is_a_staff_cancellation(booked):
    appointment_status_change(appointment=booked, to_status="cancelled", source=EventSource.API)

    booked.refresh_from_db()
    assert (booked.status, booked.cancelled_by) == (AppointmentStatus.CANCELLED, CancelledBy.STAFF)


def test_reinstating_a_no_show_whose_slot_was_rebooked_is_refused(organization, patient, provider, exam, booked,
                                                                  monday_9am):
    appointment_status_change(appointment=booked, to_status="no_show", source=EventSource.UI, now=monday_9am)
    appointment_book(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                     start=monday_9am)

    with pytest.raises(ApplicationError) as caught:
        appointment_status_change(appointment=booked, to_status="scheduled", source=EventSource.UI)

    assert caught.value.field == "start"
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.NO_SHOW


def test_updating_notes_and_type_records_an_event(booked, organization, other_organization):
    fitting = AppointmentTypeFactory(organization=organization, name="Lentes de contacto")

    appointment_update(appointment=booked, notes="Alergia", appointment_type=fitting, source=EventSource.API)

    booked.refresh_from_db()
    assert (booked.notes, booked.appointment_type) == ("Alergia", fitting)
    assert booked.events.get(kind="updated").to_value == "appointment_type,notes"
    with pytest.raises(ApplicationError) as caught:
        appointment_update(appointment=booked, appointment_type=AppointmentTypeFactory(
            organization=other_organization), source=EventSource.API)
    assert caught.value.field == "appointment_type"
