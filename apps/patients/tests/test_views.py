import pytest
from django.urls import reverse
from django.utils import timezone

from apps.patients.models import AuditEvent, Patient, Prescription, PrescriptionStatus, Visit
from apps.patients.services import patient_update, visit_sign
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory, VisitFactory

pytestmark = pytest.mark.django_db


def _valid_patient_form(**overrides):
    return {"document_type": "CC", "document_number": "80123456", "first_name": "Óscar", "last_name": "Hernández",
            "sex": "M", "phone": "300 123 4567", "preferred_language": "es", "is_active": "on", **overrides}


# --- Patient list and search -----------------------------------------------------------------

def test_the_patient_list_searches_without_accents_and_paginates(staff_client, organization):
    PatientFactory(organization=organization, first_name="José", last_name="Peña")
    PatientFactory.create_batch(30, organization=organization, first_name="Ana", last_name="Ruiz")

    found = staff_client.get(reverse("patient-list"), {"q": "jose pena"})
    first_page = staff_client.get(reverse("patient-list"))
    second_page = staff_client.get(reverse("patient-list"), {"page": 2})

    assert list(found.context["page"].object_list) == [Patient.objects.get(first_name="José")]
    assert len(first_page.context["page"].object_list) == 25
    assert len(second_page.context["page"].object_list) == 6


def test_an_htmx_search_answers_only_the_results(staff_client, organization, patient):
    response = staff_client.get(reverse("patient-list"), {"q": "peña"}, HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert "<html" not in content
    assert 'id="patient-table"' in content and "José" in content


def test_the_patient_list_shows_only_my_clinic(staff_client, patient, other_patient):
    response = staff_client.get(reverse("patient-list"))

    assert list(response.context["page"].object_list) == [patient]
    assert response.context["page"].paginator.count == 1


def test_signed_out_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("patient-list"))

    assert response.status_code == 302 and "login" in response["Location"]


# --- Create and edit -------------------------------------------------------------------------

def test_staff_create_a_patient_with_a_national_phone(staff_client, organization, staff_user):
    response = staff_client.post(reverse("patient-create"), _valid_patient_form())

    patient = Patient.objects.get(document_number="80123456")
    assert response.status_code == 302 and response["Location"] == reverse("patient-detail", args=[patient.pk])
    assert patient.organization == organization and patient.phone == "+573001234567"
    assert AuditEvent.objects.get(patient=patient).actor == staff_user


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("phone", {"phone": "12"}),
        ("birth_date", {"birth_date": "2999-01-01"}),
        ("document_number", {"document_number": "1020304050"}),  # the fixture patient's document
        ("first_name", {"first_name": ""}),
        ("whatsapp_consent_source", {"whatsapp_consent": "on", "whatsapp_consent_source": ""}),
    ],
)
def test_bad_patient_input_shows_the_error_on_the_field(staff_client, patient, field, overrides):
    response = staff_client.post(reverse("patient-create"), _valid_patient_form(**overrides))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'data-field="{field}"' in response.content.decode()
    assert Patient.objects.count() == 1


def test_editing_a_patient_records_the_change(staff_client, patient, staff_user):
    response = staff_client.post(reverse("patient-update", args=[patient.pk]), _valid_patient_form(
        document_number=patient.document_number, first_name="José", last_name="Peña Gómez", phone="3109876543"))

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "+573109876543"
    event = AuditEvent.objects.get(patient=patient, action="updated")
    assert event.actor == staff_user and event.changes["phone"] == ["+573001234567", "+573109876543"]


def test_a_patient_keeps_its_own_document_when_edited(staff_client, patient):
    response = staff_client.post(reverse("patient-update", args=[patient.pk]), _valid_patient_form(
        document_number="1020304050", first_name="Josué"))

    assert response.status_code == 302


# --- Patient page ----------------------------------------------------------------------------

def test_the_patient_page_shows_data_visits_prescriptions_and_family(staff_client, organization, patient, visit):
    sibling = PatientFactory(organization=organization, first_name="Luis", phone=patient.phone)
    PrescriptionFactory(patient=patient)

    response = staff_client.get(reverse("patient-detail", args=[patient.pk]))

    content = response.content.decode()
    assert 'id="patient-data"' in content and 'id="patient-visits"' in content
    assert f'data-visit="{visit.pk}"' in content
    assert 'id="patient-prescriptions"' in content and "data-prescription=" in content
    assert reverse("patient-detail", args=[sibling.pk]) in content


