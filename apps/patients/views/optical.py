from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError
from apps.organizations.models import Role
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.forms import PrescriptionForm, form_service_call
from apps.patients.models import Patient, Prescription
from apps.patients.selectors import may_write_prescription_drafts
from apps.patients.services import prescription_create, prescription_finalize, prescription_update
from apps.patients.services.optical import PRESCRIPTION_FIELDS


def _require_draft_writer(request) -> None:
    if not may_write_prescription_drafts(user=request.user, organization=request.organization):
        raise PermissionDenied


def _prescriptions():
    return Prescription.objects.select_related("patient", "prescriber", "visit", "supersedes")


@role_required()
def prescription_create_view(request, patient_pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    _require_draft_writer(request)
    initial = {"visit": request.GET.get("visit")} if request.GET.get("visit") else {}
    form = PrescriptionForm(request.POST or None, patient=patient, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {field: form.cleaned_data[field] for field in PRESCRIPTION_FIELDS}
        prescription = form_service_call(form, lambda: prescription_create(
            organization=request.organization, patient=patient, actor=request.user, data=data))
        if prescription is not None:
            messages.success(request, _("Draft prescription saved."))
            return redirect("prescription-detail", pk=prescription.pk)
    return render(request, "patients/prescription_form.html", {"form": form, "patient": patient})


@role_required()
def prescription_detail(request, pk):
    prescription = get_scoped_or_404(_prescriptions(), request.organization, pk=pk)
    return render(request, "patients/prescription_detail.html", {
        "prescription": prescription, "patient": prescription.patient,
        "can_finalize": request.membership.role == Role.OPTOMETRIST and prescription.is_draft,
        "can_edit": prescription.is_draft and may_write_prescription_drafts(user=request.user,
                                                                            organization=request.organization),
    })


@role_required()
def prescription_update_view(request, pk):
    prescription = get_scoped_or_404(_prescriptions(), request.organization, pk=pk)
    _require_draft_writer(request)
    if not prescription.is_draft:
        messages.error(request, _("Only a draft prescription can be edited: write a new one."))
        return redirect("prescription-detail", pk=prescription.pk)
    form = PrescriptionForm(request.POST or None, instance=prescription, patient=prescription.patient)
    if request.method == "POST" and form.is_valid():
        data = {field: form.cleaned_data[field] for field in PRESCRIPTION_FIELDS}
        saved = form_service_call(form, lambda: prescription_update(
            prescription=Prescription.objects.get(pk=prescription.pk), actor=request.user, data=data))
        if saved is not None:
            messages.success(request, _("Draft prescription saved."))
            return redirect("prescription-detail", pk=prescription.pk)
    return render(request, "patients/prescription_form.html", {
        "form": form, "patient": prescription.patient, "prescription": prescription})


@role_required(Role.OPTOMETRIST)
@require_POST
def prescription_finalize_view(request, pk):
    prescription = get_scoped_or_404(Prescription, request.organization, pk=pk)
    try:
        prescription_finalize(prescription=prescription, actor=request.user)
    except (ApplicationError, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or "; ".join(exc.messages))
    else:
        messages.success(request, _("Prescription finalized; it replaces the previous one."))
    return redirect("prescription-detail", pk=prescription.pk)


@role_required()
def prescription_print(request, pk):
    prescription = get_scoped_or_404(_prescriptions(), request.organization, pk=pk)
    return render(request, "patients/prescription_print.html", {
        "prescription": prescription, "patient": prescription.patient, "organization": request.organization,
    })


@role_required()
@require_POST
def prescription_send_whatsapp(request, pk):
    """The printable prescription, as a PDF document, to the patient's WhatsApp."""
    from apps.notifications.models import AttachmentKind
    from apps.notifications.services import message_send_media
    from apps.patients.pdf import prescription_pdf, prescription_pdf_filename

    prescription = get_scoped_or_404(_prescriptions(), request.organization, pk=pk)
    if prescription.is_draft:
        messages.error(request, _("A draft prescription cannot be sent: it is not valid until it is finalized."))
        return redirect("prescription-detail", pk=prescription.pk)
    try:
        message_send_media(
            organization=request.organization, patient=prescription.patient,
            content=prescription_pdf(prescription=prescription), filename=prescription_pdf_filename(prescription),
            content_type="application/pdf", kind=AttachmentKind.DOCUMENT, sent_by=request.user,
            caption=_("Your prescription from %(clinic)s.") % {"clinic": request.organization.name},
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The prescription PDF is queued for sending by WhatsApp."))
    return redirect("patient-detail", pk=prescription.patient_id)
