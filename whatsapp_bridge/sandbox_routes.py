"""Routes of the sandbox engine: the QR's own link, the simulated phones, and their faults."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .engines.sandbox import SandboxEngine, SandboxError
from .errors import BODY, ApiError, error_responses
from .logs import current_org
from .media import from_body, media_response, public
from .phones import InvalidPhone, to_e164
from .sandbox_page import PAGE, confirmation_page
from .schemas import SandboxDisconnectBody, SandboxPairBody, SandboxReplyBody
from .sessions import iso_from_epoch

router = APIRouter(tags=["sandbox"])


def _engine(request: Request, organization_id: str) -> SandboxEngine:
    current_org.set(organization_id)
    session = request.app.state.manager.get(organization_id)
    if session is None or session.engine_name != "sandbox":
        raise ApiError(404, "unknown organization: no sandbox session was ever started for it", "organization_id")
    return session.engine


def _raise(exc: SandboxError):
    raise ApiError(exc.status, exc.message, exc.field)


@router.get("/sandbox/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/sandbox", response_class=HTMLResponse, include_in_schema=False)
async def phones_page():
    return HTMLResponse(PAGE)


@router.get(
    "/sandbox/scan/{token}",
    response_class=HTMLResponse,
    responses={**error_responses(400, 404, 410, html=True), **error_responses(422)},
)
async def scan(token: str, request: Request, phone: str | None = None):
    """Opening the QR's link in a browser is the simulated phone scanning it."""
    if phone:
        try:
            phone = to_e164(phone)
        except InvalidPhone as exc:
            return HTMLResponse(confirmation_page("Invalid phone", html.escape(str(exc)), ok=False), status_code=400)
    try:
        org, linked = request.app.state.network.scan(token, phone)
    except SandboxError as exc:
        return HTMLResponse(
            confirmation_page("QR not valid", html.escape(exc.message), ok=False), status_code=exc.status
        )
    body = f"Organization <b>{html.escape(org)}</b> is now linked to the simulated phone <b>{html.escape(linked)}</b>."
    return HTMLResponse(confirmation_page("WhatsApp linked", body, ok=True))


@router.get("/sandbox/api/sessions", responses=error_responses(401))
async def sandbox_sessions(request: Request):
    sessions = request.app.state.manager.sessions.values()
    return {"sessions": [s.public_status() for s in sessions if s.engine_name == "sandbox"]}


@router.post("/sandbox/api/pair", responses=error_responses(*BODY, 404))
async def enter_pairing_code(body: SandboxPairBody, request: Request):
    """Typing a pairing code on the simulated phone links the session that asked for it."""
    try:
        org, phone = request.app.state.network.enter_code(body.code)
    except SandboxError as exc:
        _raise(exc)
    return {"organization_id": org, "phone_number": phone}


@router.get("/sandbox/api/{organization_id}/messages", responses=error_responses(401, 404, 422))
async def messages(organization_id: str, request: Request, phone: str | None = None, direction: str = "out"):
    _engine(request, organization_id)
    rows = request.app.state.store.sandbox_messages(organization_id)
    media = request.app.state.manager.media
    out = []
    for r in rows:
        if direction != "all" and r["direction"] != direction:
            continue
        if phone and r["phone"] != phone:
            continue
        out.append(
            {
                "message_id": r["message_id"],
                "whatsapp_id": r["whatsapp_id"],
                "direction": r["direction"],
                "phone": r["phone"],
                "text": r["text"],
                "buttons": r["buttons"],
                "button_id": r["button_id"],
                "status": r["status"],
                "timestamp": iso_from_epoch(r["created_at"]),
                "media": _media_of(media, organization_id, r.get("media_id")),
            }
        )
    return {"organization_id": organization_id, "messages": out}


def _media_of(store, organization_id: str, media_id: str | None) -> dict | None:
    row = store.row(organization_id, media_id) if media_id else None
    return public(row) if row else None


@router.get("/sandbox/api/{organization_id}/media/{media_id}", responses=error_responses(401, 404, 422))
async def phone_media(organization_id: str, media_id: str, request: Request):
    """A file as the simulated phone holds it (what it was sent, or what it sent)."""
    _engine(request, organization_id)
    store = request.app.state.manager.media
    found = store.load(organization_id, media_id)
    if found is None:
        raise ApiError(404, "no media with this id for this organization", "media_id")
    return media_response(found, store.row(organization_id, media_id))


@router.post("/sandbox/api/{organization_id}/reply", responses=error_responses(*BODY, 404, 409))
async def reply(organization_id: str, body: SandboxReplyBody, request: Request):
    """A patient writes to the clinic: free text, the id of a button they were sent, or a file."""
    engine = _engine(request, organization_id)
    if body.media is None and (body.text is None) == (body.button_id is None):
        raise ApiError(422, "give exactly one of text or button_id", "text")
    if body.media is not None and body.button_id is not None:
        raise ApiError(422, "a file cannot be sent with button_id", "button_id")
    media = None
    if body.media is not None:
        media = from_body(body.media, body.text or "", request.app.state.settings.max_media_bytes)
    try:
        message_id = engine.reply(body.phone, body.text, body.button_id, media=media, reply_to=body.reply_to)
    except SandboxError as exc:
        _raise(exc)
    return {"message_id": message_id}


@router.post("/sandbox/api/{organization_id}/disconnect", responses=error_responses(*BODY, 404))
async def disconnect(organization_id: str, request: Request, body: SandboxDisconnectBody | None = None):
    """The connection drops; with `seconds`, the network stays unreachable that long."""
    engine = _engine(request, organization_id)
    engine.drop((body or SandboxDisconnectBody()).seconds)
    return request.app.state.manager.get(organization_id).public_status()


@router.post("/sandbox/api/{organization_id}/logout", responses=error_responses(401, 404, 409, 422))
async def phone_logout(organization_id: str, request: Request):
    """The user removes the linked device from the phone."""
    engine = _engine(request, organization_id)
    if not engine.has_credentials():
        raise ApiError(409, "no device is linked", "organization_id")
    engine.phone_logout()
    return request.app.state.manager.get(organization_id).public_status()
