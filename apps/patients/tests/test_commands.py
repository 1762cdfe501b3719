import io

import pytest
from django.core.management import CommandError, call_command

from apps.organizations.models import Organization
from apps.patients.demo import DEMO_PATIENTS, seed_demo_data
from apps.patients.models import AuditEvent, Patient, Prescription, PrescriptionStatus
from apps.patients.selectors import patient_search, patients_by_phone

pytestmark = pytest.mark.django_db


def _generate(organization, count, seed=3):
    call_command("generate_patients", organization=organization.slug, count=count, seed=seed, batch_size=40,
                 stdout=io.StringIO())


def test_generate_patients_creates_a_realistic_valid_dataset(organization):
    _generate(organization, 150)

    patients = Patient.objects.filter(organization=organization)
    assert patients.count() == 150
    assert patients.values("document_number").distinct().count() == 150
    assert any(char in "áéíóúñÁÉÍÓÚÑ" for p in patients for char in p.full_name)
    assert all(p.phone == "" or p.phone.startswith("+573") for p in patients)
    for patient in patients:
        patient.full_clean()  # every generated row passes the model's own validation
    # Its names are found by the accent-insensitive search.
    sample = patients.exclude(first_name__contains=" ").first()
    assert sample in patient_search(organization=organization, query=sample.first_name.upper())


def test_generated_families_share_phones(organization):
    _generate(organization, 300)

    shared = next(p.phone for p in Patient.objects.filter(organization=organization).exclude(phone="")
                  if Patient.objects.filter(organization=organization, phone=p.phone).count() > 1)
    assert patients_by_phone(organization=organization, phone=shared).count() > 1


def test_the_same_seed_gives_the_same_patients(organization, other_organization):
    _generate(organization, 50, seed=11)
    _generate(other_organization, 50, seed=11)

    def rows(org):
        return list(Patient.objects.filter(organization=org).order_by("id")
                    .values_list("document_number", "first_name", "last_name", "phone", "birth_date"))

    assert rows(organization) == rows(other_organization)


def test_generating_twice_adds_more_without_clashing(organization):
    _generate(organization, 40, seed=5)
    _generate(organization, 40, seed=5)

    assert Patient.objects.filter(organization=organization).count() == 80


def test_generate_patients_needs_a_known_organization(db):
    with pytest.raises(CommandError):
        call_command("generate_patients", organization="nope", count=1, stdout=io.StringIO())


def test_demo_data_is_idempotent_and_has_consent(organization, optometrist):
    seed_demo_data(organization=organization)
    counts = (Patient.objects.count(), AuditEvent.objects.count(), Prescription.objects.count())

    seed_demo_data(organization=organization)

    assert (Patient.objects.count(), AuditEvent.objects.count(), Prescription.objects.count()) == counts
    patients = Patient.objects.filter(organization=organization)
    assert patients.count() == len(DEMO_PATIENTS)
    assert all(p.can_receive_whatsapp and p.phone.startswith("+57300555") for p in patients)
    assert Prescription.objects.get().status == PrescriptionStatus.FINAL


def test_seed_demo_command_adds_the_demo_patients(db):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    organization = Organization.objects.get(slug="optica-demo")
    assert Patient.objects.filter(organization=organization).count() == len(DEMO_PATIENTS)
