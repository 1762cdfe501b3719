"""Signed event batches from the bridge: verified, de-duplicated, each event applied on its own."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.common.exceptions import ApplicationError
from apps.organizations.models import Organization
from apps.whatsapp.models import ProcessedEvent
from apps.whatsapp.selectors import rejected_events

log = logging.getLogger(__name__)

EVENT_TYPES = {"session.status", "message.status", "message.inbound"}


class MalformedEvents(ValueError):
    pass


def signature_valid(*, body: bytes, header: str, secret: str) -> bool:
    if not secret or not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip(), expected)


def _parse_time(raw) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


MAX_EVENT_ID = ProcessedEvent._meta.get_field("event_id").max_length


@dataclass
class BatchResult:
    """What the receiver answers: the ids it took (applied now or already before) and those it refused."""

    applied: int = 0
    accepted: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"applied": self.applied, "accepted": self.accepted, "rejected": self.rejected}


def _event_problem(event) -> str:
    """Why an event cannot be applied at all, or ""."""
    if not isinstance(event, dict):
        return "not an object"
    for key, kind in (("id", str), ("type", str), ("organization_id", str), ("data", dict)):
        if not isinstance(event.get(key), kind) or (kind is str and not event[key]):
            return f"{key} is missing or not a {kind.__name__}"
    if len(event["id"]) > MAX_EVENT_ID:
        # Cutting it would make two different events one: it is refused instead.
        return f"id is longer than {MAX_EVENT_ID} characters"
    return ""


def _storable(value):
    """Text as PostgreSQL can keep it: no NUL characters, no lone surrogates (from JSON escapes)."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _organization_pk(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() else None


@dataclass
class _Pending:
    index: int
    event_id: str
    organization: Organization
    event: dict
    data: dict = field(default_factory=dict)
    at: dt.datetime | None = None


def events_process(*, events) -> BatchResult:
    """Apply a batch, each event on its own: one that cannot be applied is recorded as rejected
    (with its reason) and the others still apply. Raises MalformedEvents only when the body is not
    a list. A lost database connection is raised (the bridge posts the batch again).

    The batch is one transaction: its ids are claimed with one INSERT, and runs of the common
    events (plain inbound text, sent / delivered / read statuses) are applied set-based, in order,
    under a savepoint; a run that fails is applied again one event at a time, each under its own
    savepoint, so only the event that fails is rejected. Any other event is applied on its own.
    """
    if not isinstance(events, list):
        raise MalformedEvents("the body must be a JSON list of events")
    organizations = Organization.objects.in_bulk(
        {pk for e in events if isinstance(e, dict) and isinstance(e.get("organization_id"), str)
         and (pk := _organization_pk(e["organization_id"])) is not None})
    outcomes: dict[int, tuple[str, str | None]] = {}
    candidates: list[_Pending] = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        problem = _event_problem(event)
        event_id = event["id"] if not problem else str(event.get("id") if isinstance(event, dict) else index)
        if not problem and (organization := organizations.get(_organization_pk(event["organization_id"]))) is None:
            problem = f"unknown organization {event['organization_id']!r}"
        if problem:
            log.warning("event %s rejected: %s", event_id[:80], problem)
            outcomes[index] = (event_id[:200], problem)
            continue
        if event_id in seen:
            continue  # the same id twice in one batch is applied once
        seen.add(event_id)
        candidates.append(_Pending(index, event_id, organization, event))
    if candidates:
        with transaction.atomic():
            claimed = _claim(candidates)
            batch = _Batch()
            for item in candidates:
                if item.event_id not in claimed:
                    outcomes[item.index] = (item.event_id, None)  # already processed
                    continue
                item.data, item.at = _storable(item.event["data"]), _parse_time(item.event.get("timestamp"))
                if batch.takes(item):
                    batch.add(item)
                    continue
                batch.flush(outcomes)
                outcomes[item.index] = (item.event_id, _apply_one(item))
            batch.flush(outcomes)
    result = BatchResult()
    for index in sorted(outcomes):
        event_id, outcome = outcomes[index]
        if outcome is None:
            result.accepted.append(event_id)
        elif outcome == "applied":
            result.accepted.append(event_id)
            result.applied += 1
        else:
            result.rejected.append({"id": event_id, "reason": outcome})
    return result


