"""Signed event batches from the bridge: verified, de-duplicated, each event applied on its own."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.common.exceptions import ApplicationError
from apps.organizations.models import Organization
from apps.whatsapp.models import ProcessedEvent

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
VALUES {{rows}}
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""  # noqa: S608 - the table name is the model's own


def _claim(items: list[_Pending]) -> set[str]:
    """The ids of `items` not processed before, claimed with one INSERT in this transaction.

    A concurrent delivery of the same id waits on the unique index until this batch commits (then
    it is skipped) or rolls back (then it applies). Rows go in id order, so two batches sharing ids
    lock them in the same order.
    """
    now = timezone.now()
    params: list = []
    for item in sorted(items, key=lambda i: i.event_id):
        params += [item.event_id, item.organization.pk, item.event["type"][:40], now]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(rows=", ".join(["(%s, %s, %s, %s, '')"] * len(items))), params)
        return {row[0] for row in cursor.fetchall()}


class _Batch:
    """A run of events applied set-based: plain inbound messages and sent / delivered / read statuses."""

    def __init__(self):
        self.items: list[_Pending] = []
        self._keywords: dict[int, dict] = {}

    def takes(self, item: _Pending) -> bool:
        from apps.notifications.outbox import BATCH_STATUSES
        from apps.notifications.replies import inbound_is_plain, inbound_reply_keywords

        type_, data = item.event["type"], item.data
        if type_ == "message.status":
            return data.get("status") in BATCH_STATUSES
        if type_ != "message.inbound":
            return False
        if data.get("reply_to") or isinstance(data.get("media"), dict) or isinstance(data.get("media_rejected"), dict):
            return False
        organization = item.organization
        if organization.pk not in self._keywords:
            self._keywords[organization.pk] = inbound_reply_keywords(organization=organization)
        return inbound_is_plain(text=str(data.get("text") or ""), button_id=str(data.get("button_id") or ""),
                                keywords=self._keywords[organization.pk])

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
        from apps.notifications.outbox import message_statuses_apply
        from apps.notifications.replies import inbound_receive_plain

        by_organization: dict[int, tuple[Organization, list, list]] = {}
        for item in items:
            organization, inbound, statuses = by_organization.setdefault(
                item.organization.pk, (item.organization, [], []))
            if item.event["type"] == "message.status":
                statuses.append({"data": item.data, "at": item.at})
            else:
                inbound.append({"bridge_message_id": str(item.data.get("message_id") or ""),
                                "phone": str(item.data.get("from") or ""), "text": str(item.data.get("text") or ""),
                                "push_name": str(item.data.get("push_name") or ""), "at": item.at})
        # Statuses touch outbound messages and plain inbound ones write only new rows: the two
        # kinds are independent, and each keeps its own order.
        for organization, inbound, statuses in by_organization.values():
            if statuses:
                message_statuses_apply(organization=organization, updates=statuses)
            if inbound:
                inbound_receive_plain(organization=organization, inbounds=inbound)


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
        ProcessedEvent.objects.filter(event_id=item.event_id).update(rejected_reason=reason)
        return reason
    return "applied"


def _apply(organization, type_: str, data: dict, at: dt.datetime) -> None:
    from apps.notifications.outbox import message_status_apply
    from apps.notifications.replies import inbound_receive
    from apps.notifications.services import inbound_media_record
    from apps.whatsapp.services import session_status_apply

    if type_ == "session.status":
        session_status_apply(organization=organization, status=str(data.get("status") or ""),
                             reason=data.get("reason"), phone_number=data.get("phone_number"), at=at)
    elif type_ == "message.status":
        message_status_apply(organization=organization, data=data, at=at)
    elif type_ == "message.inbound":
        phone = str(data.get("from") or "")
        if not phone:
            return
        reply_to = str(data.get("reply_to") or "")
        inbound = inbound_receive(organization=organization, bridge_message_id=str(data.get("message_id") or ""),
                                  phone=phone, text=str(data.get("text") or ""),
                                  button_id=str(data.get("button_id") or ""),
                                  push_name=str(data.get("push_name") or ""), reply_to=reply_to, at=at)
        media, rejected = data.get("media"), data.get("media_rejected")
        inbound_media_record(message=inbound, media=media if isinstance(media, dict) else None,
                             rejected=rejected if isinstance(rejected, dict) else None, reply_to=reply_to)
    else:
        log.info("event type %s ignored", type_)
