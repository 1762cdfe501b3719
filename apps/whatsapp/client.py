"""HTTP calls to the WhatsApp bridge: the only place in Django that talks to it."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

log = logging.getLogger(__name__)


_local = threading.local()


def _http() -> requests.Session:
    """One keep-alive connection pool per thread (the worker's job threads, gunicorn's threads):
    a send costs a request, not a TCP handshake as well."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


class BridgeError(Exception):
    """The bridge could not do what was asked; `field` names the input it refused, if any."""

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.code = code


class BridgeUnavailable(BridgeError):
    """No answer (connection refused, timeout, 5xx): worth retrying later."""


class BridgeRejected(BridgeError):
    """The bridge refused the input (4xx other than 409): retrying the same call will not help."""


class SessionNotReady(BridgeError):
    """409: the organization's WhatsApp is not linked, logged out or failed."""


@dataclass(frozen=True)
class Media:
    kind: str
    mime_type: str
    filename: str
    content: bytes
    voice: bool = False


@dataclass(frozen=True)
class SendResult:
    message_id: str
    status: str  # "sent", or "queued" when the bridge holds it until the session reconnects


class BridgeClient:
    def __init__(self, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float | None = None, retries: int | None = None):
        self.base_url = (base_url or settings.WHATSAPP_BRIDGE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else settings.WHATSAPP_BRIDGE_API_KEY
        self.timeout = timeout if timeout is not None else settings.WHATSAPP_BRIDGE_TIMEOUT
        self.retries = retries if retries is not None else settings.WHATSAPP_BRIDGE_RETRIES

    # sessions

    def start_session(self, organization_id: int | str, engine: str | None = None,
                      default_region: str | None = None) -> dict[str, Any]:
        body = {"organization_id": str(organization_id)}
        if engine:
            body["engine"] = engine
        if default_region:
            body["default_region"] = default_region
        return self._call("POST", "/api/start-session", json=body)

    def cloud_credentials(self, organization_id: int | str, *, phone_number_id: str, waba_id: str,
                          access_token: str, app_secret: str, verify_token: str,
                          default_region: str | None = None) -> dict[str, Any]:
        """Hand a Meta app's credentials to the bridge (which checks them with Meta and keeps them)."""
        body = {"organization_id": str(organization_id), "phone_number_id": phone_number_id, "waba_id": waba_id,
                "access_token": access_token, "app_secret": app_secret, "verify_token": verify_token}
        if default_region:
            body["default_region"] = default_region
        return self._call("POST", "/api/cloud/credentials", json=body)

    def status(self, organization_id: int | str) -> dict[str, Any] | None:
        """The session's status ("disconnected" for an organization the bridge never started)."""
        return self._call("GET", f"/api/status/{organization_id}", missing_ok=True)

    def qr(self, organization_id: int | str) -> dict[str, Any] | None:
        return self._call("GET", f"/api/qr/{organization_id}", missing_ok=True)

    def pairing_code(self, organization_id: int | str, phone: str) -> str:
        return self._call("POST", "/api/pairing-code", json={"organization_id": str(organization_id), "phone": phone})[
            "code"
        ]

    def logout(self, organization_id: int | str) -> dict[str, Any] | None:
        return self._call("POST", "/api/logout", json={"organization_id": str(organization_id)}, missing_ok=True)

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/api/health")

    # messages

    def send_message(self, *, organization_id: int | str, phone: str, message: str, client_message_id: str,
                     buttons: list[dict] | None = None, media: Media | None = None,
                     template: dict | None = None, deliver_before: dt.datetime | None = None) -> SendResult:
        """`template` (a Cloud API template: name, language, parameters) is used by engines that need one."""
        body = {"organization_id": str(organization_id), "phone": phone, "message": message,
                "client_message_id": client_message_id}
        if buttons:
            body["buttons"] = buttons
        if template:
            body["template"] = template
        if media is not None:
            body["media"] = {"kind": media.kind, "mime_type": media.mime_type, "filename": media.filename,
                             "data": base64.b64encode(media.content).decode(), "voice": media.voice}
        if deliver_before is not None:
            body["deliver_before"] = deliver_before.isoformat()
        answer = self._call("POST", "/api/send-message", json=body)
        return SendResult(message_id=answer["message_id"], status=answer.get("status", "sent"))

    def send_messages(self, *, organization_id: int | str, messages: list[dict]) -> list[dict]:
        """Up to 100 text messages of one organization in one call (`POST /api/send-messages`).

        `messages` are dicts of phone, message, client_message_id and optionally buttons, template and
        deliver_before (a datetime). One result per message, in order, each with `http_status` (what
        /api/send-message would have answered), `status` (sent, queued, failed), `message_id` and, when
        refused, `error`, `error_code` and `field`. Raises as send_message does for the whole batch.
        """
        items = []
        for item in messages:
            body = {"phone": item["phone"], "message": item["message"], "client_message_id": item["client_message_id"]}
            for key in ("buttons", "template"):
                if item.get(key):
                    body[key] = item[key]
            if item.get("deliver_before") is not None:
                body["deliver_before"] = item["deliver_before"].isoformat()
            items.append(body)
        answer = self._call("POST", "/api/send-messages",
                            json={"organization_id": str(organization_id), "messages": items})
        return answer["results"]

    def media(self, organization_id: int | str, media_id: str) -> bytes | None:
        """The bytes of a file the bridge holds for this organization, or None when it has none."""
        return self._call("GET", f"/api/media/{organization_id}/{media_id}", missing_ok=True, raw=True)

    # plumbing

    def _call(self, method: str, path: str, *, json: dict | None = None, missing_ok: bool = False,
              raw: bool = False):
        url = self.base_url + path
        headers = {"X-API-Key": self.api_key}
        attempt = 0
        while True:
            try:
                resp = _http().request(method, url, json=json, headers=headers, timeout=self.timeout)
                break
            except requests.ConnectionError as exc:
                # Only a refused or dropped connection is retried here: the bridge never saw the
                # request. A read timeout may mean it did, so that goes back to the caller.
                if isinstance(exc, requests.ReadTimeout) or attempt >= self.retries:
                    raise BridgeUnavailable(f"WhatsApp bridge unreachable at {self.base_url}") from exc
                attempt += 1
            except requests.Timeout as exc:
                raise BridgeUnavailable("WhatsApp bridge did not answer in time") from exc
        if resp.status_code == 404 and missing_ok:
            return None
        if raw and 200 <= resp.status_code < 300:
            return resp.content
        try:
            payload = resp.json()
        except ValueError:
            payload = {}
        if 200 <= resp.status_code < 300:
            return payload
        message = payload.get("error") or f"bridge answered HTTP {resp.status_code}"
        field = payload.get("field")
        code = payload.get("error_code") or payload.get("session_status") or ""
        log.warning("bridge refused %s %s: %s %s", method, path, resp.status_code, message)
        if resp.status_code == 409:
            raise SessionNotReady(message, status=409, field=field, code=code)
        if resp.status_code >= 500:
            raise BridgeUnavailable(message, status=resp.status_code, field=field, code=code)
        raise BridgeRejected(message, status=resp.status_code, field=field, code=code)
