from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.forms import ImportUploadForm
from apps.patients.models import Patient, PatientImport
from apps.patients.selectors import patient_search
from apps.patients.services import patient_import_confirm_start, patient_import_start
from apps.patients.spreadsheets import export_patients

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _field_label(field: str) -> str:
    try:
        return str(Patient._meta.get_field(field).verbose_name).capitalize()
    except Exception:  # noqa: BLE001 - any non-field key is shown as it is
        return field


@role_required()
def patient_import_upload(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        patient_import = patient_import_start(organization=request.organization, actor=request.user,
                                              upload=form.cleaned_data["file"])
        return redirect("patient-import-preview", pk=patient_import.pk)
    return render(request, "patients/import_upload.html", {"form": form})


@role_required()
def patient_import_preview_view(request, pk):
    patient_import = get_scoped_or_404(PatientImport, request.organization, pk=pk)
    rows = [
        {**row, "error_list": [f"{_field_label(field)}: {' '.join(errors)}" for field, errors in row["errors"].items()]}
        for row in patient_import.rows
    ]
    return render(request, "patients/import_preview.html", {"patient_import": patient_import, "rows": rows})


@role_required()
def patient_import_progress(request, pk):
    """The fragment the preview page polls while a job works on the file; once it is done, the page reloads."""
    patient_import = get_scoped_or_404(PatientImport.objects.defer("rows", "content"), request.organization, pk=pk)
    if not patient_import.is_running:
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "patients/_import_progress.html", {"patient_import": patient_import})


@role_required()
@require_POST
def patient_import_confirm_view(request, pk):
    patient_import = get_scoped_or_404(PatientImport, request.organization, pk=pk)
    try:
        patient_import_confirm_start(patient_import=patient_import, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("patient-import-preview", pk=patient_import.pk)


@role_required()
def patient_export(request):
    file_format = request.GET.get("format", "csv")
    if file_format not in EXPORT_TYPES:
        file_format = "csv"
    patients = patient_search(organization=request.organization, query=request.GET.get("q", ""),
                              include_inactive=True)
    response = HttpResponse(export_patients(patients, file_format=file_format), content_type=EXPORT_TYPES[file_format])
    filename = f"pacientes-{timezone.localdate():%Y%m%d}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
