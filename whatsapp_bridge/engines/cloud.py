"""The official WhatsApp Business Cloud API (Meta's Graph API), one account per organization.

Credentials (phone-number id, WABA id, access token, app secret, verify token) live only in
the bridge's own store, encrypted with BRIDGE_CREDENTIALS_KEY, and are never logged or
answered. Sends are POSTs to `/{phone_number_id}/messages`; delivery and replies come back as
Meta's webhooks (`CloudHub.webhook_*`), routed to the organization by phone-number id and
verified with the app secret. Meta retries webhooks for days and does not order them, so
inbound messages are de-duplicated by wamid and statuses only move forward (the session's
rank check).

The Graph API base URL is BRIDGE_GRAPH_API_URL, so tests point it at a local server that
answers Meta's published shapes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet, InvalidToken

from ..phones import from_digits
from .base import MEDIA_KINDS, Engine, EngineError, Inbound, Media, NotConnected, Sink

log = logging.getLogger("whatsapp_bridge.cloud")

WINDOW_SECONDS = 24 * 3600

# Meta's codes that mean "this message will never go, as it is" (error-codes page): the
# bridge answers 422 for them instead of 502, so callers do not retry.
PERMANENT_CODES = {
    "131047": "template", "131026": "phone", "131050": "phone", "130403": "phone", "131051": None,
    "132000": "template", "132001": "template", "132005": "template", "132007": "template",
    "132012": "template", "132015": "template", "132016": "template", "100": None, "131008": None,
    "131009": None, "368": None, "131031": None, "130497": None, "131042": None, "190": None,
    "outside_window": "template",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS cloud_accounts (
    organization_id TEXT PRIMARY KEY,
    phone_number_id TEXT NOT NULL UNIQUE,
    secrets BLOB NOT NULL,
    info TEXT,
    info_at REAL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cloud_contacts (
    organization_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    last_inbound_at REAL NOT NULL,
    PRIMARY KEY (organization_id, phone)
);
CREATE TABLE IF NOT EXISTS cloud_seen (
    organization_id TEXT NOT NULL,
    wamid TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (organization_id, wamid)
);
"""


@dataclass(frozen=True)
class Credentials:
    phone_number_id: str
    waba_id: str
    access_token: str
    app_secret: str
    verify_token: str

    def __repr__(self) -> str:  # never let a token reach a log line or a traceback
        return f"Credentials(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r}, ...)"


