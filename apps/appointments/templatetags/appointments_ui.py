import datetime as dt

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html

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


@register.filter
def status_label(value):
    return AppointmentStatus(value).label if value in AppointmentStatus.values else value


@register.simple_tag(takes_context=True)
def front_desk_moves(context, appointment):
    """The one-click moves of the today list that the transition table and the clock allow now.

    `early_arrival` (a timedelta) comes from the view; without it no early arrival is offered.
    """
    return moves_now(appointment, statuses=FRONT_DESK_STATUSES, now=timezone.now(),
                     early_arrival=context.get("early_arrival") or dt.timedelta(0))


@register.filter
def confirmation_label(value):
    return ConfirmationStatus(value).label if value in ConfirmationStatus.values else value


@register.filter
def local_time(value):
    """An ISO instant from the history, in the active (the clinic's) time zone."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
