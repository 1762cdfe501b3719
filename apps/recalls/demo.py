"""Demo recalls for `manage.py seed_demo`: two patients whose last exam was a year ago. Idempotent."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentStatus, AppointmentType, EventSource, Provider
from apps.appointments.services import appointment_book, appointment_status_change
from apps.patients.models import Patient
from apps.recalls.services import recall_rules_get, recalls_generate

# The demo schedule books the first patients; these two only have last year's exam.
DEMO_DOCUMENTS = ["43987654", "1122334455"]


@transaction.atomic
def seed_demo_data(*, organization) -> None:
    recall_rules_get(organization=organization)
    patients = list(Patient.objects.filter(organization=organization, document_number__in=DEMO_DOCUMENTS))
    provider = Provider.objects.filter(organization=organization, is_active=True).order_by("pk").first()
    exam = AppointmentType.objects.filter(organization=organization, is_active=True).order_by("pk").first()
    if not patients or provider is None or exam is None:
        return
    if Appointment.objects.filter(patient__in=patients, status=AppointmentStatus.COMPLETED).exists():
        return
    last_year = timezone.now().astimezone(organization.zone).date() - dt.timedelta(days=370)
    for hour, patient in enumerate(patients, start=9):
        start = dt.datetime.combine(last_year, dt.time(hour), tzinfo=organization.zone)
        visit = appointment_book(organization=organization, patient=patient, provider=provider,
                                 appointment_type=exam, start=start, source=EventSource.SYSTEM, override=True)
        for status in (AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED):
            appointment_status_change(appointment=visit, to_status=status, source=EventSource.SYSTEM)
    recalls_generate(organization=organization)
