"""Schedule arithmetic in the organization's wall-clock time.

Working hours are stored as local times; they become absolute instants only for a given date,
through the organization's zone, so a 08:00 start stays 08:00 on both sides of a DST change.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from apps.appointments.models import Provider, TimeOff, WorkingHours


def local_day_bounds(day: dt.date, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants at which `day` begins and ends in `zone` (23 or 25 hours apart on DST days)."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def blocks_for_day(hours: Iterable[WorkingHours], day: dt.date,
                   zone: zoneinfo.ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    return [
        (dt.datetime.combine(day, block.start_time, tzinfo=zone), dt.datetime.combine(day, block.end_time, tzinfo=zone))
        for block in hours
        if block.weekday == day.weekday()
    ]


def fits_working_hours(*, provider: Provider, start: dt.datetime, end: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    day = start.astimezone(zone).date()
    hours = WorkingHours.objects.filter(provider=provider, weekday=day.weekday())
    return any(block_start <= start and end <= block_end for block_start, block_end in blocks_for_day(hours, day, zone))


def overlaps_time_off(*, provider: Provider, start: dt.datetime, end: dt.datetime) -> bool:
    return TimeOff.objects.filter(provider=provider, start__lt=end, end__gt=start).exists()
