"""The day and week calendars as a grid of local-time rows, built from one read of the period."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from apps.appointments.models import Appointment, Provider, TimeOff, WorkingHours
from apps.appointments.rules import blocks_for_day, local_day_bounds
from apps.appointments.selectors import appointment_list_for_days, scheduling_settings_get

DEFAULT_OPENING, DEFAULT_CLOSING = dt.time(8), dt.time(18)
# What the grid and its chips read: a week holds hundreds of appointments, and building every field of
# them and of their patients, providers and types was most of the time of building the grid.
CHIP_FIELDS = ("start", "end", "status", "confirmation", "provider_id", "patient_id", "appointment_type_id",
               "patient__first_name", "patient__last_name", "provider__display_name", "provider__color",
               "appointment_type__name")


@dataclass
class Cell:
    start: dt.datetime  # aware, in the clinic's zone
    appointments: list[Appointment] = field(default_factory=list)
    # The provider a click on this free cell books with (None: chosen in the form).
    free_provider: Provider | None = None
    free: bool = False


@dataclass
class Column:
    day: dt.date
    provider: Provider | None
    cells: list[Cell]


@dataclass
class AgendaEntry:
    time: dt.time
    appointments: list[Appointment]
    free: Cell | None  # the first free cell at this time, whose link books it


@dataclass
class AgendaDay:
    day: dt.date
    entries: list[AgendaEntry]


@dataclass
class CalendarGrid:
    view: str
    first_day: dt.date
    days: int
    times: list[dt.time]
    columns: list[Column]
    appointments: list[Appointment]

    @property
    def rows(self):
        return [(time, [column.cells[index] for column in self.columns]) for index, time in enumerate(self.times)]

    @property
    def agenda(self) -> list[AgendaDay]:
        """The same period as a list, for a phone: per day, the times that hold an appointment or a free slot."""
        days = {}
        for column in self.columns:
            days.setdefault(column.day, []).append(column)
        agenda = []
        for day, columns in days.items():
            entries = []
            for index, time in enumerate(self.times):
                cells = [column.cells[index] for column in columns]
                appointments = [a for cell in cells for a in cell.appointments]
                free = next((cell for cell in cells if cell.free and not cell.appointments), None)
                if appointments or free:
                    entries.append(AgendaEntry(time=time, appointments=appointments, free=free))
            agenda.append(AgendaDay(day=day, entries=entries))
        return agenda


def _row_range(hours, appointments, zone) -> tuple[dt.time, dt.time]:
    starts = [block.start_time for block in hours] + [a.start.astimezone(zone).time() for a in appointments]
    ends = [block.end_time for block in hours] + [a.end.astimezone(zone).time() for a in appointments]
    opening = min(starts, default=DEFAULT_OPENING)
    closing = max(ends, default=DEFAULT_CLOSING)
    if closing <= opening:  # an appointment running past midnight
        closing = dt.time(23, 59)
    return opening, closing


def calendar_build(*, organization, first_day: dt.date, view: str, provider: Provider | None,
                   providers: list[Provider], now: dt.datetime | None = None) -> CalendarGrid:
    zone = organization.zone
    now = now or timezone.now()
    days = 7 if view == "week" else 1
    step = dt.timedelta(minutes=scheduling_settings_get(organization=organization).slot_minutes)
    shown = [provider] if provider is not None else providers
    appointments = list(appointment_list_for_days(organization=organization, first_day=first_day, days=days,
                                                  provider=provider).only(*CHIP_FIELDS))
    hours = defaultdict(list)
    for block in WorkingHours.objects.filter(provider__in=shown):
        hours[block.provider_id].append(block)
    period_start = dt.datetime.combine(first_day, dt.time.min, tzinfo=zone)
    period_end = period_start + dt.timedelta(days=days + 1)
    busy = defaultdict(list)
    for appointment in appointments:
        if appointment.is_live:
            busy[appointment.provider_id].append((appointment.start, appointment.end))
    for off in TimeOff.objects.filter(provider__in=shown, start__lt=period_end, end__gt=period_start):
        busy[off.provider_id].append((off.start, off.end))

    opening, closing = _row_range([b for blocks in hours.values() for b in blocks], appointments, zone)
    times = []
    cursor = dt.datetime.combine(first_day, opening)
    while cursor.time() < closing and cursor.date() == first_day:
        times.append(cursor.time())
        cursor += step

    if view == "week":
        specs = [(first_day + dt.timedelta(days=offset), shown) for offset in range(days)]
    else:
        specs = [(first_day, [each]) for each in shown]
    columns = []
    for day, column_providers in specs:
        cells = [Cell(start=dt.datetime.combine(day, time, tzinfo=zone)) for time in times]
        day_start, day_end = local_day_bounds(day, zone)
        schedules = [(each, blocks_for_day(hours[each.pk], day, zone),
                      [(s, e) for s, e in busy[each.pk] if s < day_end and day_start < e])
                     for each in column_providers]
        for cell in cells:
            cell_end = cell.start + step
            if cell_end <= now:  # the past is not offered for booking
                continue
            for each, blocks, taken in schedules:
                in_hours = any(s <= cell.start and cell_end <= e for s, e in blocks)
                if in_hours and not any(s < cell_end and cell.start < e for s, e in taken):
                    cell.free = True
                    cell.free_provider = each if len(column_providers) == 1 or provider else None
                    break
        column_ids = {each.pk for each in column_providers}
        for appointment in appointments:
            local = appointment.start.astimezone(zone)
            if local.date() != day or appointment.provider_id not in column_ids:
                continue
            index = max(0, min(len(cells) - 1, int((local - cells[0].start) / step))) if cells else None
            if index is not None:
                cells[index].appointments.append(appointment)
        columns.append(Column(day=day, provider=column_providers[0] if len(column_providers) == 1 else None,
                              cells=cells))
    return CalendarGrid(view=view, first_day=first_day, days=days, times=times, columns=columns,
                        appointments=appointments)
