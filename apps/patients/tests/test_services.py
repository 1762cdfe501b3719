import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.common.exceptions import ApplicationError
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory
from apps.patients.models import (
    AuditAction,
    AuditEvent,
    ConsentSource,
    Patient,
    Prescription,
    PrescriptionKind,
    PrescriptionStatus,
    Visit,
)
from apps.patients.services import (
    patient_create,
    patient_update,
    patient_whatsapp_opt_in,
    patient_whatsapp_opt_out,
    patients_whatsapp_opt_out_by_phone,
    prescription_create,
    prescription_finalize,
    prescription_update,
    visit_addendum_create,
    visit_create,
    visit_sign,
    visit_update,
)
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory

pytestmark = pytest.mark.django_db


def _errors(exc_info) -> dict:
    return exc_info.value.message_dict


# --- Patients --------------------------------------------------------------------------------

def test_a_colombian_national_phone_is_stored_in_e164(organization, staff_user):
    patient = patient_create(organization=organization, actor=staff_user, document_number="1.020.304.050",
                             first_name=" José ", last_name="Peña", phone="300 123 4567")

    assert patient.phone == "+573001234567"
    assert patient.document_number == "1020304050"
    assert patient.first_name == "José"


def test_the_phone_is_read_with_the_clinics_own_region(organization):
    organization.default_phone_region = "MX"
    patient = patient_create(organization=organization, document_number="1", first_name="Ana", last_name="Ruiz",
                             phone="55 1234 5678")

    assert patient.phone == "+525512345678"


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("phone", {"phone": "12345"}),
        ("birth_date", {"birth_date": timezone.localdate() + datetime.timedelta(days=1)}),
        ("birth_date", {"birth_date": datetime.date(1850, 1, 1)}),
        ("email", {"email": "not-an-email"}),
        ("first_name", {"first_name": ""}),
        ("whatsapp_consent_source", {"whatsapp_consent": True, "whatsapp_consent_source": ""}),
    ],
)
def test_bad_patient_input_names_the_field_and_saves_nothing(organization, field, values):
    data = {"document_number": "99", "first_name": "Ana", "last_name": "Ruiz", **values}

    with pytest.raises(ValidationError) as exc_info:
        patient_create(organization=organization, **data)

    assert field in _errors(exc_info)
    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_duplicate_document_is_an_error_on_the_document_number(organization, patient):
    with pytest.raises(ValidationError) as exc_info:
        patient_create(organization=organization, document_number="1020304050", first_name="Otro", last_name="X")

    assert "document_number" in _errors(exc_info)


def test_creating_and_changing_a_patient_is_audited_with_who_and_what(organization, staff_user):
    patient = patient_create(organization=organization, actor=staff_user, document_number="77",
                             first_name="Ana", last_name="Ruiz", phone="3001234567")
    patient_update(patient=patient, actor=staff_user, data={"last_name": "Ruiz Peña", "phone": "+57 300 765 4321"})

    created, updated = AuditEvent.objects.order_by("id")
    assert (created.action, created.actor, created.patient) == (AuditAction.CREATED, staff_user, patient)
    assert created.changes["document_number"] == "77"
    assert updated.action == AuditAction.UPDATED
    assert updated.changes == {"last_name": ["Ruiz", "Ruiz Peña"], "phone": ["+573001234567", "+573007654321"]}


def test_an_update_that_changes_nothing_records_nothing(patient):
    patient_update(patient=patient, data={"first_name": "José", "phone": "300 123 4567"})

    assert AuditEvent.objects.count() == 0


def test_consent_is_timestamped_when_given_and_forgotten_when_withdrawn(organization):
    patient = patient_create(organization=organization, document_number="5", first_name="A", last_name="B")
    assert patient.whatsapp_consent_at is None

    patient_update(patient=patient, data={"whatsapp_consent": True, "whatsapp_consent_source": ConsentSource.WEB})
    assert patient.whatsapp_consent_at is not None

    patient_update(patient=patient, data={"whatsapp_consent": False})
    assert (patient.whatsapp_consent_at, patient.whatsapp_consent_source) == (None, "")


