"""Signed event batches from the bridge: verified, de-duplicated, applied in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging

from django.db import connection, transaction
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


def _validate(events) -> None:
    if not isinstance(events, list):
        raise MalformedEvents("the body must be a JSON list of events")
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise MalformedEvents(f"event {index} is not an object")
        for key, kind in (("id", str), ("type", str), ("organization_id", str), ("data", dict)):
            if not isinstance(event.get(key), kind) or (kind is str and not event[key]):
                raise MalformedEvents(f"event {index}: {key} is missing or not a {kind.__name__}")


@transaction.atomic
def events_process(*, events) -> int:
    """Apply a batch; returns how many events were new. Raises MalformedEvents before touching anything."""
    _validate(events)
    org_ids = {int(e["organization_id"]) for e in events if e["organization_id"].isdigit()}
    organizations = Organization.objects.in_bulk(org_ids)
    known = []
    for event in events:
        if event["organization_id"].isdigit() and int(event["organization_id"]) in organizations:
            known.append(event)
        else:
            log.warning("event %s for unknown organization %r ignored", event["id"], event["organization_id"])
    fresh = _claim_new(known)
    applied = 0
    for event in known:
        if event["id"][:64] not in fresh:
            continue
        fresh.discard(event["id"][:64])  # the same id twice in one batch is applied once
        try:
            with transaction.atomic():
                _apply(organizations[int(event["organization_id"])], event["type"], event["data"],
                       _parse_time(event.get("timestamp")))
        except ApplicationError as exc:
            # A business rule refused it (say, a reply for an appointment already completed): the
            # event is settled; retrying it would only be refused again.
            log.info("event %s not applied: %s", event["id"], exc.message)
        applied += 1
    return applied


_CLAIM_SQL = f"""
INSERT INTO {ProcessedEvent._meta.db_table} (event_id, organization_id, type, processed_at)
SELECT * FROM unnest(%s::varchar[], %s::bigint[], %s::varchar[], %s::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""  # noqa: S608 - the table name is the model's own


def _claim_new(events: list[dict]) -> set[str]:
    """Record the batch's event ids in one statement; the ids it returns are the ones never seen.

    A concurrent delivery of the same id waits on the unique index until the other batch commits
    (then the id is not returned here) or rolls back (then it is), so an event is applied once.
    """
    if not events:
        return set()
    unique = {e["id"][:64]: e for e in events}
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [list(unique), [int(e["organization_id"]) for e in unique.values()],
                                    [e["type"][:40] for e in unique.values()], [now] * len(unique)])
        return {row[0] for row in cursor.fetchall()}


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
