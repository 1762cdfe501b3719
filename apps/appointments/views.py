import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.appointments import ical
from apps.appointments.availability import availability_list
from apps.appointments.calendar_grid import calendar_build
from apps.appointments.forms import (
    AppointmentBookForm,
    AppointmentCancelForm,
    AppointmentMoveForm,
    ConfirmationForm,
    SlotQueryForm,
)
from apps.appointments.models import Appointment, AppointmentType, CancelledBy, EventSource, Provider
from apps.appointments.selectors import (
    appointment_event_list,
    appointment_list_for_days,
    appointment_list_for_patient,
    patient_search,
    provider_list,
    scheduling_settings_get,
)
from apps.appointments.services import (
    appointment_book,
    appointment_cancel,
    appointment_confirmation_set,
    appointment_move,
    appointment_status_change,
)
from apps.appointments.transitions import moves_now, next_statuses
from apps.common.exceptions import ApplicationError
from apps.common.validation import MAX_DAY, MIN_DAY, is_whole_number
from apps.organizations.models import MANAGER_ROLES
from apps.organizations.roles import role_required
from apps.organizations.scoping import get_scoped_or_404, scoped


def _can_override(request) -> bool:
    return request.membership is not None and request.membership.role in MANAGER_ROLES


def _early_arrival(request) -> dt.timedelta:
    return dt.timedelta(minutes=scheduling_settings_get(organization=request.organization).early_arrival_minutes)


def _moves(request, appointment) -> list[str]:
    """The status buttons of the appointment page: what the table and the clock allow now."""
    return moves_now(appointment, statuses=next_statuses(appointment.status), now=timezone.now(),
                     early_arrival=_early_arrival(request))


def _local_today(request) -> dt.date:
    return timezone.now().astimezone(request.organization.zone).date()


