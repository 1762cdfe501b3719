import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.organizations.models import Organization
from apps.patients.audit import audit_record, diff, snapshot, values_of
from apps.patients.models import AuditAction, AuditSource, Patient, Visit, VisitAddendum
from apps.patients.selectors import is_optometrist

VISIT_FIELDS = ("visit_date", "reason", "anamnesis", "findings", "diagnosis", "plan", "optometrist")


def _require_optometrist(*, user, organization: Organization, field: str, message: str) -> None:
    if user is None or not is_optometrist(user=user, organization=organization):
        raise ApplicationError(message, field=field, code="permission_denied")


def _require_same_clinic(patient: Patient, organization: Organization) -> None:
    if patient.organization_id != organization.pk:
        raise ApplicationError(_("This patient does not exist."), field="patient")


@transaction.atomic
def visit_create(
    *,
    organization: Organization,
    patient: Patient,
    optometrist,
    reason: str,
    visit_date: datetime.date | None = None,
    anamnesis: str = "",
    findings: str = "",
    diagnosis: str = "",
    plan: str = "",
    actor=None,
    source: str = AuditSource.STAFF,
) -> Visit:
    _require_same_clinic(patient, organization)
    _require_optometrist(user=optometrist, organization=organization, field="optometrist",
                         message=_("Choose an optometrist of this clinic."))
    visit = Visit(
        organization=organization, patient=patient, optometrist=optometrist, reason=reason,
        visit_date=visit_date or timezone.localdate(timezone.now(), organization.zone), anamnesis=anamnesis,
        findings=findings, diagnosis=diagnosis, plan=plan,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    visit.full_clean()
    visit.save()
    audit_record(instance=visit, patient=patient, action=AuditAction.CREATED, actor=actor, source=source,
                 changes=snapshot(visit, VISIT_FIELDS))
    return visit


@transaction.atomic
def visit_update(*, visit: Visit, data: dict, actor=None, source: str = AuditSource.STAFF) -> Visit:
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.is_signed:
        raise ApplicationError(_("A signed visit cannot be edited: add an addendum instead."), code="signed")
    unknown = set(data) - set(VISIT_FIELDS)
    if unknown:
        raise ValueError(f"visit_update cannot set {sorted(unknown)}")
    if "optometrist" in data and data["optometrist"] != visit.optometrist:
        _require_optometrist(user=data["optometrist"], organization=visit.organization, field="optometrist",
                             message=_("Choose an optometrist of this clinic."))
    before = values_of(visit, VISIT_FIELDS)
    for field, value in data.items():
        setattr(visit, field, value)
    changes = diff(before, values_of(visit, VISIT_FIELDS))
    if changes:
        visit.full_clean()
        visit.save()
        audit_record(instance=visit, patient=visit.patient, action=AuditAction.UPDATED, actor=actor,
                     source=source, changes=changes)
    return visit


@transaction.atomic
def visit_sign(*, visit: Visit, actor, source: str = AuditSource.STAFF) -> Visit:
    """The visit's optometrist signs it; from then on it only grows by addenda."""
    visit = Visit.objects.select_for_update().select_related("organization").get(pk=visit.pk)
    _require_optometrist(user=actor, organization=visit.organization, field="signed_by",
                         message=_("Only an optometrist can sign a visit."))
    if visit.is_signed:
        raise ApplicationError(_("This visit is already signed."), code="signed")
    if visit.optometrist_id != actor.pk:
        raise ApplicationError(_("Only the optometrist who saw the patient can sign this visit."),
                               field="optometrist", code="permission_denied")
    visit.signed_at = timezone.now()
    visit.signed_by = actor
    visit.save(update_fields=["signed_at", "signed_by", "updated_at"])
    audit_record(instance=visit, patient=visit.patient, action=AuditAction.SIGNED, actor=actor, source=source)
    return visit


@transaction.atomic
def visit_addendum_create(*, visit: Visit, actor, text: str, source: str = AuditSource.STAFF) -> VisitAddendum:
    """Corrections to a signed visit; an unsigned one is simply edited."""
    visit = Visit.objects.select_for_update().select_related("organization", "patient").get(pk=visit.pk)
    _require_optometrist(user=actor, organization=visit.organization, field="text",
                         message=_("Only an optometrist can add an addendum."))
    if not visit.is_signed:
        raise ApplicationError(_("This visit is not signed yet: edit it instead."), field="text")
    text = (text or "").strip()
    if not text:
        raise ApplicationError(_("Write the addendum."), field="text")
    addendum = VisitAddendum.objects.create(organization_id=visit.organization_id, visit=visit, author=actor,
                                            text=text)
    audit_record(instance=visit, patient=visit.patient, action=AuditAction.ADDENDUM, actor=actor, source=source,
                 changes={"addendum": text})
    return addendum