_CLAIM_SQL = f"""
INSERT INTO {ProcessedEvent._meta.db_table} (event_id, organization_id, type, processed_at, rejected_reason)
SELECT v.event_id, v.organization_id, v.type, %s, ''
FROM unnest(%s::varchar[], %s::bigint[], %s::varchar[]) WITH ORDINALITY AS v(event_id, organization_id, type, n)
ORDER BY v.n
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""  # noqa: S608 - the table name is the model's own


def _claim(items: list[_Pending]) -> set[str]:
    """The ids of `items` not processed before, claimed with one INSERT in this transaction.

    A concurrent delivery of the same id waits on the unique index until this batch commits (then
    it is skipped) or rolls back (then it applies). Rows go in id order, so two batches sharing ids
    lock them in the same order.
    """
    ordered = sorted(items, key=lambda i: i.event_id)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [timezone.now(), [i.event_id for i in ordered], [i.organization.pk for i in ordered],
                                    [i.event["type"][:40] for i in ordered]])
        return {row[0] for row in cursor.fetchall()}


class _Batch:
    """A run of events applied set-based: plain inbound messages and sent / delivered / read statuses."""

    def __init__(self):
        self.items: list[_Pending] = []
        self._cache: dict = {}  # what the batch handlers read once per batch (say, a clinic's keywords)

    def takes(self, item: _Pending) -> bool:
        handler = _batch_handlers.get(item.event["type"])
        return handler is not None and handler.accepts(organization=item.organization, data=item.data,
                                                       cache=self._cache)

    def add(self, item: _Pending) -> None:
        self.items.append(item)

    def flush(self, outcomes: dict) -> None:
        items, self.items = self.items, []
        if not items:
            return
        try:
            with transaction.atomic():
                self._apply(items)
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001 - the run is applied again one by one, which isolates the failure
            log.warning("a run of %s events failed together: applied one by one", len(items), exc_info=True)
            for item in items:
                outcomes[item.index] = (item.event_id, _apply_one(item))
            return
        for item in items:
            outcomes[item.index] = (item.event_id, "applied")

    @staticmethod
    def _apply(items: list[_Pending]) -> None:
        # Per clinic, each event type's run in its order. The set-based types (statuses of our sends,
        # new plain inbound messages) touch disjoint rows, so one type's run may go before the other's.
        runs: dict[tuple[int, str], tuple[Organization, list]] = {}
        for item in items:
            runs.setdefault((item.organization.pk, item.event["type"]), (item.organization, []))[1].append(
                {"data": item.data, "at": item.at})
        for (_organization_id, type_), (organization, run) in runs.items():
            _batch_handlers[type_].apply_many(organization=organization, items=run)


def _apply_one(item: _Pending) -> str:
    """'applied' or a rejection reason, for one claimed event under its own savepoint."""
    try:
        with transaction.atomic():
            _apply(item.organization, item.event["type"], item.data, item.at)
    except ApplicationError as exc:
        # A business rule refused it (say, a reply for an appointment already completed): the
        # event is settled; retrying it would only be refused again.
        log.info("event %s not applied: %s", item.event_id, exc.message)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # noqa: BLE001 - one bad event must not hold back the batch
        log.exception("event %s rejected: unexpected error", item.event_id)
        reason = f"{type(exc).__name__}: {exc}"[:500]
        ProcessedEvent.objects.filter(event_id=item.event_id).update(rejected_reason=reason,
                                                                     payload=_storable(item.event))
        return reason
    return "applied"


EventHandler = Callable[..., None]

# Event type -> the function that applies it, called as handler(organization=, data=, at=). The apps that
# act on messages register theirs (notifications' AppConfig.ready); this app never imports them.
_handlers: dict[str, EventHandler] = {}


def event_handler_register(*, event_type: str, handler: EventHandler) -> None:
    """Have `handler` apply every event of `event_type`, inside the event's transaction.

    It may raise ApplicationError to settle the event unapplied; any other error rejects it (dead letter),
    and a lost database connection is raised so that the bridge posts the batch again.
    """
    if event_type not in EVENT_TYPES or event_type == "session.status":
        raise ValueError(f"{event_type!r} is not an event type another app may handle")
    _handlers[event_type] = handler


@dataclass(frozen=True)
class BatchHandler:
    """Applies a run of events of one type and one clinic at once (set-based), for the events it accepts.

    `accepts(organization=, data=, cache=)` says whether an event may join a run (`cache` lives as long
    as the batch); `apply_many(organization=, items=[{"data", "at"}, ...])` applies a run in its order,
    inside the batch's transaction. A run that raises is applied again one event at a time through the
    ordinary handler, so the outcome of every event is the one it would have had alone.
    """

    accepts: Callable[..., bool]
    apply_many: Callable[..., None]


_batch_handlers: dict[str, BatchHandler] = {}


def event_batch_handler_register(*, event_type: str, handler: BatchHandler) -> None:
    if event_type not in _handlers:
        raise ValueError(f"{event_type!r} needs its one-event handler first (the fallback of a failed run)")
    _batch_handlers[event_type] = handler


def _apply(organization, type_: str, data: dict, at: dt.datetime) -> None:
    from apps.whatsapp.services import session_status_apply

    if type_ == "session.status":
        session_status_apply(organization=organization, status=str(data.get("status") or ""),
                             reason=data.get("reason"), phone_number=data.get("phone_number"), at=at)
    elif (handler := _handlers.get(type_)) is not None:
        handler(organization=organization, data=data, at=at)
    else:
        log.info("event type %s ignored", type_)


def events_replay_rejected(*, organization_id: int | None = None) -> dict:
    """Apply again, oldest first, the events that failed unexpectedly (once the fault is fixed).

    Each replay takes the event's place in the ledger of processed ids: applied, it is an ordinary
    processed event; refused again, it is recorded again with the new reason and stays replayable.
    """
    rejected = rejected_events(organization_id=organization_id).filter(payload__isnull=False)
    figures = {"applied": 0, "rejected": 0}
    for row in rejected.iterator():
        with transaction.atomic():
            ProcessedEvent.objects.filter(pk=row.pk).delete()
            result = events_process(events=[row.payload])
        figures["rejected" if result.rejected else "applied"] += 1
    return figures
