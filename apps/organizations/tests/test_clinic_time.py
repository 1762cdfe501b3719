"""Every page and API answer speaks the clinic's clock (its time zone), not the server's."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.appointments.tests.factories import AppointmentFactory
from apps.inbox.models import Conversation
from apps.notifications.tests.factories import MessageFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.patients.tests.factories import PatientFactory
from conftest import api_client_for

pytestmark = pytest.mark.django_db

# 15:15 UTC: 09:15 in Mexico City (UTC-6, no daylight saving since 2022), 10:15 in Bogotá (UTC-5).
AT = dt.datetime(2031, 3, 3, 15, 15, tzinfo=dt.UTC)


def _clinic(zone: str):
    organization = OrganizationFactory(time_zone=zone)
    return organization, MembershipFactory(organization=organization, role=Role.STAFF).user


def _inbox_with_a_message_at(client, organization, user) -> str:
    patient = PatientFactory(organization=organization, whatsapp_consent=True, whatsapp_consent_at=timezone.now())
    MessageFactory(inbound=True, organization=organization, patient=patient, body="¿Abren el sábado?")
    Conversation.objects.filter(organization=organization, patient=patient).update(last_message_at=AT)
    client.force_login(user)
    return client.get(reverse("inbox")).content.decode()


def test_the_inbox_shows_a_message_s_time_on_the_clinic_s_clock(client):
    mexico, user = _clinic("America/Mexico_City")

    html = _inbox_with_a_message_at(client, mexico, user)

    assert "09:15" in html and "10:15" not in html


def test_the_api_gives_times_with_the_clinic_s_offset():
    mexico, user = _clinic("America/Mexico_City")
    appointment = AppointmentFactory(organization=mexico, start=AT)

    answer = api_client_for(user).get(f"/api/appointments/{appointment.pk}/").json()

    assert answer["start"] == "2031-03-03T09:15:00-06:00"
    assert dt.datetime.fromisoformat(answer["start"]) == AT


def test_one_clinic_s_clock_never_stays_for_the_next_request(client):
    mexico, mexican = _clinic("America/Mexico_City")
    bogota, colombian = _clinic("America/Bogota")
    api_client_for(mexican).get(f"/api/appointments/{AppointmentFactory(organization=mexico, start=AT).pk}/")
    _inbox_with_a_message_at(client, mexico, mexican)
    client.logout()

    html = _inbox_with_a_message_at(client, bogota, colombian)

    assert "10:15" in html and "09:15" not in html
    assert timezone.get_current_timezone_name() == "America/Bogota"  # the server's, after each request
