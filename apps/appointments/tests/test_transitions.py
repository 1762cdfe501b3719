"""The transition table, exercised through the services for every pair of states."""

import datetime as dt
import itertools

import pytest

from apps.appointments.models import AppointmentEvent, AppointmentStatus, ConfirmationStatus, EventSource
from apps.appointments.services import appointment_confirmation_set, appointment_status_change
from apps.appointments.tests.factories import AppointmentFactory
from apps.appointments.transitions import CONFIRMATION_TRANSITIONS, STATUS_TRANSITIONS
from apps.common.exceptions import ApplicationError

pytestmark = pytest.mark.django_db

STATUS_PAIRS = [(a, b) for a, b in itertools.permutations(AppointmentStatus.values, 2) if b != "cancelled"]
CONFIRMATION_PAIRS = list(itertools.permutations(ConfirmationStatus.values, 2))


def _appointment(organization, **fields):
    extra = {}
    if fields.get("status") == AppointmentStatus.CANCELLED:
        from django.utils import timezone

        extra = {"cancelled_at": timezone.now(), "cancelled_by": "staff"}
    return AppointmentFactory(organization=organization, **fields, **extra)


def test_the_table_names_every_status_and_confirmation():
    assert set(STATUS_TRANSITIONS) == set(AppointmentStatus.values)
    assert set(CONFIRMATION_TRANSITIONS) == set(ConfirmationStatus.values)


def test_the_happy_path_runs_from_scheduled_to_completed(organization, staff_user):
    appointment = _appointment(organization)

    for status in ("arrived", "in_progress", "completed"):
        appointment_status_change(appointment=appointment, to_status=status, actor=staff_user, source=EventSource.UI,
                                  now=appointment.start)

    assert appointment.status == AppointmentStatus.COMPLETED
    events = list(AppointmentEvent.objects.filter(appointment=appointment).values_list("from_value", "to_value"))
    assert events == [("scheduled", "arrived"), ("arrived", "in_progress"), ("in_progress", "completed")]


@pytest.mark.parametrize(("from_status", "to_status"), STATUS_PAIRS)
def test_a_status_move_succeeds_exactly_when_the_table_allows_it(organization, from_status, to_status):
    appointment = _appointment(organization, status=from_status)

    if to_status in STATUS_TRANSITIONS[from_status]:
        appointment_status_change(appointment=appointment, to_status=to_status, source=EventSource.API,
                                  now=appointment.start)
        appointment.refresh_from_db()
        assert appointment.status == to_status
        event = appointment.events.get()
        assert (event.kind, event.from_value, event.to_value, event.source) == ("status", from_status, to_status, "api")
    else:
        with pytest.raises(ApplicationError) as caught:
            appointment_status_change(appointment=appointment, to_status=to_status, source=EventSource.API,
                                      now=appointment.start)
        assert caught.value.field == "status"
        appointment.refresh_from_db()
        assert appointment.status == from_status
        assert not appointment.events.exists()


@pytest.mark.parametrize(("from_value", "to_value"), CONFIRMATION_PAIRS)
def test_a_confirmation_move_succeeds_exactly_when_the_table_allows_it(organization, from_value, to_value):
    appointment = _appointment(organization, confirmation=from_value)

    if to_value in CONFIRMATION_TRANSITIONS[from_value]:
        appointment_confirmation_set(appointment=appointment, confirmation=to_value, source=EventSource.WHATSAPP)
        appointment.refresh_from_db()
        assert appointment.confirmation == to_value
        event = appointment.events.get()
        assert (event.kind, event.from_value, event.to_value, event.source) == (
            "confirmation", from_value, to_value, "whatsapp")
    else:
        with pytest.raises(ApplicationError) as caught:
            appointment_confirmation_set(appointment=appointment, confirmation=to_value, source=EventSource.WHATSAPP)
        assert caught.value.field == "confirmation"
        appointment.refresh_from_db()
        assert appointment.confirmation == from_value


def test_setting_the_same_value_again_changes_nothing(organization):
    appointment = _appointment(organization, confirmation=ConfirmationStatus.CONFIRMED, status="arrived")

    appointment_confirmation_set(appointment=appointment, confirmation="confirmed", source=EventSource.WHATSAPP)
    appointment_status_change(appointment=appointment, to_status="arrived", source=EventSource.UI)

    assert not appointment.events.exists()


def test_a_finished_appointment_takes_no_confirmation(organization):
    appointment = _appointment(organization, status=AppointmentStatus.COMPLETED)

    with pytest.raises(ApplicationError) as caught:
        appointment_confirmation_set(appointment=appointment, confirmation="confirmed", source=EventSource.WHATSAPP)

    assert caught.value.field == "confirmation"


def test_an_unknown_status_is_refused_naming_the_field(organization):
    appointment = _appointment(organization)

    with pytest.raises(ApplicationError) as caught:
        appointment_status_change(appointment=appointment, to_status="teleported", source=EventSource.API)

    assert caught.value.field == "status"


@pytest.mark.parametrize("to_status", ["in_progress", "no_show"])
def test_a_move_about_the_visit_is_refused_before_the_start(organization, to_status):
    appointment = _appointment(organization)

    with pytest.raises(ApplicationError) as caught:
        appointment_status_change(appointment=appointment, to_status=to_status, source=EventSource.UI,
                                  now=appointment.start - dt.timedelta(minutes=1))

    assert (caught.value.field, caught.value.code) == ("status", "too_early")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED and not appointment.events.exists()


def test_an_early_arrival_is_recorded_within_the_clinic_s_window_only(organization):
    from apps.appointments.provider_services import scheduling_settings_update

    scheduling_settings_update(organization=organization, late_cancel_hours=24, slot_minutes=15,
                               early_arrival_minutes=30)
    appointment = _appointment(organization)

    with pytest.raises(ApplicationError) as caught:
        appointment_status_change(appointment=appointment, to_status="arrived", source=EventSource.UI,
                                  now=appointment.start - dt.timedelta(minutes=31))
    assert "30" in caught.value.message
    appointment_status_change(appointment=appointment, to_status="arrived", source=EventSource.UI,
                              now=appointment.start - dt.timedelta(minutes=30))
    assert appointment.status == AppointmentStatus.ARRIVED
    # Seen early, though: the visit still cannot be in progress before it starts.
    with pytest.raises(ApplicationError):
        appointment_status_change(appointment=appointment, to_status="in_progress", source=EventSource.UI,
                                  now=appointment.start - dt.timedelta(minutes=5))


def test_the_buttons_offer_only_the_moves_the_clock_allows():
    from apps.appointments.transitions import FRONT_DESK_STATUSES, moves_now

    appointment = AppointmentFactory.build(status=AppointmentStatus.SCHEDULED)
    window = dt.timedelta(minutes=60)
    assert moves_now(appointment, statuses=FRONT_DESK_STATUSES, now=appointment.start - dt.timedelta(hours=2),
                     early_arrival=window) == []
    assert moves_now(appointment, statuses=FRONT_DESK_STATUSES, now=appointment.start - dt.timedelta(minutes=20),
                     early_arrival=window) == ["arrived"]
    assert moves_now(appointment, statuses=FRONT_DESK_STATUSES, now=appointment.start,
                     early_arrival=window) == ["arrived", "in_progress", "no_show"]
