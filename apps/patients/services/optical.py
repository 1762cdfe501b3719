from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.organizations.models import Organization
from apps.patients.audit import audit_record, diff, snapshot, values_of
from apps.patients.models import (
    EYES,
    AuditAction,
    AuditSource,
    Patient,
    Prescription,
    PrescriptionKind,
    PrescriptionStatus,
    Visit,
)
from apps.patients.selectors import may_write_prescription_drafts
from apps.patients.services.clinical import _require_optometrist, _require_same_clinic

PRESCRIPTION_FIELDS = Prescription.VALUE_FIELDS + ("kind", "visit", "expires_on", "notes")
CONTACT_LENS_FIELDS = tuple(f"{eye}_{name}" for eye in EYES for name in ("base_curve", "diameter", "brand"))


def _require_draft_writer(actor, organization: Organization) -> None:
    if not may_write_prescription_drafts(user=actor, organization=organization):
        raise ApplicationError(_("Only an optometrist can write a prescription."), field="prescriber",
                               code="permission_denied")


def _check_visit(visit: Visit | None, patient: Patient) -> None:
    if visit is not None and visit.patient_id != patient.pk:
        raise ApplicationError(_("This visit belongs to another patient."), field="visit")


def _check_values(prescription: Prescription) -> None:
    if prescription.kind == PrescriptionKind.SPECTACLES:
        for field in CONTACT_LENS_FIELDS:
            if getattr(prescription, field) not in (None, ""):
                raise ApplicationError(_("Base curve, diameter and brand are for contact lenses."), field=field)


@transaction.atomic
def prescription_create(*, organization: Organization, patient: Patient, data: dict, actor=None,
                        source: str = AuditSource.STAFF) -> Prescription:
    """A draft prescription; `data` holds kind, visit, the per-eye values (od_*/os_*), pd, expires_on, notes."""
    _require_same_clinic(patient, organization)
    _require_draft_writer(actor, organization)
    unknown = set(data) - set(PRESCRIPTION_FIELDS)
    if unknown:
        raise ValueError(f"prescription_create cannot set {sorted(unknown)}")
    _check_visit(data.get("visit"), patient)
    prescription = Prescription(organization=organization, patient=patient, status=PrescriptionStatus.DRAFT,
                                created_by=actor if actor is not None and actor.is_authenticated else None,
                                **data)
    _check_values(prescription)
    prescription.full_clean()
    prescription.save()
    audit_record(instance=prescription, patient=patient, action=AuditAction.CREATED, actor=actor, source=source,
                 changes=snapshot(prescription, PRESCRIPTION_FIELDS))
    return prescription


@transaction.atomic
def prescription_update(*, prescription: Prescription, data: dict, actor=None,
                        source: str = AuditSource.STAFF) -> Prescription:
    prescription = Prescription.objects.select_for_update().select_related("organization").get(pk=prescription.pk)
    _require_draft_writer(actor, prescription.organization)
    if not prescription.is_draft:
        raise ApplicationError(_("Only a draft prescription can be edited: write a new one."), code="final")
    unknown = set(data) - set(PRESCRIPTION_FIELDS)
    if unknown:
        raise ValueError(f"prescription_update cannot set {sorted(unknown)}")
    _check_visit(data.get("visit"), prescription.patient)
    before = values_of(prescription, PRESCRIPTION_FIELDS)
    for field, value in data.items():
        setattr(prescription, field, value)
    changes = diff(before, values_of(prescription, PRESCRIPTION_FIELDS))
    if changes:
        _check_values(prescription)
        prescription.full_clean()
        prescription.save()
        audit_record(instance=prescription, patient=prescription.patient, action=AuditAction.UPDATED,
                     actor=actor, source=source, changes=changes)
    return prescription


@transaction.atomic
def prescription_finalize(*, prescription: Prescription, actor, source: str = AuditSource.STAFF) -> Prescription:
    """An optometrist makes the draft the patient's prescription in force; the previous final one of the
    same kind becomes superseded (kept, never changed)."""
    prescription = Prescription.objects.select_for_update().select_related("organization").get(pk=prescription.pk)
    _require_optometrist(user=actor, organization=prescription.organization, field="prescriber",
                         message=_("Only an optometrist can finalize a prescription."))
    if not prescription.is_draft:
        raise ApplicationError(_("This prescription is already final."), field="status")
    if not prescription.has_values:
        raise ApplicationError(_("Enter the sphere of at least one eye."), field="od_sphere")
    if prescription.is_contact_lens:
        for eye in EYES:
            if getattr(prescription, f"{eye}_sphere") is None:
                continue
            for name in ("base_curve", "diameter"):
                if getattr(prescription, f"{eye}_{name}") is None:
                    raise ApplicationError(_("A contact-lens prescription needs base curve and diameter."),
                                           field=f"{eye}_{name}")
    previous = (
        Prescription.objects.select_for_update()
        .filter(patient_id=prescription.patient_id, kind=prescription.kind, status=PrescriptionStatus.FINAL)
        .first()
    )
    if previous is not None:
        previous.status = PrescriptionStatus.SUPERSEDED
        previous.save(update_fields=["status", "updated_at"])
        audit_record(instance=previous, patient=previous.patient, action=AuditAction.SUPERSEDED, actor=actor,
                     source=source, changes={"status": [PrescriptionStatus.FINAL, PrescriptionStatus.SUPERSEDED],
                                             "superseded_by": prescription.pk})
    prescription.status = PrescriptionStatus.FINAL
    prescription.prescriber = actor
    prescription.finalized_at = timezone.now()
    prescription.issued_on = timezone.localdate(prescription.finalized_at, prescription.organization.zone)
    prescription.supersedes = previous
    prescription.full_clean()
    prescription.save()
    audit_record(instance=prescription, patient=prescription.patient, action=AuditAction.FINALIZED, actor=actor,
                 source=source, changes={"status": [PrescriptionStatus.DRAFT, PrescriptionStatus.FINAL]})
    return prescription
