import datetime
import io
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.common.jobs import task_configure
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
from apps.patients.models.imports import PATIENT_IMPORT_RUNNING
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


# Rows checked between two progress updates of the check job.
CHECK_CHUNK = 500


def _check_rows(organization: Organization, raw_rows: list[tuple[int, dict]], progress=None) -> list[dict]:
    """Every row checked; rows whose document is already in the clinic (or earlier in the file) are duplicates."""
    rows = []
    for start in range(0, len(raw_rows), CHECK_CHUNK):
        for line, raw in raw_rows[start:start + CHECK_CHUNK]:
            data, errors = _validate_row(organization, raw)
            rows.append({"line": line, "data": _json_ready(data), "errors": errors, "duplicate": False})
        if progress is not None:
            progress(len(rows))
    keys = {(row["data"].get("document_type"), row["data"]["document_number"]) for row in rows}
    existing = _existing_documents(organization, keys)
    seen = set()
    for row in rows:
        key = (row["data"].get("document_type"), row["data"]["document_number"])
        row["duplicate"] = key in existing or key in seen
        seen.add(key)
    return rows


def _read_rows(upload) -> list[tuple[int, dict]]:
    raw_rows = read_patient_rows(upload)
    if not raw_rows:
        raise ApplicationError(_("The file has no patients."), field="file")
    return raw_rows


def patient_import_preview(*, organization: Organization, actor, upload) -> PatientImport:
    """Read and check every row at once (small files, scripts); nothing is created yet. Rows with errors block the
    import; duplicates are reported and skipped. The upload page uses patient_import_start instead."""
    rows = _check_rows(organization, _read_rows(upload))
    return PatientImport.objects.create(organization=organization, created_by=actor, filename=upload.name[:255],
                                        rows=rows)


def _defer(task_name: str, patient_import_id: int) -> None:
    task_configure(task_name).defer(import_id=patient_import_id)


def patient_import_start(*, organization: Organization, actor, upload) -> PatientImport:
    """Keep the file and queue its check: a file of 20,000 rows takes longer to check than a request may last."""
    patient_import = PatientImport.objects.create(
        organization=organization, created_by=actor, filename=upload.name[:255], status=PatientImportStatus.CHECKING,
        content=upload.read())
    transaction.on_commit(partial(_defer, "patients.check_import", patient_import.pk))
    return patient_import


def _progress(patient_import_id: int, **values) -> None:
    # Outside any transaction (a job), so the page polling the progress sees it at once.
    PatientImport.objects.filter(pk=patient_import_id).update(updated_at=timezone.now(), **values)


def _fail(patient_import_id: int, reason: str) -> None:
    _progress(patient_import_id, status=PatientImportStatus.FAILED, failure=reason, content=b"")


def patient_import_check(*, patient_import_id: int) -> PatientImport:
    """The check job: the stored file read into rows, with progress; a file that cannot be read fails with why."""
    patient_import = PatientImport.objects.select_related("organization").get(pk=patient_import_id)
    if patient_import.status != PatientImportStatus.CHECKING:
        return patient_import  # checked already (a job run twice)
    upload = io.BytesIO(bytes(patient_import.content))
    upload.name = patient_import.filename
    try:
        raw_rows = _read_rows(upload)
    except ApplicationError as exc:
        _fail(patient_import_id, exc.message)
        return PatientImport.objects.get(pk=patient_import_id)
    total = len(raw_rows)
    _progress(patient_import_id, progress_done=0, progress_total=total)
    rows = _check_rows(patient_import.organization, raw_rows,
                       progress=lambda done: _progress(patient_import_id, progress_done=done))
    PatientImport.objects.filter(pk=patient_import_id, status=PatientImportStatus.CHECKING).update(
        rows=rows, status=PatientImportStatus.PREVIEW, content=b"", progress_done=total, updated_at=timezone.now())
    return PatientImport.objects.get(pk=patient_import_id)


@transaction.atomic
def patient_import_confirm_start(*, patient_import: PatientImport, actor) -> PatientImport:
    """Queue the import of a checked file; the import job creates every importable row, or none."""
    patient_import = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
    _check_importable(patient_import)
    patient_import.status = PatientImportStatus.IMPORTING
    patient_import.confirmed_by = actor
    patient_import.progress_done, patient_import.progress_total = 0, len(patient_import.importable_rows)
    patient_import.save(update_fields=["status", "confirmed_by", "progress_done", "progress_total", "updated_at"])
    transaction.on_commit(partial(_defer, "patients.run_import", patient_import.pk))
    return patient_import


def patient_import_run(*, patient_import_id: int) -> PatientImport:
    """The import job; if the rows cannot be created (a document created meanwhile), it fails with why."""
    try:
        with transaction.atomic():
            patient_import = PatientImport.objects.select_for_update().get(pk=patient_import_id)
            if patient_import.status != PatientImportStatus.IMPORTING:
                return patient_import  # imported already (a job run twice)
            return _import_rows(patient_import, actor=patient_import.confirmed_by)
    except ApplicationError as exc:
        _fail(patient_import_id, exc.message)
        return PatientImport.objects.get(pk=patient_import_id)


def _check_importable(patient_import: PatientImport) -> None:
    if patient_import.status in PATIENT_IMPORT_RUNNING:
        raise ApplicationError(_("This file is still being processed."), field="file")
    if patient_import.status != PatientImportStatus.PREVIEW:
        raise ApplicationError(_("This file was already imported."), field="file")
    if patient_import.error_rows:
        raise ApplicationError(_("Fix the rows with errors and upload the file again."), field="file")


@transaction.atomic
def patient_import_confirm(*, patient_import: PatientImport, actor) -> PatientImport:
    """Create every importable row at once, or none (small files, scripts): any error (or a document created
    meanwhile) leaves the clinic as it was."""
    patient_import = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
    _check_importable(patient_import)
    return _import_rows(patient_import, actor=actor)


def _import_rows(patient_import: PatientImport, *, actor) -> PatientImport:
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
    patient_import.created_count = patient_import.progress_done = len(patients)
    patient_import.save(update_fields=["status", "created_count", "progress_done", "updated_at"])
    return patient_import
