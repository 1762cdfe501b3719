"""A patient file (up to 20,000 rows) is checked and imported by background jobs, never inside the upload
request; the page shows how far the job is."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from apps.patients.models import Patient, PatientImport, PatientImportStatus
from apps.patients.spreadsheets import MAX_ROWS
from apps.patients.tasks import check_patient_import, run_patient_import

pytestmark = pytest.mark.django_db

HEADERS = ["tipo_documento", "numero_documento", "nombres", "apellidos", "telefono", "consentimiento_whatsapp"]


def _big_csv(rows: int) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for n in range(rows):
        writer.writerow(["CC", f"{70_000_000 + n}", "Paciente", f"Número {n}", f"300{1_000_000 + n}", "si"])
    return SimpleUploadedFile("pacientes.csv", buffer.getvalue().encode(), content_type="text/csv")


def _jobs(task_name):
    return list(ProcrastinateJob.objects.filter(task_name=task_name).order_by("id"))


def test_the_upload_request_only_stores_the_file_and_queues_the_check(staff_client, organization,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("patient-import"), {"file": _big_csv(50)})

    patient_import = PatientImport.objects.get()
    assert response["Location"] == reverse("patient-import-preview", args=[patient_import.pk])
    assert patient_import.status == PatientImportStatus.CHECKING and patient_import.rows == []
    assert [job.args for job in _jobs("patients.check_import")] == [{"import_id": patient_import.pk}]
    page = staff_client.get(response["Location"]).content.decode()
    assert 'id="import-progress"' in page and 'id="confirm-import"' not in page


def test_twenty_thousand_rows_are_checked_and_imported_by_the_jobs_with_progress(
        staff_client, organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("patient-import"), {"file": _big_csv(MAX_ROWS)})
    patient_import = PatientImport.objects.get()

    check_patient_import(import_id=patient_import.pk)

    patient_import.refresh_from_db()
    assert patient_import.status == PatientImportStatus.PREVIEW
    assert (patient_import.progress_done, patient_import.progress_total) == (MAX_ROWS, MAX_ROWS)
    assert len(patient_import.importable_rows) == MAX_ROWS and patient_import.content == b""
    progress = staff_client.get(reverse("patient-import-progress", args=[patient_import.pk]))
    assert progress["HX-Refresh"] == "true"  # done: the page reloads into the preview

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("patient-import-confirm", args=[patient_import.pk]))
    patient_import.refresh_from_db()
    assert response["Location"] == reverse("patient-import-preview", args=[patient_import.pk])
    assert patient_import.status == PatientImportStatus.IMPORTING and Patient.objects.count() == 0
    assert [job.args for job in _jobs("patients.run_import")] == [{"import_id": patient_import.pk}]

    run_patient_import(import_id=patient_import.pk)

    patient_import.refresh_from_db()
    assert patient_import.status == PatientImportStatus.DONE and patient_import.created_count == MAX_ROWS
    assert Patient.objects.filter(organization=organization).count() == MAX_ROWS


def test_the_progress_fragment_counts_the_rows_checked_so_far(staff_client, organization, staff_user):
    patient_import = PatientImport.objects.create(organization=organization, created_by=staff_user, filename="x.csv",
                                                  status=PatientImportStatus.CHECKING, progress_done=500,
                                                  progress_total=2000)

    fragment = staff_client.get(reverse("patient-import-progress", args=[patient_import.pk]))

    assert fragment.status_code == 200 and "HX-Refresh" not in fragment
    assert 'aria-valuenow="25"' in fragment.content.decode()
    assert "500" in fragment.content.decode() and "2000" in fragment.content.decode()


def test_a_file_that_cannot_be_read_fails_the_check_with_its_reason(staff_client, organization,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("patient-import"),
                          {"file": SimpleUploadedFile("sin-columnas.csv", b"Nombres\nAna\n")})
    patient_import = PatientImport.objects.get()

    check_patient_import(import_id=patient_import.pk)

    patient_import.refresh_from_db()
    assert patient_import.status == PatientImportStatus.FAILED
    page = staff_client.get(reverse("patient-import-preview", args=[patient_import.pk])).content.decode()
    assert 'id="import-failed"' in page and "numero_documento" in page
    assert Patient.objects.count() == 0


def test_another_clinics_progress_answers_404(staff_client, other_organization, other_user):
    theirs = PatientImport.objects.create(organization=other_organization, created_by=other_user, filename="x.csv")

    assert staff_client.get(reverse("patient-import-progress", args=[theirs.pk])).status_code == 404