class GraphError(EngineError):
    """An error body of the Graph API: `{"error": {"code", "message", "error_data": {"details"}}}`."""

    def __init__(self, code: str, message: str, http_status: int | None = None):
        super().__init__(code, message)
        self.http_status = http_status

    @classmethod
    def from_response(cls, resp: httpx.Response) -> GraphError:
        try:
            error = resp.json().get("error") or {}
        except ValueError:
            error = {}
        code = str(error.get("code") or f"http_{resp.status_code}")
        details = (error.get("error_data") or {}).get("details") or ""
        text = error.get("message") or f"Graph API answered HTTP {resp.status_code}"
        return cls(code, f"{text}: {details}" if details else text, resp.status_code)


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class CloudStore:
    """The cloud engine's tables, in a file of their own beside the bridge's store."""

    def __init__(self, path: Path, key: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._fernet = _fernet(key)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def _one(self, sql: str, params: tuple = ()) -> dict | None:
        with self._lock:
            row = self._db.execute(sql, params).fetchone()
        return dict(row) if row else None

    def save(self, org: str, creds: Credentials, info: dict) -> None:
        secrets = self._fernet.encrypt(json.dumps(creds.__dict__).encode())
        now = time.time()
        # A phone-number id moved to another organization leaves the old one.
        self._exec("DELETE FROM cloud_accounts WHERE phone_number_id=? AND organization_id<>?",
                   (creds.phone_number_id, org))
        self._exec(
            "INSERT INTO cloud_accounts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(organization_id) DO UPDATE SET "
            "phone_number_id=excluded.phone_number_id, secrets=excluded.secrets, info=excluded.info, "
            "info_at=excluded.info_at, updated_at=excluded.updated_at",
            (org, creds.phone_number_id, secrets, json.dumps(info), now, now),
        )

    def credentials(self, org: str) -> Credentials | None:
        row = self._one("SELECT secrets FROM cloud_accounts WHERE organization_id=?", (org,))
        return self._decrypt(row["secrets"]) if row else None

    def _decrypt(self, blob) -> Credentials | None:
        try:
            return Credentials(**json.loads(self._fernet.decrypt(bytes(blob))))
        except InvalidToken:
            log.error("cloud credentials cannot be decrypted: BRIDGE_CREDENTIALS_KEY changed?")
            return None

    def organization_for(self, phone_number_id: str) -> str | None:
        row = self._one("SELECT organization_id FROM cloud_accounts WHERE phone_number_id=?", (phone_number_id,))
        return row["organization_id"] if row else None

    def all_credentials(self) -> list[tuple[str, Credentials]]:
        with self._lock:
            rows = self._db.execute("SELECT organization_id, secrets FROM cloud_accounts").fetchall()
        return [(r["organization_id"], c) for r in rows if (c := self._decrypt(r["secrets"])) is not None]

    def info(self, org: str) -> tuple[dict, float]:
        row = self._one("SELECT info, info_at FROM cloud_accounts WHERE organization_id=?", (org,))
        if not row:
            return {}, 0.0
        return json.loads(row["info"] or "{}"), row["info_at"] or 0.0

    def set_info(self, org: str, info: dict) -> None:
        self._exec("UPDATE cloud_accounts SET info=?, info_at=? WHERE organization_id=?",
                   (json.dumps(info), time.time(), org))

    def delete(self, org: str) -> None:
        self._exec("DELETE FROM cloud_accounts WHERE organization_id=?", (org,))
        self._exec("DELETE FROM cloud_contacts WHERE organization_id=?", (org,))

    def touch_contact(self, org: str, phone: str, at: float) -> None:
        self._exec(
            "INSERT INTO cloud_contacts VALUES (?, ?, ?) ON CONFLICT(organization_id, phone) DO UPDATE SET "
            "last_inbound_at=max(last_inbound_at, excluded.last_inbound_at)",
            (org, phone, at),
        )

    def last_inbound(self, org: str, phone: str) -> float | None:
        row = self._one("SELECT last_inbound_at FROM cloud_contacts WHERE organization_id=? AND phone=?", (org, phone))
        return row["last_inbound_at"] if row else None

    def seen(self, org: str, wamid: str) -> bool:
        return self._one("SELECT 1 AS x FROM cloud_seen WHERE organization_id=? AND wamid=?", (org, wamid)) is not None

    def first_sight(self, org: str, wamid: str) -> bool:
        """True the first time this inbound wamid is seen for the organization."""
        cur = self._exec("INSERT OR IGNORE INTO cloud_seen VALUES (?, ?, ?)", (org, wamid, time.time()))
        return cur.rowcount == 1


class Graph:
    """The few Graph API calls the engine makes; one pooled client for every organization."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(20.0))
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def request(self, method: str, path: str, token: str, **kwargs) -> httpx.Response:
        try:
            resp = await self.client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.HTTPError as exc:
            raise NotConnected(f"Graph API unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 400:
            raise GraphError.from_response(resp)
        return resp

    async def phone_info(self, creds: Credentials) -> dict:
        resp = await self.request(
            "GET", f"/{creds.phone_number_id}", creds.access_token,
            params={"fields": "display_phone_number,verified_name,quality_rating,messaging_limit_tier"},
        )
        body = resp.json()
        return {
            "display_phone_number": body.get("display_phone_number"),
            "verified_name": body.get("verified_name"),
            "quality_rating": body.get("quality_rating"),
            "messaging_limit_tier": body.get("messaging_limit_tier"),
        }

    async def send(self, creds: Credentials, payload: dict) -> dict:
        resp = await self.request("POST", f"/{creds.phone_number_id}/messages", creds.access_token, json=payload)
        return resp.json()

    async def upload(self, creds: Credentials, media: Media) -> str:
        """`POST /{phone_number_id}/media` (multipart); Meta's media id, valid 30 days."""
        files = {"file": (media.filename or f"{media.kind}", media.data, media.mime_type)}
        data = {"messaging_product": "whatsapp", "type": media.mime_type}
        resp = await self.request("POST", f"/{creds.phone_number_id}/media", creds.access_token, data=data,
                                  files=files)
        media_id = resp.json().get("id")
        if not media_id:
            raise EngineError("graph_unexpected", "the Graph API stored the media without an id")
        return str(media_id)

    async def download(self, creds: Credentials, media_id: str) -> tuple[bytes, str]:
        """An inbound media id's bytes: `GET /{media_id}` gives a short-lived URL, fetched with the token."""
        meta = (await self.request("GET", f"/{media_id}", creds.access_token)).json()
        url = meta.get("url")
        if not url:
            raise EngineError("graph_unexpected", "the Graph API gave no URL for this media")
        try:
            resp = await self.client.get(url, headers={"Authorization": f"Bearer {creds.access_token}"})
        except httpx.HTTPError as exc:
            raise NotConnected(f"media download failed: {type(exc).__name__}") from exc
        if resp.status_code >= 400:
            raise GraphError.from_response(resp)
        return resp.content, meta.get("mime_type") or resp.headers.get("content-type", "")


def _e164(phone: str) -> str:
    return phone if phone.startswith("+") else (from_digits(phone) or "+" + phone)


def message_payload(message_id: str, phone: str, text: str, buttons: list[dict] | None,
                    template: dict | None = None, list_message: dict | None = None,
                    media: tuple[Media, str] | None = None) -> dict:
    """The body of `POST /{phone_number_id}/messages` for one of the bridge's sends."""
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": phone,
            # Echoed in every status webhook of this message.
            "biz_opaque_callback_data": message_id}
    if media:
        item, media_id = media
        obj = {"id": media_id}
        if text and item.kind != "audio":  # audio takes no caption
            obj["caption"] = text
        if item.kind == "document" and item.filename:
            obj["filename"] = item.filename
        return {**base, "type": item.kind, item.kind: obj}
    if template:
        components = []
        parameters = template.get("parameters") or []
        if parameters:
            components.append({"type": "body", "parameters": [
                {"type": "text", "text": p["text"], **({"parameter_name": p["name"]} if p.get("name") else {})}
                for p in parameters
            ]})
        if template.get("quick_replies"):
            for index, button in enumerate(buttons or []):
                components.append({"type": "button", "sub_type": "quick_reply", "index": str(index),
                                   "parameters": [{"type": "payload", "payload": button["id"]}]})
        body = {"name": template["name"], "language": {"code": template["language"]}}
        if components:
            body["components"] = components
        return {**base, "type": "template", "template": body}
    if list_message:
        return {**base, "type": "interactive", "interactive": {
            "type": "list", "body": {"text": text},
            "action": {"button": list_message["button"], "sections": [
                {**({"title": s["title"]} if s.get("title") else {}),
                 "rows": [{k: v for k, v in row.items() if v is not None} for row in s["rows"]]}
                for s in list_message["sections"]
            ]},
        }}
    if buttons:
        return {**base, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": text},
            "action": {"buttons": [{"type": "reply", "reply": {"id": b["id"], "title": b["title"]}}
                                   for b in buttons]},
        }}
    return {**base, "type": "text", "text": {"preview_url": False, "body": text}}


