"""Dates written out follow the active language: no "3 de November" in English, no "November 3" in Spanish."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from apps.common.templatetags.dates_ui import long_day

DAY = dt.date(2026, 11, 3)


@pytest.mark.parametrize(("language", "with_year", "expected"), [
    ("es", False, "martes 3 de noviembre"),
    ("es", True, "martes 3 de noviembre de 2026"),
    ("en", False, "Tuesday, November 3"),
    ("en", True, "Tuesday, November 3, 2026"),
])
def test_a_long_day_reads_naturally_in_each_language(language, with_year, expected):
    with translation.override(language):
        assert long_day(DAY, with_year) == expected


@pytest.mark.django_db
def test_the_today_page_in_english_has_no_spanish_date_words(staff_client):
    staff_client.cookies["django_language"] = "en"
    html = staff_client.get(reverse("today")).content.decode()
    assert " de " not in html.split("<h1", 1)[1].split("</h1>", 1)[0]


@pytest.mark.django_db
def test_a_reminder_to_an_english_speaking_patient_writes_the_date_in_english(organization):
    from apps.appointments.tests.factories import AppointmentFactory
    from apps.notifications.rendering import context_for
    from apps.patients.tests.factories import PatientFactory

    patient = PatientFactory(consenting=True, organization=organization, preferred_language="en")
    appointment = AppointmentFactory(organization=organization, patient=patient,
                                     start=dt.datetime(2031, 3, 4, 15, tzinfo=dt.UTC))
    context = context_for(organization=organization, patient=patient, appointment=appointment, language="en")
    assert context["date"] == "Tuesday, March 4"