def test_staff_stop_and_restart_whatsapp_for_a_patient(staff_client, patient, staff_user):
    staff_client.post(reverse("patient-whatsapp-opt-out", args=[patient.pk]))
    patient.refresh_from_db()
    assert patient.whatsapp_opted_out

    staff_client.post(reverse("patient-whatsapp-opt-in", args=[patient.pk]))
    patient.refresh_from_db()
    assert patient.can_receive_whatsapp
    assert AuditEvent.objects.filter(patient=patient, actor=staff_user, source="staff").count() == 2


# --- Visits ----------------------------------------------------------------------------------

def test_an_optometrist_records_and_signs_a_visit_in_the_ui(optometrist_client, patient, optometrist):
    response = optometrist_client.post(reverse("visit-create", args=[patient.pk]), {
        "visit_date": timezone.localdate().isoformat(), "optometrist": optometrist.pk, "reason": "Control",
        "diagnosis": "Presbicia"})
    visit = Visit.objects.get(patient=patient)
    assert response["Location"] == reverse("visit-detail", args=[visit.pk])

    optometrist_client.post(reverse("visit-sign", args=[visit.pk]))
    visit.refresh_from_db()
    assert visit.is_signed

    response = optometrist_client.get(reverse("visit-update", args=[visit.pk]))
    assert response.status_code == 302  # signed: back to the visit, no edit form
    optometrist_client.post(reverse("visit-addendum-create", args=[visit.pk]), {"text": "Agudeza corregida."})
    assert visit.addenda.get().text == "Agudeza corregida."


def test_staff_cannot_write_or_sign_visits(staff_client, patient, visit):
    assert staff_client.get(reverse("visit-create", args=[patient.pk])).status_code == 403
    assert staff_client.post(reverse("visit-sign", args=[visit.pk])).status_code == 403
    assert staff_client.post(reverse("visit-addendum-create", args=[visit.pk]), {"text": "x"}).status_code == 403
    assert staff_client.get(reverse("visit-detail", args=[visit.pk])).status_code == 200
    visit.refresh_from_db()
    assert not visit.is_signed


def test_a_visit_form_names_the_missing_reason(optometrist_client, patient, optometrist):
    response = optometrist_client.post(reverse("visit-create", args=[patient.pk]),
                                       {"visit_date": "2026-01-10", "optometrist": optometrist.pk, "reason": ""})

    assert "reason" in response.context["form"].errors
    assert not Visit.objects.exists()


# --- Prescriptions ---------------------------------------------------------------------------

def _rx_form(**overrides):
    return {"kind": "spectacles", "od_sphere": "-1.25", "od_cylinder": "-0.50", "od_axis": "90",
            "os_sphere": "-1.00", "pd": "62", **overrides}


def test_an_optometrist_writes_a_draft_and_only_an_optometrist_finalizes_it(client, patient, optometrist,
                                                                             staff_user):
    client.force_login(optometrist)
    response = client.post(reverse("prescription-create", args=[patient.pk]), _rx_form())
    prescription = Prescription.objects.get(patient=patient)
    assert response["Location"] == reverse("prescription-detail", args=[prescription.pk])

    client.force_login(staff_user)
    assert client.post(reverse("prescription-finalize", args=[prescription.pk])).status_code == 403
    client.force_login(optometrist)
    client.post(reverse("prescription-finalize", args=[prescription.pk]))
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.FINAL and prescription.prescriber == optometrist


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("od_sphere", {"od_sphere": "-1.30"}),
        ("od_sphere", {"od_sphere": "31"}),
        ("od_cylinder", {"od_cylinder": "-10.50"}),
        ("od_axis", {"od_axis": ""}),
        ("os_axis", {"os_axis": "45"}),
        ("od_axis", {"od_axis": "200"}),
        ("od_add", {"od_add": "4.50"}),
        ("pd", {"pd": "85"}),
        ("od_prism_base", {"od_prism": "1"}),
        ("os_diameter", {"os_diameter": "14"}),
    ],
)
def test_bad_rx_values_show_the_error_on_the_field(optometrist_client, patient, field, overrides):
    response = optometrist_client.post(reverse("prescription-create", args=[patient.pk]), _rx_form(**overrides))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'data-field="{field}"' in response.content.decode()
    assert not Prescription.objects.exists()


def test_a_final_prescription_is_not_editable(optometrist_client, patient, optometrist):
    prescription = PrescriptionFactory(patient=patient, status=PrescriptionStatus.FINAL, prescriber=optometrist,
                                       finalized_at=timezone.now(), issued_on=timezone.localdate())

    response = optometrist_client.post(reverse("prescription-update", args=[prescription.pk]), _rx_form(od_sphere="-3"))

    assert response.status_code == 302
    prescription.refresh_from_db()
    assert str(prescription.od_sphere) == "-1.25"


