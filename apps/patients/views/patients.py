from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.pagination import page_with_total
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.forms import PatientForm, form_service_call
from apps.patients.models import AuditSource, Patient, PrescriptionKind
from apps.patients.selectors import (
    audit_events_for_patient,
    is_optometrist,
    may_write_prescription_drafts,
    patient_search,
    prescription_current,
    prescription_list,
    visit_list,
)
from apps.patients.services import (
    PATIENT_FIELDS,
    patient_create,
    patient_update,
    patient_whatsapp_opt_in,
    patient_whatsapp_opt_out,
)

PAGE_SIZE = 25


@role_required()
def patient_list(request):
    query = request.GET.get("q", "").strip()
    show_inactive = request.GET.get("inactive") == "1"
    patients = patient_search(organization=request.organization, query=query, include_inactive=show_inactive)
    # A search reads its page and its total in one query; the whole list keeps the plain COUNT (an
    # index scan) so that its first page stops after 25 rows of the name index.
    page = (page_with_total(patients, request.GET.get("page"), PAGE_SIZE) if query
            else Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page")))
    context = {"page": page, "query": query, "show_inactive": show_inactive}
    # Live search swaps only the results; a history restore (back button) needs the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "patients/_patient_results.html" if partial else "patients/patient_list.html"
    return render(request, template, context)


@role_required()
def patient_create_view(request):
    form = PatientForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        patient = form_service_call(form, lambda: patient_create(
            organization=request.organization, actor=request.user, **form.cleaned_data))
        if patient is not None:
            messages.success(request, _("Patient %(name)s created.") % {"name": patient.full_name})
            return redirect("patient-detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form})


@role_required()
def patient_update_view(request, pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=pk)
    form = PatientForm(request.POST or None, instance=patient, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        data = {field: form.cleaned_data[field] for field in PATIENT_FIELDS}
        fresh = Patient.objects.get(pk=patient.pk)  # the form already wrote its values onto `patient`
        if form_service_call(form, lambda: patient_update(patient=fresh, actor=request.user, data=data)):
            messages.success(request, _("Patient data saved."))
            return redirect("patient-detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@role_required()
def patient_detail(request, pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=pk)
    organization = request.organization
    context = {
        "patient": patient,
        "visits": visit_list(organization=organization, filters={"patient": patient.pk}),
        "prescriptions": prescription_list(organization=organization, filters={"patient": patient.pk}),
        "current_spectacles": prescription_current(patient=patient, kind=PrescriptionKind.SPECTACLES),
        "current_contact_lens": prescription_current(patient=patient, kind=PrescriptionKind.CONTACT_LENS),
        "audit_events": audit_events_for_patient(patient=patient),
        "family": Patient.objects.filter(organization=organization, phone=patient.phone).exclude(pk=patient.pk)
        if patient.phone else Patient.objects.none(),
        "is_optometrist": is_optometrist(user=request.user, organization=organization),
        "may_write_prescriptions": may_write_prescription_drafts(user=request.user, organization=organization),
    }
    return render(request, "patients/patient_detail.html", context)


@role_required()
@require_POST
def patient_whatsapp_opt_out_view(request, pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=pk)
    patient_whatsapp_opt_out(patient=patient, source=AuditSource.STAFF, actor=request.user)
    messages.success(request, _("%(name)s will not receive WhatsApp messages.") % {"name": patient.full_name})
    return redirect("patient-detail", pk=patient.pk)


@role_required()
@require_POST
def patient_whatsapp_opt_in_view(request, pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=pk)
    patient_whatsapp_opt_in(patient=patient, source=AuditSource.STAFF, actor=request.user)
    messages.success(request, _("%(name)s can receive WhatsApp messages again.") % {"name": patient.full_name})
    return redirect("patient-detail", pk=patient.pk)
