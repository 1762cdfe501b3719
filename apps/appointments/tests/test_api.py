import datetime as dt

import pytest

from apps.appointments.models import Appointment
from apps.appointments.tests.conftest import bogota
from apps.appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def _booking(patient, provider, exam, start="2031-03-03T09:00:00-05:00", **extra):
    return {"patient": patient.pk, "provider": provider.pk, "appointment_type": exam.pk, "start": start, **extra}


def test_booking_through_the_api(staff_api, staff_user, patient, provider, exam):
    response = staff_api.post("/api/appointments/", _booking(patient, provider, exam, notes="Control"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    appointment = Appointment.objects.get(pk=body["id"])
    assert appointment.start == bogota(2031, 3, 3, 9)
    assert (body["status"], body["confirmation"], body["patient_name"]) == ("scheduled", "unconfirmed", "Juan Pérez")
    assert appointment.booked_by == staff_user
    assert appointment.events.get().source == "api"


def test_overlap_end_before_start_and_off_hours_are_400s_naming_the_field(staff_api, patient, provider, exam):
    assert staff_api.post("/api/appointments/", _booking(patient, provider, exam), format="json").status_code == 201

    overlap = staff_api.post("/api/appointments/", _booking(patient, provider, exam), format="json")
    backwards = staff_api.post("/api/appointments/", _booking(patient, provider, exam, start="2031-03-03T11:00:00Z",
                                                              end="2031-03-03T10:00:00Z"), format="json")
    sunday = staff_api.post("/api/appointments/", _booking(patient, provider, exam, start="2031-03-02T10:00:00-05:00"),
                            format="json")
    missing = staff_api.post("/api/appointments/", {"patient": patient.pk}, format="json")

    assert (overlap.status_code, list(overlap.json()["fields"])) == (400, ["start"])
    assert (backwards.status_code, list(backwards.json()["fields"])) == (400, ["end"])
    assert (sunday.status_code, list(sunday.json()["fields"])) == (400, ["start"])
    assert missing.status_code == 400 and {"provider", "appointment_type", "start"} <= set(missing.json()["fields"])
    assert Appointment.objects.count() == 1


def test_only_administrators_may_override_through_the_api(staff_api, admin_api, patient, provider, exam):
    sunday = _booking(patient, provider, exam, start="2031-03-02T10:00:00-05:00", override=True)

    refused = staff_api.post("/api/appointments/", sunday, format="json")
    assert (refused.status_code, list(refused.json()["fields"])) == (400, ["override"])
    assert admin_api.post("/api/appointments/", sunday, format="json").status_code == 201


def test_listing_by_local_days_provider_and_status(staff_api, organization, provider):
    monday = AppointmentFactory(organization=organization, provider=provider, start=bogota(2031, 3, 3, 9))
    AppointmentFactory(organization=organization, provider=provider, start=bogota(2031, 3, 3, 20))
    AppointmentFactory(organization=organization, start=bogota(2031, 3, 4, 9))
    AppointmentFactory(organization=organization, provider=provider, start=bogota(2031, 3, 3, 10),
                       status="completed")

    by_day = staff_api.get("/api/appointments/", {"date_from": "2031-03-03", "date_to": "2031-03-03"}).json()
    by_provider_status = staff_api.get("/api/appointments/", {"provider": provider.pk, "status": "scheduled",
                                                              "date_from": "2031-03-03"}).json()
    bad = staff_api.get("/api/appointments/", {"status": "teleported"})

    assert by_day["count"] == 3  # 20:00 Bogotá is 01:00 UTC the next day, still Monday locally
    assert [row["id"] for row in by_provider_status["results"]][0] == monday.pk
    assert by_provider_status["count"] == 2
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["status"])


def test_update_move_status_confirmation_and_cancel_through_the_api(staff_api, organization, patient, provider, exam):
    appointment = staff_api.post("/api/appointments/", _booking(patient, provider, exam), format="json").json()
    url = f"/api/appointments/{appointment['id']}/"
    fitting = AppointmentTypeFactory(organization=organization)

    notes = staff_api.patch(url, {"notes": "Trae fórmula", "appointment_type": fitting.pk}, format="json")
    confirmed = staff_api.post(url + "confirmation/", {"confirmation": "confirmed"}, format="json")
    moved = staff_api.patch(url, {"start": "2031-03-03T10:00:00-05:00"}, format="json")
    illegal = staff_api.post(url + "status/", {"status": "completed"}, format="json")
    too_early = staff_api.post(url + "status/", {"status": "arrived"}, format="json")
    cancelled = staff_api.post(url + "cancel/", {"reason": "Se fue", "by_patient": False}, format="json")

    assert notes.json()["notes"] == "Trae fórmula" and notes.json()["appointment_type"] == fitting.pk
    assert confirmed.json()["confirmation"] == "confirmed"
    assert moved.status_code == 200
    assert dt.datetime.fromisoformat(moved.json()["start"]) == bogota(2031, 3, 3, 10)
    assert moved.json()["confirmation"] == "unconfirmed"
    assert (illegal.status_code, list(illegal.json()["fields"])) == (400, ["status"])
    # A 2031 appointment has not started: recording the arrival now cannot be true.
    assert (too_early.status_code, list(too_early.json()["fields"])) == (400, ["status"])
    assert "La llegada del paciente se puede registrar desde" in too_early.json()["detail"]
    assert (cancelled.json()["status"], cancelled.json()["cancelled_by"]) == ("cancelled", "staff")


def test_providers_and_types(staff_api, admin_api, provider, exam, admin_user, organization):
    providers = staff_api.get("/api/providers/").json()
    assert [p["display_name"] for p in providers["results"]] == ["Dra. Ana Ruiz"]
    assert len(providers["results"][0]["working_hours"]) == 6
    assert providers["results"][0]["feed_url"] is None  # staff see no one's secret feed
    assert staff_api.get("/api/appointment-types/").json()["results"][0]["name"] == "Examen visual"

    assert staff_api.post("/api/providers/", {"display_name": "X"}, format="json").status_code == 403
    created = admin_api.post("/api/providers/", {"display_name": "Dr. Nuevo", "user": admin_user.pk}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["feed_url"].startswith("http://testserver/appointments/feeds/")
    duplicate = admin_api.post("/api/appointment-types/", {"name": "examen visual", "duration_minutes": 30},
                               format="json")
    assert (duplicate.status_code, list(duplicate.json()["fields"])) == (400, ["name"])
    renamed = admin_api.patch(f"/api/appointment-types/{exam.pk}/", {"duration_minutes": 40}, format="json")
    assert renamed.json()["duration_minutes"] == 40


def test_availability_through_the_api(staff_api, organization, exam):
    morning = ProviderFactory(organization=organization, hours=[(0, "08:00", "09:00")])

    response = staff_api.get("/api/availability/", {"appointment_type": exam.pk, "date_from": "2031-03-03"})
    too_long = staff_api.get("/api/availability/", {"appointment_type": exam.pk, "date_from": "2031-03-03",
                                                    "date_to": "2031-12-31"})

    body = response.json()
    assert body["count"] == 3  # 08:00, 08:15, 08:30 with the default 15-minute step
    assert {row["provider"] for row in body["results"]} == {morning.pk}
    assert dt.datetime.fromisoformat(body["results"][0]["start"]) == bogota(2031, 3, 3, 8)
    assert (too_long.status_code, list(too_long.json()["fields"])) == (400, ["date_to"])


def test_the_api_needs_a_token(api_client):
    assert api_client.get("/api/appointments/").status_code in (401, 403)


def test_an_appointment_type_needs_only_a_name_and_gets_the_default_duration(admin_api):
    response = admin_api.post("/api/appointment-types/", {"name": "\u0090\u00bb", "is_active": True})

    assert response.status_code == 201, response.json()
    assert response.json()["duration_minutes"] == 30


@pytest.mark.parametrize("params", [
    {"date_from": "9999-12-31"}, {"date_to": "9999-12-31"}, {"date_from": "0001-01-01"},
])
def test_days_past_what_the_calendar_can_step_to_are_400s_naming_the_field(staff_api, exam, params):
    listing = staff_api.get("/api/appointments/", params)
    availability = staff_api.get("/api/availability/", {"appointment_type": exam.pk, "date_from": "2031-03-03",
                                                        **params})

    for response in (listing, availability):
        assert response.status_code == 400
        assert list(response.json()["fields"]) == list(params)


def test_a_unicode_digit_in_an_id_parameter_is_a_400_naming_it(staff_api):
    response = staff_api.get("/api/appointments/", {"patient": "²"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["patient"]


def test_another_clinic_s_user_and_a_missing_one_answer_alike_as_a_provider_s_user(admin_api, other_user):
    theirs = admin_api.post("/api/providers/", {"display_name": "Dr. X", "user": other_user.pk})
    missing = admin_api.post("/api/providers/", {"display_name": "Dr. X", "user": other_user.pk + 1000})

    assert theirs.status_code == missing.status_code == 400
    assert (theirs.json()["fields"]["user"][0].replace(str(other_user.pk), "ID")
            == missing.json()["fields"]["user"][0].replace(str(other_user.pk + 1000), "ID"))
    assert list(theirs.json()["fields"]) == ["user"]