def test_the_printable_prescription_names_the_clinic(staff_client, organization, patient, optometrist):
    prescription = PrescriptionFactory(patient=patient, status=PrescriptionStatus.FINAL, prescriber=optometrist,
                                       finalized_at=timezone.now(), issued_on=timezone.localdate())

    response = staff_client.get(reverse("prescription-print", args=[prescription.pk]))

    content = response.content.decode()
    assert organization.name in content and patient.full_name in content
    assert "-1,25" in content and "90°" in content and "data-print" in content
    assert "navbar" not in content


@pytest.mark.parametrize(("typed", "stored"), [("0,25", "0.25"), ("0.25", "0.25"), ("+1,50", "1.50"), ("2", "2.00")])
def test_an_rx_value_with_a_decimal_comma_is_read_as_written(optometrist_client, patient, typed, stored):
    optometrist_client.post(reverse("prescription-create", args=[patient.pk]), _rx_form(od_add=typed, os_add=typed))

    prescription = Prescription.objects.get(patient=patient)
    assert (str(prescription.od_add), str(prescription.os_add)) == (stored, stored)


@pytest.mark.parametrize("typed", ["1.000,25", "0,2,5", "dos"])
def test_an_rx_value_with_two_marks_or_no_number_is_refused_on_its_field(optometrist_client, patient, typed):
    response = optometrist_client.post(reverse("prescription-create", args=[patient.pk]), _rx_form(od_add=typed))

    assert "od_add" in response.context["form"].errors
    assert not Prescription.objects.exists()


def test_the_rx_speaks_the_page_s_language_and_one_decimal_style(staff_client, patient, optometrist):
    optometrist.professional_registration = "TP 52.318"
    optometrist.save()
    prescription = PrescriptionFactory(patient=patient, status=PrescriptionStatus.FINAL, prescriber=optometrist,
                                       finalized_at=timezone.now(), issued_on=timezone.localdate(), pd="62.5",
                                       od_add="1.25")

    spanish = staff_client.get(reverse("prescription-print", args=[prescription.pk])).content.decode()
    form = staff_client.get(reverse("prescription-update", args=[prescription.pk])).content.decode()
    staff_client.cookies["django_language"] = "en"
    english = staff_client.get(reverse("prescription-print", args=[prescription.pk])).content.decode()

    assert ">OI<" in spanish and ">OS<" not in spanish and "Adición" in spanish and "Añadir" not in spanish
    assert "+1,25" in spanish and "62,5 mm" in spanish and "-1.25" not in spanish
    assert "TP 52.318" in spanish
    assert ">OS<" in english and "+1.25" in english and "62.5 mm" in english
    assert 'type="number"' not in form.split('name="od_sphere"')[0].rsplit("<input", 1)[-1]


# --- Tenancy: another clinic's objects answer 404 --------------------------------------------

def test_every_page_of_another_clinics_patient_answers_404(optometrist_client, other_organization):
    theirs = PatientFactory(organization=other_organization)
    visit = VisitFactory(patient=theirs)
    prescription = PrescriptionFactory(patient=theirs)
    visit_sign(visit=visit, actor=visit.optometrist)

    gets = [reverse(name, args=[theirs.pk]) for name in ("patient-detail", "patient-update", "visit-create",
                                                         "prescription-create")]
    gets += [reverse(name, args=[visit.pk]) for name in ("visit-detail", "visit-update")]
    gets += [reverse(name, args=[prescription.pk]) for name in ("prescription-detail", "prescription-update",
                                                                "prescription-print")]
    posts = [reverse(name, args=[theirs.pk]) for name in ("patient-whatsapp-opt-out", "patient-whatsapp-opt-in")]
    posts += [reverse(name, args=[visit.pk]) for name in ("visit-sign", "visit-addendum-create")]
    posts += [reverse("prescription-finalize", args=[prescription.pk])]

    for url in gets:
        assert optometrist_client.get(url).status_code == 404, url
    for url in posts:
        assert optometrist_client.post(url, {"text": "x"}).status_code == 404, url
    theirs.refresh_from_db()
    prescription.refresh_from_db()
    assert not theirs.whatsapp_opted_out and prescription.is_draft
    assert visit.addenda.count() == 0


def test_the_patient_pages_speak_spanish(staff_client, patient):
    patient_update(patient=patient, data={"phone": "3109876543"})
    listing = staff_client.get(reverse("patient-list")).content.decode()
    detail = staff_client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    error = staff_client.post(reverse("patient-create"), _valid_patient_form(phone="12")).content.decode()

    assert "Nuevo paciente" in listing and "Nombre, documento o celular" in listing
    assert "Datos del paciente" in detail and "Fórmulas" in detail and "Consultas" in detail
    assert "(celular (WhatsApp))" in detail  # the history names the changed field in Spanish
    assert "Ingrese un número válido" in error
