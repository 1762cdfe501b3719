"""The one table of legal moves, for the clinical status and for the confirmation.

A move not listed here is refused by the services with an ApplicationError naming the field.
Setting the current value again is not a move: the services treat it as a no-op, so a repeated
click or a duplicated WhatsApp reply changes nothing.
"""

import datetime as dt

from apps.appointments.models import AppointmentStatus as S
from apps.appointments.models import ConfirmationStatus as C

STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.ARRIVED, S.IN_PROGRESS, S.NO_SHOW, S.CANCELLED}),
    # Back to scheduled undoes a mistaken "arrived" click; cancelled covers leaving before being seen.
    S.ARRIVED: frozenset({S.IN_PROGRESS, S.COMPLETED, S.SCHEDULED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.ARRIVED}),
    S.COMPLETED: frozenset(),
    # A patient marked no-show who turns up late is reinstated (if the slot is still free).
    S.NO_SHOW: frozenset({S.SCHEDULED, S.ARRIVED}),
    S.CANCELLED: frozenset(),
}

# The front desk's one-click moves, in the order their buttons appear.
FRONT_DESK_STATUSES = (S.ARRIVED, S.IN_PROGRESS, S.COMPLETED, S.NO_SHOW)

CONFIRMATION_TRANSITIONS: dict[str, frozenset[str]] = {
    # Staff may record an answer given by phone or at the desk without a request being sent.
    C.UNCONFIRMED: frozenset({C.REQUESTED, C.CONFIRMED, C.DECLINED, C.CALLBACK_REQUESTED}),
    C.REQUESTED: frozenset({C.CONFIRMED, C.DECLINED, C.CALLBACK_REQUESTED, C.NO_RESPONSE}),
    C.NO_RESPONSE: frozenset({C.REQUESTED, C.CONFIRMED, C.DECLINED, C.CALLBACK_REQUESTED}),
    C.CALLBACK_REQUESTED: frozenset({C.REQUESTED, C.CONFIRMED, C.DECLINED}),
    C.CONFIRMED: frozenset({C.DECLINED, C.CALLBACK_REQUESTED}),
    C.DECLINED: frozenset({C.CONFIRMED, C.CALLBACK_REQUESTED}),
}

# Confirmation only means something while the visit is still ahead.
CONFIRMABLE_STATUSES = frozenset({S.SCHEDULED})


# Moves that describe the visit itself: none of them can be true before the appointment starts,
# except an arrival, which staff may record within the clinic's early-arrival window.
NOT_BEFORE_START = frozenset({S.ARRIVED, S.IN_PROGRESS, S.COMPLETED, S.NO_SHOW})


def earliest_move(to_status: str, *, start: dt.datetime, early_arrival: dt.timedelta) -> dt.datetime | None:
    """The first moment `to_status` may be recorded for an appointment starting at `start` (None: any time)."""
    if to_status not in NOT_BEFORE_START:
        return None
    return start - early_arrival if to_status == S.ARRIVED else start


def moves_now(appointment, *, statuses, now: dt.datetime, early_arrival: dt.timedelta) -> list[str]:
    """Of `statuses`, those the table allows from here and the clock allows now."""
    return [s for s in statuses if status_can_move(appointment.status, s)
            and (earliest_move(s, start=appointment.start, early_arrival=early_arrival) or now) <= now]


def status_can_move(from_status: str, to_status: str) -> bool:
    return to_status in STATUS_TRANSITIONS.get(from_status, frozenset())


def confirmation_can_move(from_value: str, to_value: str) -> bool:
    return to_value in CONFIRMATION_TRANSITIONS.get(from_value, frozenset())


def next_statuses(status: str) -> list[str]:
    return [s for s in S.values if status_can_move(status, s)]