def test_opt_out_and_back_in_by_whatsapp(patient):
    patient = patient_whatsapp_opt_out(patient=patient, source="whatsapp")
    assert patient.whatsapp_opted_out and patient.whatsapp_opted_out_at
    assert not patient.can_receive_whatsapp
    patient_whatsapp_opt_out(patient=patient, source="whatsapp")  # idempotent

    patient = patient_whatsapp_opt_in(patient=patient, source="whatsapp")
    assert patient.can_receive_whatsapp
    assert list(AuditEvent.objects.values_list("action", flat=True).order_by("id")) == ["opted_out", "opted_in"]


def test_start_on_whatsapp_counts_as_consent(organization):
    patient = PatientFactory(organization=organization, whatsapp_consent=False, whatsapp_consent_at=None,
                             whatsapp_consent_source="")

    patient = patient_whatsapp_opt_in(patient=patient, source="whatsapp")

    assert patient.whatsapp_consent and patient.whatsapp_consent_source == ConsentSource.WHATSAPP


def test_stop_from_a_shared_phone_opts_out_the_whole_family(organization, other_organization):
    family = PatientFactory.create_batch(2, organization=organization, phone="+573001112233")
    stranger = PatientFactory(organization=other_organization, phone="+573001112233")

    patients_whatsapp_opt_out_by_phone(organization=organization, phone="300 111 2233", source="whatsapp")

    assert all(Patient.objects.get(pk=p.pk).whatsapp_opted_out for p in family)
    assert not Patient.objects.get(pk=stranger.pk).whatsapp_opted_out


# --- Visits ----------------------------------------------------------------------------------

def test_an_optometrist_records_and_signs_a_visit(organization, patient, optometrist):
    visit = visit_create(organization=organization, patient=patient, optometrist=optometrist, actor=optometrist,
                         reason="Visión borrosa", diagnosis="Miopía")

    visit = visit_sign(visit=visit, actor=optometrist)

    assert visit.is_signed and visit.signed_by == optometrist
    assert list(AuditEvent.objects.filter(object_type="patients.visit").values_list("action", flat=True)
                .order_by("id")) == ["created", "signed"]


def test_a_visit_needs_an_optometrist_of_the_clinic(organization, patient, staff_user, other_organization):
    outsider = MembershipFactory(organization=other_organization, role=Role.OPTOMETRIST).user
    for user in (staff_user, outsider):
        with pytest.raises(ApplicationError) as exc_info:
            visit_create(organization=organization, patient=patient, optometrist=user, reason="x")
        assert exc_info.value.field == "optometrist"
    assert Visit.objects.count() == 0


def test_only_the_visits_optometrist_can_sign_it(visit, staff_user, organization):
    colleague = MembershipFactory(organization=organization, role=Role.OPTOMETRIST).user
    for user in (staff_user, colleague):
        with pytest.raises(ApplicationError):
            visit_sign(visit=visit, actor=user)
    visit.refresh_from_db()
    assert not visit.is_signed


def test_a_signed_visit_cannot_be_edited_only_amended(visit, optometrist):
    visit_sign(visit=visit, actor=optometrist)

    with pytest.raises(ApplicationError):
        visit_update(visit=visit, actor=optometrist, data={"diagnosis": "Otro"})
    addendum = visit_addendum_create(visit=visit, actor=optometrist, text="Se corrige: astigmatismo leve.")

    visit.refresh_from_db()
    assert visit.diagnosis != "Otro"
    assert list(visit.addenda.all()) == [addendum]


def test_an_unsigned_visit_is_edited_not_amended(visit, optometrist):
    with pytest.raises(ApplicationError):
        visit_addendum_create(visit=visit, actor=optometrist, text="x")

    visit_update(visit=visit, actor=optometrist, data={"diagnosis": "Hipermetropía"})
    visit.refresh_from_db()
    assert visit.diagnosis == "Hipermetropía"


# --- Prescriptions ---------------------------------------------------------------------------

