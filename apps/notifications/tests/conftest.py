import datetime as dt

import pytest
from django.utils import timezone

from apps.appointments.services import appointment_book
from apps.notifications.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.tests.conftest import bridge_settings, live_bridge, make_bridge, make_web, make_worker  # noqa: F401

BOGOTA = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture
def provider(organization):
    return ProviderFactory(organization=organization, display_name="Dra. Ana Ruiz")


@pytest.fixture
def exam(organization):
    return AppointmentTypeFactory(organization=organization, name="Examen visual")


@pytest.fixture
def patient(organization):
    return PatientFactory(consenting=True, organization=organization, first_name="Juan", last_name="Pérez",
                                    phone="+573001234567")


@pytest.fixture
def book(organization, provider, exam, patient):
    """Book through the appointments service, as staff would (any hour: override)."""

    def book_(start: dt.datetime, *, who=None, org=None, prov=None, kind=None):
        return appointment_book(organization=org or organization, patient=who or patient, provider=prov or provider,
                                appointment_type=kind or exam, start=start, override=True)

    return book_


def local(days_ahead: int, hour: int, minute: int = 0) -> dt.datetime:
    """A Bogotá wall-clock time `days_ahead` days from today, as an aware datetime."""
    today = timezone.now().astimezone(BOGOTA).date()
    return dt.datetime.combine(today + dt.timedelta(days=days_ahead), dt.time(hour, minute), tzinfo=BOGOTA)
