import datetime as dt

import pytest

from apps.appointments.models import ConfirmationStatus, EventSource
from apps.appointments.services import appointment_confirmation_set
from apps.notifications.reminders import confirmations_mark_no_response
from apps.notifications.services import notification_settings_update
from apps.notifications.tests.conftest import local

pytestmark = pytest.mark.django_db


def test_an_unanswered_confirmation_becomes_no_response_at_the_clinic_s_cut_off(organization, book):
    notification_settings_update(organization=organization, data={"no_response_hours": 3})
    appointment = book(local(3, 10))
    appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.REQUESTED,
                                 source=EventSource.SYSTEM)
    assert confirmations_mark_no_response(now=appointment.start - dt.timedelta(hours=4)) == 0
    assert confirmations_mark_no_response(now=appointment.start - dt.timedelta(hours=3)) == 1
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.NO_RESPONSE


def test_answered_confirmations_are_left_alone(organization, book):
    appointment = book(local(3, 10))
    appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.CONFIRMED,
                                 source=EventSource.UI)
    assert confirmations_mark_no_response(now=appointment.start - dt.timedelta(minutes=10)) == 0
