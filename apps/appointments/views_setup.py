"""Schedule setup for the clinic's administrators: providers, their week and time off, visit types."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.appointments.forms import (
    AppointmentTypeForm,
    ProviderForm,
    SchedulingSettingsForm,
    TimeOffForm,
    WorkingHoursForm,
)
from apps.appointments.models import AppointmentType, Provider, TimeOff
from apps.appointments.provider_services import (
    appointment_type_create,
    appointment_type_update,
    provider_create,
    provider_feed_token_rotate,
    provider_update,
    scheduling_settings_update,
    time_off_create,
    time_off_delete,
    working_hours_set,
)
from apps.appointments.selectors import scheduling_settings_get
from apps.common.exceptions import ApplicationError
from apps.organizations.models import MANAGER_ROLES
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404, scoped


def _add_error(form, exc: ApplicationError | ValidationError) -> None:
    if isinstance(exc, ValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, errors in fields.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@role_required(*MANAGER_ROLES)
def schedule_setup(request):
    organization = request.organization
    provider_form = ProviderForm(organization=organization, prefix="provider")
    type_form = AppointmentTypeForm(prefix="type")
    if request.method == "POST" and "provider-display_name" in request.POST:
        provider_form = ProviderForm(request.POST, organization=organization, prefix="provider")
        if provider_form.is_valid():
            try:
                provider = provider_create(organization=organization, **provider_form.cleaned_data)
            except (ApplicationError, ValidationError) as exc:
                _add_error(provider_form, exc)
            else:
                messages.success(request, _("Provider added. Now set their working hours."))
                return redirect("provider-edit", provider.pk)
    elif request.method == "POST":
        type_form = AppointmentTypeForm(request.POST, prefix="type")
        if type_form.is_valid():
            try:
                appointment_type_create(organization=organization, **type_form.cleaned_data)
            except (ApplicationError, ValidationError) as exc:
                _add_error(type_form, exc)
            else:
                messages.success(request, _("Appointment type added."))
                return redirect("schedule-setup")
    current = scheduling_settings_get(organization=organization)
    return render(request, "appointments/setup.html", {
        "settings_form": SchedulingSettingsForm(initial={"late_cancel_hours": current.late_cancel_hours,
                                                         "slot_minutes": current.slot_minutes,
                                                         "early_arrival_minutes": current.early_arrival_minutes}),
        "providers": scoped(Provider, organization).prefetch_related("working_hours").select_related("user"),
        "types": scoped(AppointmentType, organization),
        "provider_form": provider_form,
        "type_form": type_form,
    }, status=400 if request.method == "POST" else 200)


@role_required(*MANAGER_ROLES)
def provider_edit(request, pk):
    organization = request.organization
    provider = get_scoped_or_404(Provider.objects.prefetch_related("working_hours"), organization, pk=pk)
    initial = {"display_name": provider.display_name, "user": provider.user, "color": provider.color,
               "is_active": provider.is_active}
    form = ProviderForm(initial=initial, organization=organization, prefix="provider")
    hours_form = WorkingHoursForm(initial=WorkingHoursForm.initial_for(provider), prefix="hours")
    if request.method == "POST":
        form = ProviderForm(request.POST, organization=organization, prefix="provider")
        hours_form = WorkingHoursForm(request.POST, prefix="hours")
        if form.is_valid() and hours_form.is_valid():
            try:
                with transaction.atomic():
                    provider_update(provider=provider, data=form.cleaned_data)
                    working_hours_set(provider=provider, blocks=hours_form.blocks())
            except (ApplicationError, ValidationError) as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Provider saved."))
                return redirect("provider-edit", provider.pk)
    return render(request, "appointments/provider_edit.html", {
        "provider": provider, "form": form, "hours_form": hours_form, "time_off_form": TimeOffForm(),
        "time_off": provider.time_off.all(),
        "feed_url": request.build_absolute_uri(reverse("provider-feed", args=[provider.feed_token])),
    }, status=400 if request.method == "POST" else 200)


@role_required(*MANAGER_ROLES)
@require_POST
def provider_time_off_add(request, pk):
    provider = get_scoped_or_404(Provider, request.organization, pk=pk)
    form = TimeOffForm(request.POST)
    if form.is_valid():
        start, end = form.period(request.organization.zone)
        try:
            time_off_create(provider=provider, start=start, end=end, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Time off added."))
    else:
        messages.error(request, _("Check the dates of the time off."))
    return redirect("provider-edit", provider.pk)


@role_required(*MANAGER_ROLES)
@require_POST
def provider_time_off_delete(request, pk, time_off_pk):
    provider = get_scoped_or_404(Provider, request.organization, pk=pk)
    time_off_delete(time_off=get_scoped_or_404(TimeOff.objects.filter(provider=provider), request.organization,
                                               pk=time_off_pk))
    messages.success(request, _("Time off removed."))
    return redirect("provider-edit", provider.pk)


@role_required(*MANAGER_ROLES)
@require_POST
def provider_feed_rotate(request, pk):
    provider_feed_token_rotate(provider=get_scoped_or_404(Provider, request.organization, pk=pk))
    messages.success(request, _("New calendar link created; the old one no longer works."))
    return redirect("provider-edit", pk)


@role_required(*MANAGER_ROLES)
def appointment_type_edit(request, pk):
    appointment_type = get_scoped_or_404(AppointmentType, request.organization, pk=pk)
    form = AppointmentTypeForm(initial={field: getattr(appointment_type, field)
                                        for field in ("name", "duration_minutes", "color", "is_active")})
    if request.method == "POST":
        form = AppointmentTypeForm(request.POST)
        if form.is_valid():
            try:
                appointment_type_update(appointment_type=appointment_type, data=form.cleaned_data)
            except (ApplicationError, ValidationError) as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Appointment type saved."))
                return redirect("schedule-setup")
    return render(request, "appointments/appointment_type_form.html",
                  {"form": form, "appointment_type": appointment_type},
                  status=400 if request.method == "POST" else 200)


@role_required(*MANAGER_ROLES)
@require_POST
def scheduling_settings_save(request):
    form = SchedulingSettingsForm(request.POST)
    if form.is_valid():
        scheduling_settings_update(organization=request.organization, **form.cleaned_data)
        messages.success(request, _("Scheduling rules saved."))
    else:
        messages.error(request, _("Check the scheduling rules."))
    return redirect("schedule-setup")
