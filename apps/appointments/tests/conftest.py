import datetime as dt

import pytest

from apps.appointments.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.patients.tests.factories import PatientFactory


@pytest.fixture
def provider(organization):
    return ProviderFactory(organization=organization, display_name="Dra. Ana Ruiz")


@pytest.fixture
def exam(organization):
    return AppointmentTypeFactory(organization=organization, name="Examen visual", duration_minutes=30)


@pytest.fixture
def patient(organization):
    return PatientFactory(organization=organization, first_name="Juan", last_name="Pérez")


@pytest.fixture
def other_patient(other_organization):
    return PatientFactory(organization=other_organization, first_name="Otra", last_name="Clínica")


@pytest.fixture
def other_provider(other_organization):
    return ProviderFactory(organization=other_organization, display_name="Dr. Ajeno")


def bogota(year, month, day, hour, minute=0):
    """A future wall-clock time in Bogotá (UTC-5 all year) as an aware datetime."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


@pytest.fixture
def monday_9am():
    # A Monday far enough ahead that "now" never reaches it while this code is alive.
    return bogota(2031, 3, 3, 9)
