"""The one table of legal moves of an order's status.

A move not listed here is refused by the services with an ApplicationError naming `status`.
Setting the current status again is not a move: a repeated click changes nothing.
"""

from apps.orders.models import OrderStatus as S

STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SENT_TO_LAB, S.CANCELLED}),
    # Some labs never say they started: the order may come back straight from "sent".
    S.SENT_TO_LAB: frozenset({S.IN_LAB, S.RECEIVED, S.CANCELLED}),
    S.IN_LAB: frozenset({S.RECEIVED, S.CANCELLED}),
    # A job that fails the check on arrival goes back to the lab to be remade.
    S.RECEIVED: frozenset({S.READY, S.IN_LAB}),
    S.READY: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}

# The order's detail page offers these moves as buttons, in this order.
FORWARD_STATUSES = (S.SENT_TO_LAB, S.IN_LAB, S.RECEIVED, S.READY, S.DELIVERED)


def status_can_move(from_status: str, to_status: str) -> bool:
    return to_status in STATUS_TRANSITIONS.get(from_status, frozenset())


def next_statuses(status: str) -> list[str]:
    return [s for s in S.values if status_can_move(status, s)]
