"""The database itself refuses invalid records, whatever code path writes them."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.patients.models import Patient, Prescription, PrescriptionKind, PrescriptionStatus, VisitAddendum
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory

pytestmark = pytest.mark.django_db


def _refused(obj_or_callable):
    with pytest.raises(IntegrityError), transaction.atomic():
        if callable(obj_or_callable):
            obj_or_callable()
        else:
            obj_or_callable.save()


def test_a_phone_not_in_e164_is_refused_by_the_database(organization):
    _refused(PatientFactory.build(organization=organization, phone="300 123 4567"))
    _refused(lambda: Patient.objects.bulk_create([PatientFactory.build(organization=organization, phone="3001234567")]))


def test_a_document_is_unique_per_clinic_but_not_across_clinics(organization, other_organization):
    PatientFactory(organization=organization, document_number="123456")

    _refused(PatientFactory.build(organization=organization, document_number="123456"))
    PatientFactory(organization=other_organization, document_number="123456")
    PatientFactory(organization=organization, document_type="TI", document_number="123456")


def test_consent_without_its_time_is_refused(organization):
    _refused(PatientFactory.build(organization=organization, whatsapp_consent=True, whatsapp_consent_at=None))


def test_several_patients_may_share_a_phone(organization):
    PatientFactory.create_batch(3, organization=organization, phone="+573001112233")

    assert Patient.objects.filter(phone="+573001112233").count() == 3


@pytest.mark.parametrize(
    "values",
    [
        {"od_sphere": Decimal("30.25")},
        {"od_sphere": Decimal("-30.25")},
        {"os_sphere": Decimal("1.10")},  # off the 0.25 D step
        {"od_cylinder": Decimal("-10.25"), "od_axis": 90},
        {"od_cylinder": Decimal("-0.30"), "od_axis": 90},
        {"od_cylinder": Decimal("-0.50"), "od_axis": None},  # cylinder without axis
        {"od_cylinder": None, "od_axis": 90},  # axis without cylinder
        {"od_cylinder": Decimal("0"), "od_axis": 90},
        {"od_axis": 0},
        {"od_axis": 181},
        {"os_add": Decimal("0")},
        {"os_add": Decimal("4.25")},
        {"os_add": Decimal("1.10")},
        {"od_prism": Decimal("1.00"), "od_prism_base": ""},
        {"od_prism": None, "od_prism_base": "BI"},
        {"od_prism": Decimal("1.00"), "od_prism_base": "XX"},
        {"pd": Decimal("39.5")},
        {"pd": Decimal("80.5")},
        {"pd": Decimal("62.2")},
        {"od_pd": Decimal("41.0")},
        {"os_base_curve": Decimal("5.50")},
        {"os_diameter": Decimal("16.50")},
        {"kind": "monocle"},
        {"status": "expired"},
    ],
)
def test_out_of_range_or_inconsistent_rx_values_are_refused_by_the_database(organization, values):
    prescription = PrescriptionFactory.build(patient=PatientFactory(organization=organization), **values)

    _refused(prescription)
    _refused(lambda: Prescription.objects.bulk_create([PrescriptionFactory.build(
        patient=prescription.patient, organization=organization, **values)]))


def test_valid_rx_values_at_the_edges_are_accepted(organization):
    PrescriptionFactory(
        patient=PatientFactory(organization=organization), kind=PrescriptionKind.CONTACT_LENS,
        od_sphere=Decimal("-30.00"), od_cylinder=Decimal("10.00"), od_axis=180, od_add=Decimal("4.00"),
        os_sphere=Decimal("30.00"), os_cylinder=Decimal("0"), os_axis=None, os_add=Decimal("0.25"),
        od_prism=Decimal("0.25"), od_prism_base="BD", pd=Decimal("80.0"), od_pd=Decimal("31.5"),
        os_base_curve=Decimal("8.60"), os_diameter=Decimal("14.20"),
    )


def test_a_final_prescription_must_be_signed_and_dated(organization):
    _refused(PrescriptionFactory.build(patient=PatientFactory(organization=organization),
                                       status=PrescriptionStatus.FINAL))


def test_only_one_final_prescription_of_each_kind_per_patient(organization, optometrist):
    patient = PatientFactory(organization=organization)
    final = {"status": PrescriptionStatus.FINAL, "prescriber": optometrist, "finalized_at": timezone.now(),
             "issued_on": timezone.localdate()}
    PrescriptionFactory(patient=patient, **final)
    PrescriptionFactory(patient=patient, kind=PrescriptionKind.CONTACT_LENS, **final)

    _refused(PrescriptionFactory.build(patient=patient, organization=organization, **final))


def test_a_signed_visit_cannot_be_changed_or_deleted_even_directly(visit, optometrist):
    visit.signed_at, visit.signed_by = timezone.now(), optometrist
    visit.save()

    visit.diagnosis = "Otro diagnóstico"
    _refused(visit)
    _refused(lambda: visit.delete())


def test_a_visit_signature_needs_both_who_and_when(visit):
    visit.signed_at = timezone.now()
    _refused(visit)


def test_a_final_prescription_cannot_change_its_values_even_directly(organization, optometrist):
    prescription = PrescriptionFactory(
        patient=PatientFactory(organization=organization), status=PrescriptionStatus.FINAL, prescriber=optometrist,
        finalized_at=timezone.now(), issued_on=timezone.localdate(),
    )

    prescription.od_sphere = Decimal("-2.00")
    _refused(prescription)
    _refused(lambda: Prescription.objects.filter(pk=prescription.pk).update(status=PrescriptionStatus.DRAFT))
    Prescription.objects.filter(pk=prescription.pk).update(status=PrescriptionStatus.SUPERSEDED)
    _refused(lambda: Prescription.objects.filter(pk=prescription.pk).update(status=PrescriptionStatus.FINAL))


def test_addenda_are_append_only(visit, optometrist):
    addendum = VisitAddendum.objects.create(organization=visit.organization, visit=visit, author=optometrist,
                                            text="Corrección")
    addendum.text = "Otra"
    _refused(addendum)
    _refused(lambda: VisitAddendum.objects.create(organization=visit.organization, visit=visit, author=optometrist,
                                                  text=""))


def test_can_receive_whatsapp_needs_phone_consent_no_opt_out_and_active(organization):
    patient = PatientFactory.build(organization=organization, consenting=True)
    assert patient.can_receive_whatsapp
    for change in ({"phone": ""}, {"whatsapp_consent": False}, {"whatsapp_opted_out": True}, {"is_active": False}):
        assert not PatientFactory.build(organization=organization, consenting=True, **change).can_receive_whatsapp
