from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.exceptions import ApplicationError
from apps.organizations.models import Role
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.forms import AddendumForm, VisitForm, form_service_call
from apps.patients.models import Patient, Visit
from apps.patients.services import visit_addendum_create, visit_create, visit_sign, visit_update
from apps.patients.services.clinical import VISIT_FIELDS

# Clinical records are written by optometrists; everyone in the clinic may read them.
CLINICAL_ROLES = (Role.OPTOMETRIST,)


def _visits():
    return Visit.objects.select_related("patient", "optometrist", "signed_by")


@role_required(*CLINICAL_ROLES)
def visit_create_view(request, patient_pk):
    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    form = VisitForm(request.POST or None, organization=request.organization,
                     initial={"optometrist": request.user.pk})
    if request.method == "POST" and form.is_valid():
        visit = form_service_call(form, lambda: visit_create(
            organization=request.organization, patient=patient, actor=request.user, **form.cleaned_data))
        if visit is not None:
            messages.success(request, _("Visit recorded."))
            return redirect("visit-detail", pk=visit.pk)
    return render(request, "patients/visit_form.html", {"form": form, "patient": patient})


@role_required()
def visit_detail(request, pk):
    visit = get_scoped_or_404(_visits(), request.organization, pk=pk)
    return render(request, "patients/visit_detail.html", {
        "visit": visit, "patient": visit.patient, "addenda": visit.addenda.select_related("author"),
        "addendum_form": AddendumForm(), "can_write": request.membership.role in CLINICAL_ROLES,
    })


@role_required(*CLINICAL_ROLES)
def visit_update_view(request, pk):
    visit = get_scoped_or_404(_visits(), request.organization, pk=pk)
    if visit.is_signed:
        messages.error(request, _("A signed visit cannot be edited: add an addendum instead."))
        return redirect("visit-detail", pk=visit.pk)
    form = VisitForm(request.POST or None, instance=visit, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        data = {field: form.cleaned_data[field] for field in VISIT_FIELDS}
        saved = form_service_call(form, lambda: visit_update(
            visit=Visit.objects.get(pk=visit.pk), actor=request.user, data=data))
        if saved is not None:
            messages.success(request, _("Visit saved."))
            return redirect("visit-detail", pk=visit.pk)
    return render(request, "patients/visit_form.html", {"form": form, "patient": visit.patient, "visit": visit})


@role_required(*CLINICAL_ROLES)
@require_POST
def visit_sign_view(request, pk):
    visit = get_scoped_or_404(Visit, request.organization, pk=pk)
    try:
        visit_sign(visit=visit, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Visit signed."))
    return redirect("visit-detail", pk=visit.pk)


@role_required(*CLINICAL_ROLES)
@require_POST
def visit_addendum_create_view(request, pk):
    visit = get_scoped_or_404(Visit, request.organization, pk=pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            visit_addendum_create(visit=visit, actor=request.user, text=form.cleaned_data["text"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Addendum added."))
    else:
        messages.error(request, _("Write the addendum."))
    return redirect("visit-detail", pk=visit.pk)
