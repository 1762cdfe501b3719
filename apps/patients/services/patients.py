import datetime
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.organizations.models import Organization
from apps.patients.audit import audit_record, diff, snapshot, values_of
from apps.patients.models import AuditAction, AuditSource, ConsentSource, DocumentType, Patient, Sex
from apps.patients.phones import phone_normalize
from apps.patients.selectors import patients_by_phone

# What staff, the API and imports may set on a patient (consent times and opt-out have their own services).
PATIENT_FIELDS = (
    "document_type", "document_number", "first_name", "last_name", "birth_date", "sex", "phone", "email",
    "address", "occupation", "preferred_language", "notes", "guardian_name", "is_active",
    "whatsapp_consent", "whatsapp_consent_source",
)
AUDITED_FIELDS = PATIENT_FIELDS + ("whatsapp_consent_at", "whatsapp_opted_out", "whatsapp_opted_out_at")
DUPLICATE_DOCUMENT = _("A patient with this document already exists in this clinic.")


def document_normalize(value: str) -> str:
    """"1.020.304.050 " and "1020304050" are one document: no spaces or dots, upper case."""
    return re.sub(r"[\s.]", "", value or "").upper()


def _normalize(organization: Organization, data: dict) -> dict:
    data = dict(data)
    if "phone" in data:
        data["phone"] = phone_normalize(data["phone"] or "", region=organization.default_phone_region)
    if "document_number" in data:
        data["document_number"] = document_normalize(data["document_number"])
    for name in ("first_name", "last_name", "email", "address", "occupation", "guardian_name"):
        if name in data and isinstance(data[name], str):
            data[name] = " ".join(data[name].split())
    return data


def _validate_and_save(patient: Patient) -> None:
    duplicates = Patient.objects.filter(
        organization_id=patient.organization_id, document_type=patient.document_type,
        document_number=patient.document_number,
    ).exclude(pk=patient.pk)
    if duplicates.exists():
        raise ValidationError({"document_number": [DUPLICATE_DOCUMENT]})
    patient.full_clean()
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:  # a concurrent insert of the same document
        if "patients_patient_document_unique" in str(exc):
            raise ValidationError({"document_number": [DUPLICATE_DOCUMENT]}) from exc
        raise


@transaction.atomic
def patient_create(
    *,
    organization: Organization,
    document_number: str,
    first_name: str,
    last_name: str,
    document_type: str = DocumentType.CC,
    birth_date: datetime.date | None = None,
    sex: str = Sex.UNKNOWN,
    phone: str = "",
    email: str = "",
    address: str = "",
    occupation: str = "",
    preferred_language: str = "es",
    notes: str = "",
    guardian_name: str = "",
    is_active: bool = True,
    whatsapp_consent: bool = False,
    whatsapp_consent_source: str = "",
    actor=None,
    source: str = AuditSource.STAFF,
) -> Patient:
    """Create a patient; the phone is read with the clinic's default region ("300 123 4567" → +573001234567).

    Raises ValidationError naming the field (invalid phone, future birth date, duplicate document...)."""
    data = _normalize(organization, {
        "document_type": document_type, "document_number": document_number, "first_name": first_name,
        "last_name": last_name, "birth_date": birth_date, "sex": sex, "phone": phone, "email": email,
        "address": address, "occupation": occupation, "preferred_language": preferred_language, "notes": notes,
        "guardian_name": guardian_name, "is_active": is_active, "whatsapp_consent": whatsapp_consent,
        "whatsapp_consent_source": whatsapp_consent_source if whatsapp_consent else "",
    })
    patient = Patient(organization=organization, **data)
    if whatsapp_consent:
        patient.whatsapp_consent_at = timezone.now()
    _validate_and_save(patient)
    audit_record(instance=patient, patient=patient, action=AuditAction.CREATED, actor=actor, source=source,
                 changes=snapshot(patient, AUDITED_FIELDS))
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, data: dict, actor=None, source: str = AuditSource.STAFF) -> Patient:
    """Change the given fields (a subset of PATIENT_FIELDS); records what changed. Consent given now is
    timestamped now; consent withdrawn forgets when and how it was given."""
    unknown = set(data) - set(PATIENT_FIELDS)
    if unknown:
        raise ValueError(f"patient_update cannot set {sorted(unknown)}")
    data = _normalize(patient.organization, data)
    before = values_of(patient, AUDITED_FIELDS)
    for field, value in data.items():
        setattr(patient, field, value)
    if patient.whatsapp_consent and not before["whatsapp_consent"]:
        patient.whatsapp_consent_at = timezone.now()
    elif not patient.whatsapp_consent:
        patient.whatsapp_consent_at = None
        patient.whatsapp_consent_source = ""
    changes = diff(before, values_of(patient, AUDITED_FIELDS))
    if not changes:
        return patient
    _validate_and_save(patient)
    audit_record(instance=patient, patient=patient, action=AuditAction.UPDATED, actor=actor, source=source,
                 changes=changes)
    return patient


@transaction.atomic
def patient_whatsapp_opt_out(*, patient: Patient, source: str = AuditSource.WHATSAPP, actor=None) -> Patient:
    """The patient asked to receive no more WhatsApp messages (STOP, or told the staff). Idempotent."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.whatsapp_opted_out:
        return patient
    patient.whatsapp_opted_out = True
    patient.whatsapp_opted_out_at = timezone.now()
    patient.save(update_fields=["whatsapp_opted_out", "whatsapp_opted_out_at", "updated_at"])
    audit_record(instance=patient, patient=patient, action=AuditAction.OPTED_OUT, actor=actor, source=source,
                 changes={"whatsapp_opted_out": [False, True]})
    return patient


@transaction.atomic
def patient_whatsapp_opt_in(*, patient: Patient, source: str = AuditSource.WHATSAPP, actor=None) -> Patient:
    """Undo an opt-out (START, or the patient told the staff). Writing START on WhatsApp is itself consent,
    so a patient without recorded consent gets it, obtained by WhatsApp. Idempotent."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    before = values_of(patient, AUDITED_FIELDS)
    patient.whatsapp_opted_out = False
    patient.whatsapp_opted_out_at = None
    if source == AuditSource.WHATSAPP and not patient.whatsapp_consent:
        patient.whatsapp_consent = True
        patient.whatsapp_consent_at = timezone.now()
        patient.whatsapp_consent_source = ConsentSource.WHATSAPP
    changes = diff(before, values_of(patient, AUDITED_FIELDS))
    if not changes:
        return patient
    patient.save()
    audit_record(instance=patient, patient=patient, action=AuditAction.OPTED_IN, actor=actor, source=source,
                 changes=changes)
    return patient


def patients_whatsapp_opt_out_by_phone(*, organization: Organization, phone: str,
                                       source: str = AuditSource.WHATSAPP, actor=None) -> list[Patient]:
    """STOP comes from a phone, and a family may share it: every patient on that phone is opted out."""
    return [patient_whatsapp_opt_out(patient=p, source=source, actor=actor)
            for p in patients_by_phone(organization=organization, phone=phone)]


def patients_whatsapp_opt_in_by_phone(*, organization: Organization, phone: str,
                                      source: str = AuditSource.WHATSAPP, actor=None) -> list[Patient]:
    return [patient_whatsapp_opt_in(patient=p, source=source, actor=actor)
            for p in patients_by_phone(organization=organization, phone=phone)]
