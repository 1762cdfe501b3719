"""Signed event batches from the bridge: verified, de-duplicated, applied in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging

from django.db import transaction
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
    applied = 0
    for event in events:
        org_id = event["organization_id"]
        organization = Organization.objects.filter(pk=int(org_id)).first() if org_id.isdigit() else None
        if organization is None:
            log.warning("event %s for unknown organization %r ignored", event["id"], org_id)
            continue
        _record, created = ProcessedEvent.objects.get_or_create(
            event_id=event["id"][:64], defaults={"organization": organization, "type": event["type"][:40]})
        if not created:
            continue
        try:
            with transaction.atomic():
                _apply(organization, event["type"], event["data"], _parse_time(event.get("timestamp")))
        except ApplicationError as exc:
            # A business rule refused it (say, a reply for an appointment already completed): the
            # event is settled; retrying it would only be refused again.
            log.info("event %s not applied: %s", event["id"], exc.message)
        applied += 1
    return applied


def _apply(organization, type_: str, data: dict, at: dt.datetime) -> None:
    from apps.notifications.outbox import message_status_apply
    from apps.notifications.replies import inbound_receive
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
        inbound_receive(organization=organization, bridge_message_id=str(data.get("message_id") or ""),
                        phone=phone, text=str(data.get("text") or ""), button_id=str(data.get("button_id") or ""),
                        push_name=str(data.get("push_name") or ""), at=at)
    else:
        log.info("event type %s ignored", type_)
