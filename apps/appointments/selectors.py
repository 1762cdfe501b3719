import datetime as dt

from django.db.models import Q, QuerySet

from apps.appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Provider,
    SchedulingSettings,
)
from apps.appointments.rules import local_day_bounds
from apps.organizations.scoping import scoped


def scheduling_settings_get(*, organization) -> SchedulingSettings:
    """The clinic's settings, or unsaved defaults when it never changed them."""
    return SchedulingSettings.objects.filter(organization=organization).first() or SchedulingSettings(
        organization=organization
    )


def provider_list(*, organization, active_only: bool = True) -> QuerySet[Provider]:
    providers = scoped(Provider, organization)
    return providers.filter(is_active=True) if active_only else providers


def appointment_type_list(*, organization, active_only: bool = True) -> QuerySet[AppointmentType]:
    types = scoped(AppointmentType, organization)
    return types.filter(is_active=True) if active_only else types


def appointment_list(*, organization, start: dt.datetime | None = None, end: dt.datetime | None = None,
                     provider=None, status: str | list[str] | None = None, patient=None) -> QuerySet[Appointment]:
    """Appointments overlapping [start, end), optionally of one provider, status(es) or patient."""
    appointments = scoped(Appointment, organization).select_related("patient", "provider", "appointment_type")
    if start is not None:
        appointments = appointments.filter(end__gt=start)
    if end is not None:
        appointments = appointments.filter(start__lt=end)
    if provider is not None:
        appointments = appointments.filter(provider=provider)
    if status:
        appointments = appointments.filter(status__in=[status] if isinstance(status, str) else status)
    if patient is not None:
        appointments = appointments.filter(patient=patient)
    return appointments.order_by("start", "provider__display_name")


def appointment_list_for_days(*, organization, first_day: dt.date, days: int = 1,
                              provider=None) -> QuerySet[Appointment]:
    """Appointments of whole local days of the organization."""
    start, _ = local_day_bounds(first_day, organization.zone)
    _, end = local_day_bounds(first_day + dt.timedelta(days=days - 1), organization.zone)
    return appointment_list(organization=organization, start=start, end=end, provider=provider)


def appointment_list_for_patient(*, organization, patient) -> QuerySet[Appointment]:
    return appointment_list(organization=organization, patient=patient).order_by("-start")


def appointment_event_list(*, appointment: Appointment) -> QuerySet[AppointmentEvent]:
    return appointment.events.select_related("actor").order_by("created_at", "id")


def patient_search(*, organization, query: str, limit: int = 10):
    """Patients matching `query`, through the patients app's search when it offers one."""
    try:
        from apps.patients.selectors import patient_search as patients_app_search
    except ImportError:
        patients_app_search = None
    if patients_app_search is not None:
        return list(patients_app_search(organization=organization, query=query)[:limit])

    from apps.patients.models import Patient

    terms = query.split()
    patients = scoped(Patient, organization)
    for term in terms:
        patients = patients.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term)
            | Q(document_number__icontains=term) | Q(phone__icontains=term)
        )
    return list(patients.order_by("last_name", "first_name")[:limit]) if terms else []
