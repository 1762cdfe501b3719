"""The clinic's WhatsApp session: link, poll, unlink, and the state the bridge reports."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.whatsapp.client import BridgeClient, BridgeError
from apps.whatsapp.models import QR_ENGINES, Engine, SessionStatus, WhatsAppSession
from apps.whatsapp.signals import session_linked, session_needs_relink

# Reasons after which only a new QR scan brings the session back.
RELINK_STATUSES = {SessionStatus.LOGGED_OUT, SessionStatus.FAILED}


def session_get(*, organization) -> WhatsAppSession:
    session, _created = WhatsAppSession.objects.get_or_create(organization=organization)
    return session


def session_status_apply(*, organization, status: str, reason: str | None = None, phone_number: str | None = None,
                         engine: str | None = None, at: dt.datetime | None = None,
                         cloud: dict | None = None) -> WhatsAppSession:
    """Record what the bridge says. A session that now needs a new scan sends `session_needs_relink` once;
    a connected one sends `session_linked` (both inside the transaction, see apps.whatsapp.signals)."""
    if status not in SessionStatus.values:
        return session_get(organization=organization)
    with transaction.atomic():
        session_get(organization=organization)
        session = WhatsAppSession.objects.select_for_update().get(organization=organization)
        previous = (session.status, session.reason)
        session.status, session.reason = status, (reason or "")[:100]
        if phone_number:
            session.phone_number = phone_number[:20]
        if engine in Engine.values:
            session.engine = engine
        for field in ("quality_rating", "messaging_limit_tier", "verified_name", "webhook_url"):
            if cloud and cloud.get(field) is not None:
                setattr(session, field, str(cloud[field])[:session._meta.get_field(field).max_length])
        if previous != (session.status, session.reason):
            session.status_changed_at = at or timezone.now()
        session.save()
        if status in RELINK_STATUSES and previous[0] not in RELINK_STATUSES:
            session_needs_relink.send(sender=WhatsAppSession, organization=organization, session=session)
        if status == SessionStatus.CONNECTED:
            session_linked.send(sender=WhatsAppSession, organization=organization, session=session)
    return session


def _apply_bridge_answer(organization, answer: dict | None) -> WhatsAppSession:
    if not answer:
        return session_get(organization=organization)
    return session_status_apply(organization=organization, status=answer.get("status", ""),
                                reason=answer.get("reason"), phone_number=answer.get("phone_number"),
                                engine=answer.get("engine"), cloud=answer)


def _bridge_error(exc: BridgeError) -> ApplicationError:
    return ApplicationError(_("The WhatsApp service could not do it: %(error)s") % {"error": exc.message},
                            field=exc.field or "engine", code="bridge_error")


def session_link_start(*, organization, engine: str) -> WhatsAppSession:
    if engine not in Engine.values:
        raise ApplicationError(_("Choose a valid engine."), field="engine")
    if engine == Engine.CLOUD:
        raise ApplicationError(_("The Cloud API is connected with its credentials, not with a QR code."),
                               field="engine")
    try:
        answer = BridgeClient().start_session(organization.pk, engine, organization.default_phone_region)
    except BridgeError as exc:
        raise _bridge_error(exc) from exc
    return _apply_bridge_answer(organization, answer)


CLOUD_FIELDS = ("phone_number_id", "waba_id", "access_token", "app_secret", "verify_token")


def session_cloud_connect(*, organization, phone_number_id: str, waba_id: str, access_token: str, app_secret: str,
                          verify_token: str) -> WhatsAppSession:
    """Connect the clinic to the WhatsApp Business Cloud API.

    The credentials go to the bridge, which checks them with Meta and keeps them encrypted;
    Django stores none of them. A refusal names the field Meta (or the bridge) objected to.
    """
    try:
        answer = BridgeClient().cloud_credentials(
            organization.pk, phone_number_id=phone_number_id, waba_id=waba_id, access_token=access_token,
            app_secret=app_secret, verify_token=verify_token, default_region=organization.default_phone_region,
        )
    except BridgeError as exc:
        field = exc.field if exc.field in CLOUD_FIELDS else "phone_number_id"
        raise ApplicationError(_("The WhatsApp service could not do it: %(error)s") % {"error": exc.message},
                               field=field, code="bridge_error") from exc
    return _apply_bridge_answer(organization, answer)


def capabilities_of(session: WhatsAppSession, answer: dict | None = None) -> dict:
    """What the page may offer: the engine's own declaration from the bridge, or what its kind implies."""
    declared = (answer or {}).get("capabilities")
    if declared and (answer or {}).get("engine") == session.engine:
        return declared
    qr = session.engine in QR_ENGINES
    return {"qr": qr, "pairing_code": qr, "credentials": not qr}


def session_refresh(*, organization) -> tuple[WhatsAppSession, dict | None, dict]:
    """Ask the bridge now (the page polls this): the session, the pending QR if any, and its capabilities.

    Raises BridgeUnavailable when the bridge cannot be reached.
    """
    client = BridgeClient(retries=0)
    answer = client.status(organization.pk)
    session = _apply_bridge_answer(organization, answer)
    qr = client.qr(organization.pk) if answer and answer.get("has_qr") else None
    return session, qr, capabilities_of(session, answer)


def session_unlink(*, organization) -> WhatsAppSession:
    try:
        answer = BridgeClient().logout(organization.pk)
    except BridgeError as exc:
        raise _bridge_error(exc) from exc
    if answer is None:
        return session_status_apply(organization=organization, status=SessionStatus.DISCONNECTED)
    return _apply_bridge_answer(organization, answer)


def session_pairing_code(*, organization, phone: str) -> str:
    from apps.patients.phones import phone_parse

    e164 = phone_parse(phone, region=organization.default_phone_region)
    if not e164:
        raise ApplicationError(_("Enter a valid phone number."), field="phone")
    client = BridgeClient()
    try:
        client.start_session(organization.pk, session_get(organization=organization).engine,
                             organization.default_phone_region)
        return client.pairing_code(organization.pk, e164)
    except BridgeError as exc:
        raise ApplicationError(exc.message, field="phone", code="bridge_error") from exc
