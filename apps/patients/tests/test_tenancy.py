"""Every model of the app belongs to one clinic: its selectors and pages never mix clinics."""

import pytest
from django.urls import reverse

from apps.patients.models import AuditEvent, VisitAddendum
from apps.patients.selectors import (
    audit_events_for_patient,
    optometrists_for_organization,
    patient_list,
    prescription_list,
    visit_list,
)
from apps.patients.services import patient_update, visit_addendum_create, visit_sign
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory, VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_organization):
    patient = PatientFactory(organization=other_organization, first_name="José", last_name="Peña")
    visit = VisitFactory(patient=patient)
    visit_sign(visit=visit, actor=visit.optometrist)
    visit_addendum_create(visit=visit, actor=visit.optometrist, text="Ajena")
    patient_update(patient=patient, data={"notes": "Nota ajena"})
    return {"patient": patient, "visit": visit, "prescription": PrescriptionFactory(patient=patient)}


def test_selectors_return_only_my_clinics_rows(organization, patient, visit, theirs):
    mine = PrescriptionFactory(patient=patient)

    assert list(patient_list(organization=organization)) == [patient]
    assert list(patient_list(organization=organization, filters={"query": "jose pena"})) == [patient]
    assert list(visit_list(organization=organization)) == [visit]
    assert list(visit_list(organization=organization, filters={"patient": theirs["patient"].pk})) == []
    assert list(prescription_list(organization=organization)) == [mine]
    assert list(prescription_list(organization=organization, filters={"patient": theirs["patient"].pk})) == []
    assert theirs["visit"].optometrist not in optometrists_for_organization(organization=organization)


def test_audit_events_and_addenda_carry_their_clinic(organization, other_organization, patient, theirs):
    patient_update(patient=patient, data={"notes": "Mía"})

    assert {e.organization_id for e in audit_events_for_patient(patient=patient)} == {organization.pk}
    assert not AuditEvent.objects.filter(organization=organization, patient=theirs["patient"]).exists()
    assert VisitAddendum.objects.get().organization == other_organization


def test_my_patient_page_history_never_shows_another_clinics_events(staff_client, patient, theirs):
    content = staff_client.get(reverse("patient-detail", args=[patient.pk])).content.decode()

    assert "Nota ajena" not in content and "Peña" in content
    assert reverse("patient-detail", args=[theirs["patient"].pk]) not in content


def test_a_shared_phone_only_links_family_within_my_clinic(staff_client, patient, other_organization):
    stranger = PatientFactory(organization=other_organization, phone=patient.phone)

    content = staff_client.get(reverse("patient-detail", args=[patient.pk])).content.decode()

    assert reverse("patient-detail", args=[stranger.pk]) not in content
    assert 'id="patient-family"' not in content


def test_a_user_without_a_clinic_sees_no_patients(client, patient):
    from apps.accounts.tests.factories import UserFactory

    client.force_login(UserFactory())

    assert client.get(reverse("patient-list")).status_code == 403
    assert client.get(reverse("patient-detail", args=[patient.pk])).status_code in (403, 404)
