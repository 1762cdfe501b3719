"""Free slots: where a visit of a given type fits in providers' working hours (a selector)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentType, Provider, TimeOff, WorkingHours
from apps.appointments.rules import blocks_for_day, local_day_bounds
from apps.appointments.selectors import provider_list, scheduling_settings_get

MAX_DAYS = 62


@dataclass(frozen=True)
class Slot:
    provider: Provider
    start: dt.datetime
    end: dt.datetime


def _busy_by_provider(providers, start, end) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    busy = defaultdict(list)
    live = Appointment.objects.filter(provider__in=providers, start__lt=end, end__gt=start).exclude(
        status__in=["cancelled", "no_show"]
    )
    for provider_id, busy_start, busy_end in live.values_list("provider_id", "start", "end"):
        busy[provider_id].append((busy_start, busy_end))
    off = TimeOff.objects.filter(provider__in=providers, start__lt=end, end__gt=start)
    for provider_id, off_start, off_end in off.values_list("provider_id", "start", "end"):
        busy[provider_id].append((off_start, off_end))
    return busy


def availability_list(*, organization, appointment_type: AppointmentType, date_from: dt.date, date_to: dt.date,
                      provider: Provider | None = None, step_minutes: int | None = None,
                      now: dt.datetime | None = None) -> list[Slot]:
    """Slots of the type's duration, every `step_minutes` (the clinic's calendar slot), from now on.

    `date_from`/`date_to` are local dates of the clinic, both included.
    """
    zone = organization.zone
    providers = [provider] if provider is not None else list(provider_list(organization=organization))
    step = dt.timedelta(minutes=step_minutes or scheduling_settings_get(organization=organization).slot_minutes)
    duration = dt.timedelta(minutes=appointment_type.duration_minutes)
    now = now or timezone.now()
    range_start, _ = local_day_bounds(date_from, zone)
    _, range_end = local_day_bounds(date_to, zone)

    hours = defaultdict(list)
    for block in WorkingHours.objects.filter(provider__in=providers):
        hours[block.provider_id].append(block)
    busy = _busy_by_provider(providers, range_start, range_end)

    slots = []
    day = date_from
    while day <= date_to:
        for each in providers:
            for block_start, block_end in blocks_for_day(hours[each.pk], day, zone):
                start = block_start
                while start + duration <= block_end:
                    end = start + duration
                    if start >= now and not any(b_start < end and start < b_end for b_start, b_end in busy[each.pk]):
                        slots.append(Slot(provider=each, start=start.astimezone(dt.UTC), end=end.astimezone(dt.UTC)))
                    start += step
        day += dt.timedelta(days=1)
    slots.sort(key=lambda slot: (slot.start, slot.provider.display_name))
    return slots