def _rx_data(**overrides):
    return {"kind": PrescriptionKind.SPECTACLES, "od_sphere": Decimal("-1.25"), "od_cylinder": Decimal("-0.50"),
            "od_axis": 180, "os_sphere": Decimal("-1.00"), "pd": Decimal("63"), **overrides}


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("od_sphere", {"od_sphere": Decimal("-30.25")}),
        ("od_sphere", {"od_sphere": Decimal("-1.30")}),
        ("od_cylinder", {"od_cylinder": Decimal("-10.50")}),
        ("od_axis", {"od_axis": None}),
        ("os_axis", {"os_axis": 90}),
        ("od_axis", {"od_axis": 181}),
        ("os_add", {"os_add": Decimal("4.50")}),
        ("os_add", {"os_add": Decimal("0")}),
        ("pd", {"pd": Decimal("90")}),
        ("od_prism_base", {"od_prism": Decimal("2")}),
        ("od_base_curve", {"od_base_curve": Decimal("8.6")}),  # contact-lens value on spectacles
    ],
)
def test_bad_rx_values_name_the_field_and_save_nothing(organization, patient, optometrist, field, values):
    with pytest.raises((ValidationError, ApplicationError)) as exc_info:
        prescription_create(organization=organization, patient=patient, actor=optometrist, data=_rx_data(**values))

    error = exc_info.value
    fields = error.message_dict if isinstance(error, ValidationError) else {error.field: error.message}
    assert field in fields
    assert Prescription.objects.count() == 0


def test_finalizing_a_new_prescription_supersedes_the_previous_one(organization, patient, optometrist):
    first = prescription_create(organization=organization, patient=patient, actor=optometrist, data=_rx_data())
    prescription_finalize(prescription=first, actor=optometrist)
    contact = prescription_create(organization=organization, patient=patient, actor=optometrist, data=_rx_data(
        kind=PrescriptionKind.CONTACT_LENS, od_cylinder=None, od_axis=None, pd=None,
        od_base_curve=Decimal("8.6"), od_diameter=Decimal("14.2"), os_base_curve=Decimal("8.6"),
        os_diameter=Decimal("14.2")))
    prescription_finalize(prescription=contact, actor=optometrist)
    second = prescription_create(organization=organization, patient=patient, actor=optometrist,
                                 data=_rx_data(od_sphere=Decimal("-1.5")))

    second = prescription_finalize(prescription=second, actor=optometrist)

    first.refresh_from_db()
    contact.refresh_from_db()
    assert first.status == PrescriptionStatus.SUPERSEDED
    assert second.status == PrescriptionStatus.FINAL and second.supersedes == first
    assert second.prescriber == optometrist and second.issued_on
    assert contact.status == PrescriptionStatus.FINAL  # another kind stays in force


def test_only_optometrists_finalize_and_only_drafts_change(organization, patient, staff_user, optometrist):
    prescription = prescription_create(organization=organization, patient=patient, actor=optometrist,
                                       data=_rx_data())
    with pytest.raises(ApplicationError):
        prescription_finalize(prescription=prescription, actor=staff_user)

    prescription_finalize(prescription=prescription, actor=optometrist)
    with pytest.raises(ApplicationError):
        prescription_update(prescription=prescription, actor=optometrist, data={"od_sphere": Decimal("-2")})


def test_a_contact_lens_prescription_needs_base_curve_and_diameter_to_be_final(organization, patient, optometrist):
    prescription = PrescriptionFactory(patient=patient, kind=PrescriptionKind.CONTACT_LENS)

    with pytest.raises(ApplicationError) as exc_info:
        prescription_finalize(prescription=prescription, actor=optometrist)

    assert exc_info.value.field == "od_base_curve"


def test_a_prescription_cannot_point_to_another_patients_visit(organization, patient, visit, optometrist):
    stranger = PatientFactory(organization=organization)

    with pytest.raises(ApplicationError) as exc_info:
        prescription_create(organization=organization, patient=stranger, actor=optometrist,
                            data=_rx_data(visit=visit))

    assert exc_info.value.field == "visit"
