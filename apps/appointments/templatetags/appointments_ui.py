import datetime as dt
from functools import lru_cache
from types import SimpleNamespace

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from apps.appointments.models import AppointmentStatus, ConfirmationStatus
from apps.appointments.transitions import FRONT_DESK_STATUSES, moves_now

register = template.Library()

STATUS_CSS = {
    AppointmentStatus.SCHEDULED: "bg-secondary",
    AppointmentStatus.ARRIVED: "bg-info text-dark",
    AppointmentStatus.IN_PROGRESS: "bg-primary",
    AppointmentStatus.COMPLETED: "bg-success",
    AppointmentStatus.NO_SHOW: "bg-warning text-dark",
    AppointmentStatus.CANCELLED: "bg-dark",
}
CONFIRMATION_CSS = {
    ConfirmationStatus.UNCONFIRMED: "text-bg-light border",
    ConfirmationStatus.REQUESTED: "bg-info text-dark",
    ConfirmationStatus.CONFIRMED: "bg-success",
    ConfirmationStatus.DECLINED: "bg-danger",
    ConfirmationStatus.CALLBACK_REQUESTED: "bg-warning text-dark",
    ConfirmationStatus.NO_RESPONSE: "bg-secondary",
}


# Labels through the enums: a model's get_FOO_display() rebuilds its choices dict on every call,
# which a week calendar of ten providers does a thousand times.
@register.simple_tag
def status_badge(appointment):
    return format_html('<span class="badge {}" data-role="status-badge">{}</span>',
                       STATUS_CSS.get(appointment.status, "bg-secondary"), status_label(appointment.status))


@register.simple_tag
def confirmation_badge(appointment):
    return format_html('<span class="badge {}" data-role="confirmation-badge">{}</span>',
                       CONFIRMATION_CSS.get(appointment.confirmation, "bg-secondary"),
                       confirmation_label(appointment.confirmation))


# value -> label (lazy, translated when shown): the enums' `values` and `choices` build a new list on every
# call, once per chip.
STATUS_LABELS = dict(AppointmentStatus.choices)
CONFIRMATION_LABELS = dict(ConfirmationStatus.choices)


@register.filter
def status_label(value):
    return STATUS_LABELS.get(value, value)


@register.simple_tag(takes_context=True)
def front_desk_moves(context, appointment):
    """The one-click moves of the today list that the transition table and the clock allow now.

    `early_arrival` (a timedelta) comes from the view; without it no early arrival is offered.
    """
    return moves_now(appointment, statuses=FRONT_DESK_STATUSES, now=timezone.now(),
                     early_arrival=context.get("early_arrival") or dt.timedelta(0))


@register.filter
def confirmation_label(value):
    return CONFIRMATION_LABELS.get(value, value)


@register.filter
def local_time(value):
    """An ISO instant from the history, in the active (the clinic's) time zone."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


# The calendar's cells and chips are simple tags rather than includes and nested template tags: a
# week holds a few hundred of each, and the template engine spent most of the page on them.
def _hm(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _book_url(cell, create_url=None) -> str:
    """`create_url`: reverse("appointment-create"), once for a whole grid or agenda rather than per free cell."""
    start = timezone.localtime(cell.start).strftime("%Y-%m-%dT%H:%M")
    create_url = create_url or reverse("appointment-create")
    if cell.free_provider:
        return format_html("{}?start={}&provider={}", create_url, start, cell.free_provider.pk)
    return format_html("{}?start={}", create_url, start)


class _ChipParts:
    """An appointment's escaped pieces, built once for both of its chips (the grid's and the agenda's)."""

    __slots__ = ("url", "css", "color", "pk", "status", "confirmation", "patient", "kind", "provider", "start",
                 "end", "badges")

    def __init__(self, appointment):
        self.url = escape(reverse("appointment-detail", args=[appointment.pk]))
        self.css = "" if appointment.is_live else " appt-released"
        self.color = escape(appointment.provider.color)
        self.pk = appointment.pk
        self.status, self.confirmation = escape(appointment.status), escape(appointment.confirmation)
        self.patient = escape(appointment.patient.full_name)
        self.kind = escape(appointment.appointment_type.name)
        self.provider = escape(appointment.provider.display_name)
        self.start, self.end = _hm(appointment.start), _hm(appointment.end)
        self.badges = _chip_badges(appointment.status, appointment.confirmation, get_language())


# A week holds a hundred chips but a few dozen (status, confirmation) pairs: their badges, in the active
# language, are built once per process.
@lru_cache(maxsize=512)
def _chip_badges(status: str, confirmation: str, language: str | None) -> str:
    badges = SimpleNamespace(status=status, confirmation=confirmation)
    return f"{status_badge(badges)} {confirmation_badge(badges)}"


