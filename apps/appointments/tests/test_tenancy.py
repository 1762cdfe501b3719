"""A clinic never sees, counts or changes another clinic's schedule (UI and API answer 404)."""

import pytest
from django.urls import reverse

from apps.appointments.models import Appointment
from apps.appointments.tests.conftest import bogota
from apps.appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_organization, other_patient, other_provider):
    return AppointmentFactory(organization=other_organization, patient=other_patient, provider=other_provider,
                              appointment_type=AppointmentTypeFactory(organization=other_organization),
                              start=bogota(2031, 3, 3, 9))


@pytest.fixture
def mine(organization, patient, provider, exam):
    return AppointmentFactory(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                              start=bogota(2031, 3, 3, 9))


@pytest.mark.parametrize("name", ["appointment-detail", "appointment-status", "appointment-confirmation",
                                  "appointment-cancel", "appointment-move"])
def test_ui_answers_404_for_another_clinics_appointment(staff_client, theirs, name):
    method = staff_client.get if name == "appointment-detail" else staff_client.post

    response = method(reverse(name, args=[theirs.pk]), {"status": "arrived", "confirmation": "confirmed"})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.confirmation) == ("scheduled", "unconfirmed")


def test_ui_lists_only_my_clinic(staff_client, mine, theirs, other_provider, other_patient):
    calendar = staff_client.get(reverse("calendar"), {"date": "2031-03-03"}).content.decode()
    week = staff_client.get(reverse("calendar"), {"date": "2031-03-03", "view": "week"}).content.decode()

    for html in (calendar, week):
        assert f'data-appointment-id="{mine.pk}"' in html
        assert f'data-appointment-id="{theirs.pk}"' not in html
        assert other_provider.display_name not in html
    assert staff_client.get(reverse("calendar"), {"provider": other_provider.pk}).status_code == 404
    assert staff_client.get(reverse("today"), {"provider": other_provider.pk}).status_code == 404
    assert staff_client.get(reverse("patient-appointments", args=[other_patient.pk])).status_code == 404


def test_booking_form_refuses_another_clinics_patient_or_provider(staff_client, other_patient, other_provider,
                                                                  patient, provider, exam):
    data = {"patient": other_patient.pk, "provider": provider.pk, "appointment_type": exam.pk,
            "date": "2031-03-03", "time": "09:00"}

    with_their_patient = staff_client.post(reverse("appointment-create"), data)
    with_their_provider = staff_client.post(reverse("appointment-create"),
                                            {**data, "patient": patient.pk, "provider": other_provider.pk})

    assert 'data-field="patient"' in with_their_patient.content.decode()
    assert 'data-field="provider"' in with_their_provider.content.decode()
    assert not Appointment.objects.exists()


def test_booking_prefill_ignores_another_clinics_rows(staff_client, other_patient, other_provider):
    html = staff_client.get(reverse("appointment-create"),
                            {"patient": other_patient.pk, "provider": other_provider.pk}).content.decode()

    assert other_patient.last_name not in html
    assert f'value="{other_provider.pk}" selected' not in html


def test_api_lists_and_counts_only_my_clinic(staff_api, mine, theirs, other_provider):
    ProviderFactory.create_batch(2, organization=other_provider.organization)

    appointments = staff_api.get("/api/appointments/").json()
    providers = staff_api.get("/api/providers/").json()
    types = staff_api.get("/api/appointment-types/").json()

    assert (appointments["count"], [row["id"] for row in appointments["results"]]) == (1, [mine.pk])
    assert providers["count"] == 1
    assert types["count"] == 1


@pytest.mark.parametrize("path", ["/api/appointments/{a}/", "/api/providers/{p}/", "/api/appointment-types/{t}/"])
def test_api_answers_404_for_another_clinics_objects(staff_api, theirs, path):
    url = path.format(a=theirs.pk, p=theirs.provider_id, t=theirs.appointment_type_id)

    assert staff_api.get(url).status_code == 404


@pytest.mark.parametrize("action", ["cancel/", "status/", "confirmation/"])
def test_api_actions_on_another_clinics_appointment_answer_404(staff_api, theirs, action):
    response = staff_api.post(f"/api/appointments/{theirs.pk}/{action}",
                              {"status": "arrived", "confirmation": "confirmed"}, format="json")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.confirmation) == ("scheduled", "unconfirmed")


def test_api_patch_of_another_clinics_appointment_answers_404(staff_api, theirs):
    assert staff_api.patch(f"/api/appointments/{theirs.pk}/", {"notes": "x"}, format="json").status_code == 404


@pytest.mark.parametrize("field", ["patient", "provider", "appointment_type"])
def test_api_booking_with_another_clinics_row_is_a_400_naming_it(staff_api, patient, provider, exam, theirs, field):
    data = {"patient": patient.pk, "provider": provider.pk, "appointment_type": exam.pk,
            "start": "2031-03-03T10:00:00-05:00"}
    data[field] = getattr(theirs, f"{field}_id")

    response = staff_api.post("/api/appointments/", data, format="json")

    assert (response.status_code, list(response.json()["fields"])) == (400, [field])
    assert Appointment.objects.count() == 1  # only theirs


def test_api_filters_and_availability_refuse_another_clinics_ids(staff_api, theirs, exam):
    by_provider = staff_api.get("/api/appointments/", {"provider": theirs.provider_id})
    slots_type = staff_api.get("/api/availability/", {"appointment_type": theirs.appointment_type_id,
                                                      "date_from": "2031-03-03"})
    slots_provider = staff_api.get("/api/availability/", {"appointment_type": exam.pk, "date_from": "2031-03-03",
                                                          "provider": theirs.provider_id})

    assert (by_provider.status_code, list(by_provider.json()["fields"])) == (400, ["provider"])
    assert list(slots_type.json()["fields"]) == ["appointment_type"]
    assert list(slots_provider.json()["fields"]) == ["provider"]


def test_api_moving_to_another_clinics_provider_is_refused(staff_api, mine, other_provider):
    response = staff_api.patch(f"/api/appointments/{mine.pk}/", {"provider": other_provider.pk}, format="json")

    assert (response.status_code, list(response.json()["fields"])) == (400, ["provider"])


def test_scheduling_rows_all_carry_their_clinic(provider, other_provider):
    assert {wh.organization_id for wh in provider.working_hours.all()} == {provider.organization_id}
    assert {wh.organization_id for wh in other_provider.working_hours.all()} == {other_provider.organization_id}