def _iso(unix: str | int | None) -> str:
    try:
        seconds = float(unix)
    except (TypeError, ValueError):
        seconds = time.time()
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def inbound_from_webhook(message: dict, contacts: list[dict]) -> Inbound | None:
    """One entry of `value.messages[]` as an inbound message, or None for what the clinic ignores."""
    sender = str(message.get("from") or "")
    wamid = str(message.get("id") or "")
    if not sender or not wamid:
        return None
    kind = message.get("type")
    text, button_id = "", None
    if kind == "text":
        text = (message.get("text") or {}).get("body") or ""
    elif kind == "button":  # a template's quick-reply button
        button = message.get("button") or {}
        text, button_id = button.get("text") or "", button.get("payload") or None
    elif kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get(interactive.get("type") or "") or {}
        text, button_id = reply.get("title") or "", reply.get("id") or None
    elif kind in MEDIA_KINDS:
        text = (message.get(kind) or {}).get("caption") or ""
    elif kind == "reaction":
        return None
    name = next((c.get("profile", {}).get("name") for c in contacts if c.get("wa_id") == sender), None)
    inbound = Inbound(whatsapp_id=wamid, phone=_e164(sender), text=text, button_id=button_id, push_name=name,
                      timestamp=_iso(message.get("timestamp")))
    inbound.reply_to = (message.get("context") or {}).get("id") or None
    return inbound