def _chip_parts(appointment) -> _ChipParts:
    parts = appointment.__dict__.get("_chip_parts")
    if parts is None:
        parts = appointment.__dict__["_chip_parts"] = _ChipParts(appointment)
    return parts


@register.simple_tag
def calendar_chip(appointment, show_provider=False):
    c = _chip_parts(appointment)
    provider = f" · {c.provider}" if show_provider else ""
    return mark_safe(  # noqa: S308 - every part is escaped in _ChipParts
        f'<a href="{c.url}" class="appt-chip{c.css}" style="border-left-color: {c.color}"'
        f' data-appointment-id="{c.pk}" data-status="{c.status}" data-confirmation="{c.confirmation}"'
        f' title="{c.patient} · {c.kind} · {c.provider}">'
        f'<strong>{c.start}–{c.end}</strong> {c.patient} <span class="small text-muted">· {c.kind}{provider}</span>'
        f'<br>{c.badges}</a>')


def _calendar_cell(cell, show_provider: bool, book_title: str, create_url: str) -> str:
    chips = "".join(calendar_chip(a, show_provider) for a in cell.appointments)
    book = ""
    if cell.free and not cell.appointments:
        label = escape(_("Book at %(time)s") % {"time": _hm(cell.start)})
        book = (f'<a class="cal-free" href="{_book_url(cell, create_url)}" title="{book_title}" aria-label="{label}"'
                " data-free-slot></a>")
    css = "" if cell.free or cell.appointments else "cal-closed"
    return f'<td class="{css}" data-slot="{timezone.localtime(cell.start).isoformat()}">{chips}{book}</td>'


@register.simple_tag
def calendar_rows(grid, show_provider=False):
    """The grid's rows, a time each: one tag for the whole body (a tag per cell cost more than the cells)."""
    book_title = escape(_("Book at this time"))
    create_url = reverse("appointment-create")
    return mark_safe("".join(  # noqa: S308 - every value is escaped above or built by format_html
        f'<tr><th scope="row" class="cal-time">{time.strftime("%H:%M")}</th>'
        + "".join(_calendar_cell(cell, show_provider, book_title, create_url) for cell in cells) + "</tr>"
        for time, cells in grid.rows))


@register.simple_tag
def agenda_chip(appointment):
    c = _chip_parts(appointment)
    return mark_safe(  # noqa: S308 - every part is escaped in _ChipParts
        f'<a href="{c.url}" class="appt-chip{c.css}" style="border-left-color: {c.color}"'
        f' data-agenda-appointment-id="{c.pk}"><strong>{c.patient}</strong>'
        f' <span class="small text-muted">{c.start}–{c.end} · {c.provider}</span><br>{c.badges}</a>')


@register.simple_tag
def agenda_free_link(entry, provider=None, create_url=None):
    cell = entry.free
    who = format_html(" · {}", cell.free_provider.display_name) if cell.free_provider and not provider else ""
    return format_html('<a class="btn btn-sm btn-outline-success" href="{}" data-agenda-free-slot="{}">'
                       '<i class="bi bi-plus-lg"></i> {}{}</a>', _book_url(cell, create_url),
                       timezone.localtime(cell.start).isoformat(),
                       _("Book at %(time)s") % {"time": entry.time.strftime("%H:%M")}, who)


@register.simple_tag
def agenda_entries(section, provider=None):
    """A day of the agenda, a list item per time: one tag for the day, as calendar_rows is for the grid (the
    template's loop, its conditions and filters cost more than the chips). The markup is the loop's, spaces and
    line breaks included."""
    if not section.entries:
        empty = escape(_("Nothing booked and no free time this day."))
        return mark_safe(f'<li class="list-group-item text-muted">{empty}</li>\n      ')  # noqa: S308 - escaped
    create_url = reverse("appointment-create")
    return mark_safe("".join(  # noqa: S308 - every part is escaped by the chip tags or format_html
        '\n      <li class="list-group-item d-flex gap-2 align-items-start px-2">'
        f'\n        <span class="text-muted small pt-1 agenda-time">{entry.time.strftime("%H:%M")}</span>'
        '\n        <div class="flex-grow-1 min-w-0">'
        f'\n          {"".join(agenda_chip(appointment) for appointment in entry.appointments)}'
        f'\n          {agenda_free_link(entry, provider, create_url) if entry.free else ""}'
        '\n        </div>\n      </li>\n      '
        for entry in section.entries))
