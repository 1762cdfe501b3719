import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.common.validation import unstorable_text_error
from apps.organizations.models import Organization
from apps.patients.audit import snapshot
from apps.patients.models import (
    AuditAction,
    AuditEvent,
    AuditSource,
    ConsentSource,
    Patient,
    PatientImport,
    PatientImportStatus,
)
from apps.patients.phones import phone_normalize
from apps.patients.services.patients import AUDITED_FIELDS, document_normalize
from apps.patients.spreadsheets import convert_row, read_patient_rows


def _validate_row(organization: Organization, raw: dict) -> tuple[dict, dict]:
    data, errors = convert_row(raw)
    try:
        data["phone"] = phone_normalize(data["phone"], region=organization.default_phone_region)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    data["document_number"] = document_normalize(data["document_number"])
    if data.get("whatsapp_consent"):
        data["whatsapp_consent_source"] = ConsentSource.IMPORT
    patient = Patient(organization=organization, **{k: v for k, v in data.items() if k not in errors})
    if patient.whatsapp_consent:
        patient.whatsapp_consent_at = timezone.now()
    try:
        # Duplicates are not errors: they are reported and skipped, in one query for the whole file.
        patient.full_clean(exclude=list(errors), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    return data, errors


def _storable(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    # A NUL cell is already an error of its row (so the file cannot be imported); the preview keeps it
    # visible as U+FFFD because PostgreSQL's jsonb cannot hold U+0000.
    if isinstance(value, str) and unstorable_text_error(value):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return value


def _json_ready(data: dict) -> dict:
    return {k: _storable(v) for k, v in data.items()}


def _existing_documents(organization: Organization, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    numbers = {number for _type, number in keys}
    found = Patient.objects.filter(organization=organization, document_number__in=numbers)
    return set(found.values_list("document_type", "document_number")) & keys


def patient_import_preview(*, organization: Organization, actor, upload) -> PatientImport:
    """Read and check every row; nothing is created yet. Rows with errors block the import; rows whose document
    is already in the clinic (or earlier in the file) are duplicates, reported and skipped."""
    rows = []
    for line, raw in read_patient_rows(upload):
        data, errors = _validate_row(organization, raw)
        rows.append({"line": line, "data": _json_ready(data), "errors": errors, "duplicate": False})
    if not rows:
        raise ApplicationError(_("The file has no patients."), field="file")
    keys = {(row["data"].get("document_type"), row["data"]["document_number"]) for row in rows}
    existing = _existing_documents(organization, keys)
    seen = set()
    for row in rows:
        key = (row["data"].get("document_type"), row["data"]["document_number"])
        row["duplicate"] = key in existing or key in seen
        seen.add(key)
    return PatientImport.objects.create(organization=organization, created_by=actor, filename=upload.name[:255],
                                        rows=rows)


@transaction.atomic
def patient_import_confirm(*, patient_import: PatientImport, actor) -> PatientImport:
    """Create every importable row, or none: any error (or a document created meanwhile) leaves the clinic
    as it was."""
    patient_import = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
    if patient_import.status != PatientImportStatus.PREVIEW:
        raise ApplicationError(_("This file was already imported."), field="file")
    if patient_import.error_rows:
        raise ApplicationError(_("Fix the rows with errors and upload the file again."), field="file")
    rows = patient_import.importable_rows
    organization = patient_import.organization
    keys = {(row["data"]["document_type"], row["data"]["document_number"]) for row in rows}
    if _existing_documents(organization, keys):
        raise ApplicationError(_("Some of these patients were created meanwhile: upload the file again."),
                               field="file")
    now = timezone.now()
    patients = []
    for row in rows:
        data = dict(row["data"])
        if data.get("birth_date"):
            data["birth_date"] = datetime.date.fromisoformat(data["birth_date"])
        patients.append(Patient(organization=organization, whatsapp_consent_at=now if data["whatsapp_consent"]
                                else None, **data))
    Patient.objects.bulk_create(patients, batch_size=1000)
    AuditEvent.objects.bulk_create(
        [AuditEvent(organization=organization, actor=actor, source=AuditSource.IMPORT, action=AuditAction.IMPORTED,
                    object_type=Patient._meta.label_lower, object_id=p.pk, patient=p,
                    changes={**snapshot(p, AUDITED_FIELDS), "file": patient_import.filename})
         for p in patients],
        batch_size=1000,
    )
    patient_import.status = PatientImportStatus.DONE
    patient_import.created_count = len(patients)
    patient_import.save(update_fields=["status", "created_count", "updated_at"])
    return patient_import