def media_ref(message: dict) -> dict | None:
    """The `{id, mime_type, filename?, voice?}` of an inbound media message, or None."""
    kind = message.get("type")
    if kind not in MEDIA_KINDS or not (message.get(kind) or {}).get("id"):
        return None
    return {"kind": kind, **message[kind]}


class WebhookRefused(Exception):
    def __init__(self, status: int, error: str, field: str | None = None):
        super().__init__(error)
        self.status, self.error, self.field = status, error, field


def signature_valid(body: bytes, header: str, app_secret: str) -> bool:
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().removeprefix("sha256="), expected)


class CloudHub:
    """Shared by every cloud engine of the process: the store, the Graph client, the webhook."""

    def __init__(self, settings, manager_ref):
        self.settings = settings
        self.store = CloudStore(settings.data_dir / "cloud.sqlite3", settings.credentials_key)
        self.graph = Graph(settings.graph_url)
        self._manager = manager_ref  # a callable returning the SessionManager (built after the hub)

    async def close(self) -> None:
        await self.graph.close()
        self.store.close()

    # GET: Meta's subscription handshake
    def verify_subscription(self, mode: str | None, token: str | None, challenge: str | None) -> str:
        if mode != "subscribe" or not token or challenge is None:
            raise WebhookRefused(400, "hub.mode=subscribe, hub.verify_token and hub.challenge are required",
                                 "hub.verify_token")
        for _org, creds in self.store.all_credentials():
            if hmac.compare_digest(creds.verify_token.encode(), token.encode()):
                return challenge
        raise WebhookRefused(403, "verify token does not match any connected account", "hub.verify_token")

    # POST: messages and statuses
    async def receive(self, body: bytes, signature: str | None) -> int:
        """Check and apply one webhook delivery; returns how many messages and statuses it carried."""
        if not signature:
            raise WebhookRefused(401, "missing X-Hub-Signature-256", "X-Hub-Signature-256")
        try:
            payload = json.loads(body)
        except ValueError:
            raise WebhookRefused(400, "body is not valid JSON", "body") from None
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            raise WebhookRefused(400, "not a whatsapp_business_account notification", "object")
        changes = []
        for entry in payload.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value") or {}
                changes.append((change.get("field"), value))
        routed = []
        for field, value in changes:
            phone_number_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
            org = self.store.organization_for(phone_number_id) if phone_number_id else None
            if field == "messages" and org is None:
                raise WebhookRefused(404, "unknown phone_number_id", "phone_number_id")
            routed.append((org, field, value))
        # Every organization the delivery touches must have signed it (one Meta app, one secret).
        for org in {org for org, _f, _v in routed if org}:
            creds = self.store.credentials(org)
            if creds is None or not signature_valid(body, signature, creds.app_secret):
                raise WebhookRefused(401, "X-Hub-Signature-256 does not match", "X-Hub-Signature-256")
        if not any(org for org, _f, _v in routed):
            # Account-level notifications (template reviews, account updates) name no phone number:
            # accepted, and ignored, when signed by a connected app; a non-2xx would make Meta
            # redeliver them for days.
            if any(signature_valid(body, signature, c.app_secret) for _o, c in self.store.all_credentials()):
                return 0
            raise WebhookRefused(401, "X-Hub-Signature-256 does not match", "X-Hub-Signature-256")
        count = 0
        for org, field, value in routed:
            if org and field == "messages":
                count += await self._apply(org, value)
        return count

    async def _media(self, org: str, ref: dict) -> Media:
        creds = self.store.credentials(org)
        data, mime_type = await self.graph.download(creds, ref["id"])
        return Media(kind=ref["kind"], mime_type=(ref.get("mime_type") or mime_type).split(";")[0].strip(),
                     data=data, filename=ref.get("filename"), caption=ref.get("caption") or "",
                     voice=bool(ref.get("voice")))

    @staticmethod
    def _claim_wamid(session, wamid: str, message_id: str | None) -> None:
        """A status can beat the send's own answer: our message id (echoed by Meta) finds the row."""
        store = session.store
        if not message_id or store.send_by_engine_id(session.org, wamid) is not None:
            return
        row = store.send(str(message_id))
        if row is not None and row["organization_id"] == session.org and not row["engine_id"]:
            store.update_send(row["message_id"], engine_id=wamid)

    async def _apply(self, org: str, value: dict) -> int:
        session = self._manager().get(org)
        if session is None:
            return 0
        count = 0
        contacts = value.get("contacts") or []
        for message in value.get("messages") or []:
            inbound = inbound_from_webhook(message, contacts)
            if inbound is None:
                continue
            count += 1
            # Any message from the patient opens (or renews) the customer-service window.
            try:
                sent_at = float(message.get("timestamp"))
            except (TypeError, ValueError):
                sent_at = time.time()
            self.store.touch_contact(org, inbound.phone, sent_at)
            if self.store.seen(org, inbound.whatsapp_id):
                continue
            ref = media_ref(message)
            if ref is not None:
                # Fetched before the message is marked seen: a failed download answers 503 and
                # Meta's redelivery brings the message back.
                try:
                    inbound.media = await self._media(org, ref)
                except EngineError as exc:
                    log.warning("inbound media download failed", extra={"organization_id": org,
                                                                        "error_code": exc.code})
                    raise WebhookRefused(503, "media could not be fetched from the Graph API; retry later") from exc
            if self.store.first_sight(org, inbound.whatsapp_id):
                session.on_inbound(inbound)
        for status in value.get("statuses") or []:
            wamid, state = str(status.get("id") or ""), status.get("status")
            if not wamid:
                continue
            count += 1
            self._claim_wamid(session, wamid, status.get("biz_opaque_callback_data"))
            if state == "failed":
                error = (status.get("errors") or [{}])[0]
                code = str(error.get("code") or "failed")
                details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
                title = error.get("title") or "failed"
                session.on_send_failed(wamid, code, f"({code}) {title}" + (f": {details}" if details else ""))
            elif state in ("sent", "delivered", "read"):
                session.on_receipt(wamid, state)
            elif state == "played":
                session.on_receipt(wamid, "read")
        return count


