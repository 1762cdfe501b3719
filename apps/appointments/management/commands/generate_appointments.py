"""A realistic year of appointments for an organization's patients, for the benchmarks.

Bulk inserts, no per-row service calls: half the period lies in the past (completed, no-shows,
cancellations), half ahead (scheduled, some confirmed). Slots already taken are skipped, so
running it twice adds only what still fits and the exclusion constraint is never tripped.
"""

import datetime as dt
import random
from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apps.appointments.demo import standard_hours_ensure, standard_types_ensure
from apps.appointments.models import Appointment, AppointmentStatus, ConfirmationStatus, Provider
from apps.organizations.models import Organization

PALETTE = ["#0d6efd", "#6f42c1", "#d63384", "#fd7e14", "#198754", "#20c997", "#0dcaf0", "#6610f2", "#dc3545",
           "#ffc107"]
PAST_OUTCOMES = [(AppointmentStatus.COMPLETED, 80), (AppointmentStatus.NO_SHOW, 8), (AppointmentStatus.CANCELLED, 12)]
FUTURE_CONFIRMATIONS = [(ConfirmationStatus.UNCONFIRMED, 50), (ConfirmationStatus.REQUESTED, 20),
                        (ConfirmationStatus.CONFIRMED, 25), (ConfirmationStatus.CALLBACK_REQUESTED, 5)]


def _pick(rng, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


class Command(BaseCommand):
    help = "Generate a realistic period of appointments for an organization's patients (benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="slug of the organization")
        parser.add_argument("--providers", type=int, default=10)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--occupancy", type=float, default=0.7, help="share of slots booked (0–1)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['organization']!r}.")
        from apps.patients.models import Patient

        patient_ids = list(Patient.objects.filter(organization=organization).values_list("pk", flat=True))
        if not patient_ids:
            raise CommandError("The organization has no patients; generate patients first.")
        rng = random.Random(options["seed"])
        types = standard_types_ensure(organization=organization)
        providers = self._providers(organization, options["providers"])

        today = timezone.now().astimezone(organization.zone).date()
        first_day = today - dt.timedelta(days=options["days"] // 2)
        last_day = first_day + dt.timedelta(days=options["days"] - 1)
        created = 0
        batch = []
        for provider in providers:
            taken = self._taken(provider, first_day, last_day, organization.zone)
            hours = list(provider.working_hours.all())
            day = first_day
            while day <= last_day:
                for block in (b for b in hours if b.weekday == day.weekday()):
                    batch.extend(self._day_rows(rng, organization, provider, types, patient_ids, day, block, taken,
                                                options["occupancy"], today))
                if len(batch) >= options["batch_size"]:
                    created += self._flush(batch, options["batch_size"])
                day += dt.timedelta(days=1)
        created += self._flush(batch, options["batch_size"])
        self.stdout.write(f"Created {created} appointments for {len(providers)} providers "
                          f"from {first_day} to {last_day}.")

    def _providers(self, organization, count):
        providers = list(Provider.objects.filter(organization=organization, is_active=True).order_by("pk")[:count])
        for index in range(len(providers), count):
            providers.append(Provider.objects.create(
                organization=organization, display_name=f"Profesional {index + 1}",
                color=PALETTE[index % len(PALETTE)],
            ))
        for provider in providers:
            standard_hours_ensure(provider=provider)
        return providers

    def _taken(self, provider, first_day, last_day, zone):
        """Live appointments already there, by local day, so a rerun only fills free time."""
        start = dt.datetime.combine(first_day, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        taken = defaultdict(list)
        rows = (Appointment.objects.filter(provider=provider, start__lt=end, end__gt=start)
                .exclude(status__in=["cancelled", "no_show"]).values_list("start", "end"))
        for busy_start, busy_end in rows:
            taken[busy_start.astimezone(zone).date()].append((busy_start, busy_end))
        return taken

    def _day_rows(self, rng, organization, provider, types, patient_ids, day, block, taken, occupancy, today):
        zone = organization.zone
        cursor = dt.datetime.combine(day, block.start_time, tzinfo=zone)
        block_end = dt.datetime.combine(day, block.end_time, tzinfo=zone)
        rows = []
        while True:
            appointment_type = rng.choice(types)
            end = cursor + dt.timedelta(minutes=appointment_type.duration_minutes)
            if end > block_end:
                return rows
            free = not any(s < end and cursor < e for s, e in taken.get(day, ()))
            if free and rng.random() < occupancy:
                rows.append(self._row(rng, organization, provider, appointment_type, patient_ids, cursor, end,
                                      day < today))
            # Visits start on the quarter hour, as a front desk books them.
            cursor = end if free else cursor + dt.timedelta(minutes=15)
            cursor += dt.timedelta(minutes=(-cursor.minute) % 15)

    def _row(self, rng, organization, provider, appointment_type, patient_ids, start, end, past):
        row = Appointment(organization=organization, provider=provider, appointment_type=appointment_type,
                          patient_id=rng.choice(patient_ids), start=start, end=end)
        if past:
            row.status = _pick(rng, PAST_OUTCOMES)
            row.confirmation = _pick(rng, [(ConfirmationStatus.CONFIRMED, 70), (ConfirmationStatus.NO_RESPONSE, 30)])
            if row.status == AppointmentStatus.CANCELLED:
                row.cancelled_by = rng.choice(["staff", "patient"])
                row.cancelled_at = start - dt.timedelta(hours=rng.randint(1, 72))
                row.cancelled_late = start - row.cancelled_at < dt.timedelta(hours=24)
        else:
            row.confirmation = _pick(rng, FUTURE_CONFIRMATIONS)
        return row

    def _flush(self, batch, batch_size):
        if not batch:
            return 0
        with transaction.atomic():
            Appointment.objects.bulk_create(batch, batch_size=batch_size)
        count = len(batch)
        batch.clear()
        return count
