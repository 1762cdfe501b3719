import pytest
from django.utils import timezone

from apps.patients.models import AuditEvent, Patient, Prescription, PrescriptionStatus, Visit
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory, VisitFactory

pytestmark = pytest.mark.django_db


# --- Patients --------------------------------------------------------------------------------

def test_create_a_patient_through_the_api(staff_api, organization, staff_user):
    response = staff_api.post("/api/patients/", {"document_number": "80123456", "first_name": "Óscar",
                                                 "last_name": "Hernández", "phone": "300 123 4567"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+573001234567" and body["full_name"] == "Óscar Hernández"
    patient = Patient.objects.get(pk=body["id"])
    assert patient.organization == organization
    assert AuditEvent.objects.get(patient=patient).source == "api"


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("phone", {"phone": "123"}),
        ("birth_date", {"birth_date": "2999-01-01"}),
        ("birth_date", {"birth_date": "31/02/2000"}),
        ("document_number", {"document_number": "1020304050"}),
        ("email", {"email": "nope"}),
        ("first_name", {"first_name": ""}),
    ],
)
def test_bad_patient_input_is_a_400_naming_the_field(staff_api, patient, field, payload):
    data = {"document_number": "1", "first_name": "Ana", "last_name": "Ruiz", **payload}

    response = staff_api.post("/api/patients/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Patient.objects.count() == 1


def test_search_and_filter_patients(staff_api, organization, patient):
    PatientFactory(organization=organization, first_name="Ana", last_name="Ruiz", whatsapp_consent=False,
                   whatsapp_consent_at=None, whatsapp_consent_source="")

    by_name = staff_api.get("/api/patients/", {"q": "jose pena"}).json()
    by_phone = staff_api.get("/api/patients/", {"phone": "300 123 4567"}).json()
    without_consent = staff_api.get("/api/patients/", {"whatsapp_consent": "false"}).json()

    assert [p["id"] for p in by_name["results"]] == [patient.pk]
    assert [p["id"] for p in by_phone["results"]] == [patient.pk]
    assert [p["last_name"] for p in without_consent["results"]] == ["Ruiz"]


def test_update_a_patient_through_the_api(staff_api, patient):
    response = staff_api.patch(f"/api/patients/{patient.pk}/", {"phone": "+57 310 987 6543"}, format="json")

    assert response.status_code == 200
    assert response.json()["phone"] == "+573109876543"
    assert AuditEvent.objects.get(patient=patient, action="updated").changes["phone"][1] == "+573109876543"


def test_opt_out_is_read_only_in_the_api(staff_api, patient):
    staff_api.patch(f"/api/patients/{patient.pk}/", {"whatsapp_opted_out": True}, format="json")

    patient.refresh_from_db()
    assert not patient.whatsapp_opted_out


# --- Visits ----------------------------------------------------------------------------------

def test_an_optometrist_writes_signs_and_amends_a_visit(optometrist_api, patient, optometrist):
    created = optometrist_api.post("/api/visits/", {"patient": patient.pk, "optometrist": optometrist.pk,
                                                    "reason": "Control"}, format="json")
    assert created.status_code == 201, created.json()
    visit_id = created.json()["id"]

    signed = optometrist_api.post(f"/api/visits/{visit_id}/sign/")
    assert signed.status_code == 200 and signed.json()["is_signed"]

    edit = optometrist_api.patch(f"/api/visits/{visit_id}/", {"diagnosis": "Otro"}, format="json")
    assert edit.status_code == 400

    addendum = optometrist_api.post(f"/api/visits/{visit_id}/addenda/", {"text": "Corrección."}, format="json")
    assert addendum.status_code == 201
    assert optometrist_api.get(f"/api/visits/{visit_id}/").json()["addenda"][0]["text"] == "Corrección."


def test_staff_read_visits_but_cannot_write_or_sign_them(staff_api, patient, visit, optometrist):
    assert staff_api.get("/api/visits/", {"patient": patient.pk}).json()["count"] == 1
    assert staff_api.post("/api/visits/", {"patient": patient.pk, "optometrist": optometrist.pk,
                                           "reason": "x"}, format="json").status_code == 403
    assert staff_api.post(f"/api/visits/{visit.pk}/sign/").status_code == 403
    assert staff_api.patch(f"/api/visits/{visit.pk}/", {"plan": "x"}, format="json").status_code == 403


def test_visit_filters(optometrist_api, organization, patient, visit, optometrist):
    VisitFactory(patient=PatientFactory(organization=organization), optometrist=optometrist)
    optometrist_api.post(f"/api/visits/{visit.pk}/sign/")

    assert optometrist_api.get("/api/visits/", {"signed": "true"}).json()["count"] == 1
    assert optometrist_api.get("/api/visits/", {"patient": patient.pk}).json()["count"] == 1
    assert optometrist_api.get("/api/visits/", {"date_from": "2999-01-01"}).json()["count"] == 0


# --- Prescriptions ---------------------------------------------------------------------------

RX = {"kind": "spectacles", "od_sphere": "-1.25", "od_cylinder": "-0.50", "od_axis": 90, "os_sphere": "-1.00",
      "pd": "62.0"}


def test_a_draft_prescription_is_written_and_finalized(staff_api, optometrist_api, patient, optometrist):
    created = optometrist_api.post("/api/prescriptions/", {"patient": patient.pk, **RX}, format="json")
    assert created.status_code == 201, created.json()
    rx_id = created.json()["id"]
    assert created.json()["status"] == "draft"

    assert staff_api.post(f"/api/prescriptions/{rx_id}/finalize/").status_code == 403
    final = optometrist_api.post(f"/api/prescriptions/{rx_id}/finalize/")
    assert final.status_code == 200 and final.json()["status"] == "final"
    assert final.json()["prescriber"] == optometrist.pk

    second = optometrist_api.post("/api/prescriptions/", {"patient": patient.pk, **RX, "od_sphere": "-1.50"},
                                  format="json")
    optometrist_api.post(f"/api/prescriptions/{second.json()['id']}/finalize/")
    assert staff_api.get(f"/api/prescriptions/{rx_id}/").json()["status"] == "superseded"
    assert staff_api.get("/api/prescriptions/", {"patient": patient.pk, "status": "final"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("od_sphere", {"od_sphere": "-1.30"}),
        ("od_sphere", {"od_sphere": "-31.00"}),
        ("od_cylinder", {"od_cylinder": "10.25"}),
        ("od_axis", {"od_axis": None}),
        ("os_axis", {"os_axis": 10}),
        ("od_axis", {"od_axis": 0}),
        ("os_add", {"os_add": "5.00"}),
        ("pd", {"pd": "30.0"}),
        ("od_prism_base", {"od_prism": "2.00"}),
        ("kind", {"kind": "monocle"}),
    ],
)
def test_bad_rx_values_are_a_400_naming_the_field(optometrist_api, patient, field, payload):
    response = optometrist_api.post("/api/prescriptions/", {"patient": patient.pk, **RX, **payload}, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert not Prescription.objects.exists()


def test_a_final_prescription_cannot_be_changed_through_the_api(optometrist_api, patient, optometrist):
    prescription = PrescriptionFactory(patient=patient, status=PrescriptionStatus.FINAL, prescriber=optometrist,
                                       finalized_at=timezone.now(), issued_on=timezone.localdate())

    response = optometrist_api.patch(f"/api/prescriptions/{prescription.pk}/", {"od_sphere": "-3.00"},
                                     format="json")

    assert response.status_code == 400


def test_the_schema_documents_patients_visits_and_prescriptions(staff_api):
    schema = staff_api.get("/api/schema/", {"format": "json"}).json()

    for path in ("/api/patients/", "/api/patients/{id}/", "/api/visits/", "/api/visits/{id}/sign/",
                 "/api/prescriptions/", "/api/prescriptions/{id}/finalize/"):
        assert path in schema["paths"], path
    parameters = {p["name"] for p in schema["paths"]["/api/patients/"]["get"]["parameters"]}
    assert {"q", "phone", "whatsapp_consent", "page"} <= parameters


# --- Tenancy ---------------------------------------------------------------------------------

def test_lists_and_counts_never_include_another_clinic(optometrist_api, patient, visit, other_organization):
    theirs = PatientFactory(organization=other_organization, first_name="José", last_name="Peña")
    VisitFactory(patient=theirs)
    PrescriptionFactory(patient=theirs)
    PrescriptionFactory(patient=patient)

    for url, expected in (("/api/patients/", 1), ("/api/visits/", 1), ("/api/prescriptions/", 1)):
        body = optometrist_api.get(url).json()
        assert body["count"] == expected, url
    assert optometrist_api.get("/api/patients/", {"q": "jose pena"}).json()["count"] == 1
    assert optometrist_api.get("/api/visits/", {"patient": theirs.pk}).json()["count"] == 0


def test_another_clinics_objects_answer_404_and_cannot_be_referenced(optometrist_api, patient, optometrist,
                                                                      other_organization):
    theirs = PatientFactory(organization=other_organization)
    visit = VisitFactory(patient=theirs)
    prescription = PrescriptionFactory(patient=theirs)

    for url in (f"/api/patients/{theirs.pk}/", f"/api/visits/{visit.pk}/", f"/api/prescriptions/{prescription.pk}/"):
        assert optometrist_api.get(url).status_code == 404, url
        assert optometrist_api.patch(url, {"notes": "x"}, format="json").status_code == 404, url
    for url in (f"/api/visits/{visit.pk}/sign/", f"/api/visits/{visit.pk}/addenda/",
                f"/api/prescriptions/{prescription.pk}/finalize/"):
        assert optometrist_api.post(url, {"text": "x"}, format="json").status_code == 404, url

    foreign_patient = optometrist_api.post("/api/visits/", {"patient": theirs.pk, "optometrist": optometrist.pk,
                                                            "reason": "x"}, format="json")
    foreign_visit = optometrist_api.post("/api/prescriptions/", {"patient": patient.pk, "visit": visit.pk, **RX},
                                         format="json")
    foreign_optometrist = optometrist_api.post("/api/visits/", {"patient": patient.pk,
                                                                "optometrist": visit.optometrist.pk, "reason": "x"},
                                               format="json")
    assert "patient" in foreign_patient.json()["fields"]
    assert "visit" in foreign_visit.json()["fields"]
    assert "optometrist" in foreign_optometrist.json()["fields"]
    assert Visit.objects.filter(organization=patient.organization).count() == 0
    prescription.refresh_from_db()
    assert prescription.is_draft