class CloudEngine(Engine):
    name = "cloud"
    native_buttons = True
    supports_media = True
    media_kinds = frozenset(MEDIA_KINDS)
    supports_qr = False
    supports_pairing_code = False
    supports_credentials = True
    supports_lists = True
    supports_templates = True
    paced = False

    def __init__(self, organization_id: str, sink: Sink, hub: CloudHub):
        super().__init__(organization_id, sink)
        self.hub = hub
        self.connected = False

    @property
    def creds(self) -> Credentials | None:
        return self.hub.store.credentials(self.organization_id)

    def has_credentials(self) -> bool:
        return self.hub.store.credentials(self.organization_id) is not None

    async def start(self) -> None:
        creds = self.creds
        if creds is None:
            self.sink.on_failed("credentials_required")
            return
        try:
            info = await self.refresh_info(force=True)
        except NotConnected:
            self.sink.on_disconnected("graph_unreachable")
            return
        except GraphError as exc:
            log.warning("cloud account refused", extra={"organization_id": self.organization_id,
                                                          "error_code": exc.code})
            self.connected = False
            self.sink.on_failed("invalid_token" if exc.code in ("190", "http_401") else f"graph_{exc.code}")
            return
        self.connected = True
        self.sink.on_connected(_e164_display(info.get("display_phone_number")))

    async def refresh_info(self, force: bool = False) -> dict:
        info, at = self.hub.store.info(self.organization_id)
        if not force and time.time() - at < self.hub.settings.cloud_info_refresh_s:
            return info
        creds = self.creds
        if creds is None:
            return info
        info = await self.hub.graph.phone_info(creds)
        self.hub.store.set_info(self.organization_id, info)
        return info

    async def refresh_details(self) -> None:
        try:
            await self.refresh_info()
        except EngineError as exc:
            # The status still answers with the last known figures.
            log.info("cloud account details not refreshed", extra={"organization_id": self.organization_id,
                                                                     "error_code": exc.code})

    def describe(self) -> dict[str, Any]:
        info, _at = self.hub.store.info(self.organization_id)
        creds = self.creds
        return {
            "quality_rating": info.get("quality_rating"),
            "messaging_limit_tier": info.get("messaging_limit_tier"),
            "verified_name": info.get("verified_name"),
            "phone_number_id": creds.phone_number_id if creds else None,
            "waba_id": creds.waba_id if creds else None,
            "webhook_url": f"{self.hub.settings.public_url}/webhooks/whatsapp",
        }

    async def stop(self) -> None:
        self.connected = False

    async def logout(self) -> None:
        self.connected = False
        self.hub.store.delete(self.organization_id)

    async def pairing_code(self, phone: str) -> str:
        raise EngineError("not_supported", "a Cloud API account has no pairing code")

    def window_open(self, phone: str) -> bool:
        last = self.hub.store.last_inbound(self.organization_id, phone)
        return last is not None and time.time() - last < WINDOW_SECONDS

    def refusal(self, error_code: str | None) -> str | None:
        """The field to name when Meta refused a send for good, or None when worth retrying."""
        if error_code in PERMANENT_CODES:
            return PERMANENT_CODES[error_code] or "message"
        return None

    async def send(self, message_id: str, phone: str, text: str, buttons: list[dict] | None,
                   media: Media | None = None, template: dict | None = None, list_message: dict | None = None,
                   **_extra) -> str:
        creds = self.creds
        if creds is None or not self.connected:
            raise NotConnected()
        if template is None and not self.window_open(phone):
            raise EngineError("outside_window", "outside the 24 h customer-service window: only an approved "
                                                "template can be sent")
        uploaded = (media, await self.hub.graph.upload(creds, media)) if media is not None else None
        payload = message_payload(message_id, phone, text, buttons, template, list_message, uploaded)
        answer = await self.hub.graph.send(creds, payload)
        messages = answer.get("messages") or [{}]
        wamid = messages[0].get("id")
        if not wamid:
            raise EngineError("graph_unexpected", "the Graph API accepted the message without an id")
        return wamid


def _e164_display(display: str | None) -> str | None:
    if not display:
        return None
    digits = "".join(c for c in display if c.isdigit())
    return from_digits(digits) if digits else None