def _parse_date(value, default: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default
    # The calendar steps a week either way: the first and last days Python knows have no neighbours.
    return day if MIN_DAY <= day <= MAX_DAY else default


def _selected_provider(request):
    provider_id = request.GET.get("provider")
    if not is_whole_number(provider_id):
        return None
    return get_scoped_or_404(Provider, request.organization, pk=provider_id)


@role_required()
def calendar(request):
    """Day or week, of one provider (?provider=) or all; free cells link to the booking form."""
    view = "week" if request.GET.get("view") == "week" else "day"
    day = _parse_date(request.GET.get("date"), _local_today(request))
    first_day = day - dt.timedelta(days=day.weekday()) if view == "week" else day
    provider = _selected_provider(request)
    providers = list(provider_list(organization=request.organization))
    # The week of several providers is one section per provider, each loaded by htmx as it scrolls into
    # view (calendar_provider_week): ten providers' weeks in one page were ~1 MB of markup.
    lazy = view == "week" and provider is None and len(providers) > 1
    grid = None if lazy else calendar_build(organization=request.organization, first_day=first_day, view=view,
                                            provider=provider, providers=providers)
    step = dt.timedelta(days=7 if view == "week" else 1)
    return render(request, "appointments/calendar.html", {
        "grid": grid, "lazy_providers": providers if lazy else [], "view": view, "day": day,
        "first_day": first_day, "provider": provider, "providers": providers,
        "show_provider": view == "week" and provider is None,
        "previous_day": first_day - step, "next_day": first_day + step, "today": _local_today(request),
        "last_day": first_day + step - dt.timedelta(days=1),
    })


@role_required()
def calendar_provider_week(request, pk):
    """One provider's week as a calendar section: what the several-providers week loads per provider."""
    provider = get_scoped_or_404(Provider, request.organization, pk=pk)
    day = _parse_date(request.GET.get("date"), _local_today(request))
    first_day = day - dt.timedelta(days=day.weekday())
    grid = calendar_build(organization=request.organization, first_day=first_day, view="week", provider=provider,
                          providers=[provider])
    return render(request, "appointments/_calendar_body.html", {"grid": grid, "view": "week", "provider": provider,
                                                                 "fragment": True})


@role_required()
def today(request):
    provider = _selected_provider(request)
    appointments = appointment_list_for_days(organization=request.organization, first_day=_local_today(request),
                                             provider=provider)
    template = "appointments/_today_rows.html" if request.htmx.target == "today-rows" else "appointments/today.html"
    return render(request, template, {
        "appointments": appointments, "provider": provider,
        "providers": provider_list(organization=request.organization), "day": _local_today(request),
        "early_arrival": _early_arrival(request),
    })


def _initial_booking(request) -> dict:
    initial = {"date": _local_today(request)}
    if (start := request.GET.get("start")):
        try:
            moment = dt.datetime.fromisoformat(start)
        except ValueError:
            moment = None
        if moment is not None:
            moment = moment.astimezone(request.organization.zone) if timezone.is_aware(moment) else moment
            initial.update(date=moment.date(), time=moment.time().replace(second=0, microsecond=0))
    for name, model in (("provider", Provider), ("appointment_type", AppointmentType)):
        value = request.GET.get(name)
        if is_whole_number(value):
            initial[name] = scoped(model, request.organization).filter(pk=value).first()
    return initial


def _initial_patient(request, form):
    from apps.patients.models import Patient

    value = form.data.get("patient") if form.is_bound else request.GET.get("patient")
    if is_whole_number(value):
        return scoped(Patient, request.organization).filter(pk=value).first()
    return None


@role_required()
def appointment_create(request):
    form_kwargs = {"organization": request.organization, "can_override": _can_override(request)}
    if request.method == "POST":
        form = AppointmentBookForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                appointment = appointment_book(
                    organization=request.organization, patient=form.cleaned_data["patient"],
                    provider=form.cleaned_data["provider"], appointment_type=form.cleaned_data["appointment_type"],
                    start=form.start(), notes=form.cleaned_data["notes"], booked_by=request.user,
                    source=EventSource.UI, override=form.cleaned_data.get("override", False),
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Appointment booked."))
                return redirect("appointment-detail", appointment.pk)
    else:
        form = AppointmentBookForm(initial=_initial_booking(request), **form_kwargs)
    status = 400 if form.is_bound else 200
    return render(request, "appointments/appointment_form.html",
                  {"form": form, "patient": _initial_patient(request, form)}, status=status)


@role_required()
def appointment_slots(request):
    """Free times for the booking form, from the same availability the API serves."""
    organization = request.organization
    form = SlotQueryForm(request.GET, organization=organization)
    slots = []
    if form.is_valid():
        day = form.cleaned_data["date"]
        slots = availability_list(organization=organization, appointment_type=form.cleaned_data["appointment_type"],
                                  provider=form.cleaned_data["provider"], date_from=day, date_to=day)
    return render(request, "appointments/_slot_options.html", {"slots": slots, "form": form})


@role_required()
def appointment_patient_search(request):
    query = request.GET.get("q", "").strip()
    patients = patient_search(organization=request.organization, query=query) if len(query) >= 2 else []
    return render(request, "appointments/_patient_results.html", {"patients": patients, "query": query})


@role_required()
def appointment_detail(request, pk):
    appointment = get_scoped_or_404(Appointment.objects.select_related("patient", "provider", "appointment_type"),
                                    request.organization, pk=pk)
    can_override = _can_override(request)
    local_start = appointment.start.astimezone(request.organization.zone)
    return render(request, "appointments/appointment_detail.html", {
        "appointment": appointment,
        "events": appointment_event_list(appointment=appointment),
        "next_statuses": _moves(request, appointment),
        "move_form": AppointmentMoveForm(
            organization=request.organization, can_override=can_override,
            initial={"provider": appointment.provider, "date": local_start.date(), "time": local_start.time()},
        ),
        "cancel_form": AppointmentCancelForm(),
        "confirmation_form": ConfirmationForm(initial={"confirmation": appointment.confirmation}),
    })


def _back(request, appointment):
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("appointment-detail", appointment.pk)


@role_required()
@require_POST
def appointment_status(request, pk):
    """One click of the front desk. htmx gets the re-rendered row or panel, with the error if refused."""
    appointment = get_scoped_or_404(Appointment, request.organization, pk=pk)
    error = None
    try:
        appointment = appointment_status_change(appointment=appointment, to_status=request.POST.get("status", ""),
                                                actor=request.user, source=EventSource.UI)
    except ApplicationError as exc:
        error = exc.message
    if request.htmx:
        template = "appointments/_today_row.html" if request.POST.get("context") == "row" else \
            "appointments/_status_panel.html"
        return render(request, template, {"appointment": appointment, "error": error,
                                          "next_statuses": _moves(request, appointment),
                                          "early_arrival": _early_arrival(request)})
    if error:
        messages.error(request, error)
    return _back(request, appointment)


@role_required()
@require_POST
def appointment_confirmation(request, pk):
    appointment = get_scoped_or_404(Appointment, request.organization, pk=pk)
    form = ConfirmationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid confirmation state."))
        return _back(request, appointment)
    try:
        appointment_confirmation_set(appointment=appointment, confirmation=form.cleaned_data["confirmation"],
                                     actor=request.user, source=EventSource.UI)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Confirmation updated."))
    return _back(request, appointment)


@role_required()
@require_POST
def appointment_cancel_view(request, pk):
    appointment = get_scoped_or_404(Appointment, request.organization, pk=pk)
    form = AppointmentCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the cancellation form."))
        return _back(request, appointment)
    try:
        appointment_cancel(appointment=appointment, actor=request.user, reason=form.cleaned_data["reason"],
                           by_patient=form.cleaned_data["cancelled_by"] == CancelledBy.PATIENT, source=EventSource.UI)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Appointment cancelled."))
    return _back(request, appointment)


@role_required()
@require_POST
def appointment_move_view(request, pk):
    appointment = get_scoped_or_404(Appointment, request.organization, pk=pk)
    form = AppointmentMoveForm(request.POST, organization=request.organization, can_override=_can_override(request))
    if form.is_valid():
        try:
            appointment_move(appointment=appointment, start=form.start(), provider=form.cleaned_data["provider"],
                             actor=request.user, source=EventSource.UI,
                             override=form.cleaned_data.get("override", False))
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Appointment moved."))
            return redirect("appointment-detail", appointment.pk)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("appointment-detail", appointment.pk)


@role_required()
def patient_appointments(request, patient_pk):
    """The fragment the patient page loads with htmx: that patient's appointments, newest first."""
    from apps.patients.models import Patient

    patient = get_scoped_or_404(Patient, request.organization, pk=patient_pk)
    appointments = appointment_list_for_patient(organization=request.organization, patient=patient)[:50]
    return render(request, "appointments/_patient_appointments.html",
                  {"patient": patient, "appointments": appointments})


def provider_feed(request, token):
    """iCalendar feed for staff phones; the unguessable token in the URL is the only credential."""
    provider = Provider.objects.select_related("organization").filter(feed_token=token, is_active=True).first()
    if provider is None or not provider.organization.is_active:
        return HttpResponse(status=404)
    body = ical.provider_feed(provider=provider, base_url=request.build_absolute_uri(reverse("home")))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="agenda.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
