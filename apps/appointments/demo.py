"""Demo schedule for `manage.py seed_demo`: running it again changes nothing."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentType, EventSource, Provider, WorkingHours
from apps.appointments.services import appointment_book

STANDARD_TYPES = [
    ("Examen visual", 30, "#0d6efd"),
    ("Adaptación de lentes de contacto", 45, "#6f42c1"),
    ("Entrega de gafas", 15, "#198754"),
    ("Control", 20, "#fd7e14"),
]
DEMO_PROVIDERS = [("optometra@opticaapp.local", "#0d6efd"), ("optometra2@opticaapp.local", "#d63384")]
OPENING, CLOSING = dt.time(8), dt.time(18)
# (day offset, local time, type index, provider index) of the demo visits.
DEMO_VISITS = [(0, "09:00", 0, 0), (0, "10:30", 2, 0), (0, "11:00", 1, 1), (0, "15:00", 3, 1),
               (1, "08:30", 0, 1), (1, "14:00", 1, 0)]


def standard_types_ensure(*, organization) -> list[AppointmentType]:
    return [
        AppointmentType.objects.get_or_create(
            organization=organization, name=name, defaults={"duration_minutes": minutes, "color": color}
        )[0]
        for name, minutes, color in STANDARD_TYPES
    ]


def standard_hours_ensure(*, provider: Provider) -> None:
    """Monday to Saturday, 08:00–18:00, unless the provider already has hours."""
    if not provider.working_hours.exists():
        WorkingHours.objects.bulk_create(
            WorkingHours(organization=provider.organization, provider=provider, weekday=day, start_time=OPENING,
                         end_time=CLOSING)
            for day in range(6)
        )


@transaction.atomic
def seed_demo_data(*, organization) -> None:
    types = standard_types_ensure(organization=organization)
    providers = []
    for email, color in DEMO_PROVIDERS:
        user = get_user_model().objects.filter(email=email).first()
        if user is None:
            continue
        provider, _created = Provider.objects.get_or_create(
            organization=organization, user=user, defaults={"display_name": user.full_name or email, "color": color}
        )
        standard_hours_ensure(provider=provider)
        providers.append(provider)
    if not providers or Appointment.objects.filter(organization=organization).exists():
        return

    from apps.patients.models import Patient

    patients = list(Patient.objects.filter(organization=organization).order_by("pk")[: len(DEMO_VISITS)])
    today = timezone.now().astimezone(organization.zone).date()
    for patient, (offset, at, type_index, provider_index) in zip(patients, DEMO_VISITS, strict=False):
        start = dt.datetime.combine(today + dt.timedelta(days=offset), dt.time.fromisoformat(at),
                                    tzinfo=organization.zone)
        # Through the service, so the visits have their history and reminders get planned; the
        # override lets a demo seeded in the afternoon (or on a Sunday) still show this morning.
        appointment_book(organization=organization, patient=patient,
                         provider=providers[provider_index % len(providers)], appointment_type=types[type_index],
                         start=start, source=EventSource.SYSTEM, override=True)
