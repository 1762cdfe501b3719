"""ASGI middleware run before routing: the API key and the body size limit.

Done here rather than as FastAPI dependencies so a request without a key gets 401 even
when its body is malformed, and an oversized body is refused before it is parsed.
"""

from __future__ import annotations

import hmac
import json
import re

from .schemas import MAX_BATCH

PUBLIC_PREFIXES = ("/api/health", "/sandbox/scan/", "/openapi.json", "/webhooks/")
# Meta signs its webhooks itself and sends up to 3 MB.
WEBHOOK_PREFIX = "/webhooks/"
PUBLIC_EXACT = ("/sandbox", "/sandbox/")
PROTECTED_PREFIXES = ("/api/", "/sandbox/api/", "/metrics")
# Routes whose JSON body may carry a base64 file, and so get the larger media limit.
MEDIA_ROUTES = re.compile(r"^(/api/send-message|/sandbox/api/[^/]+/reply)/?$")
# A batch of messages may be as large as its messages sent one by one.
BATCH_ROUTE = re.compile(r"^/api/send-messages/?$")


def key_matches(given: str | None, expected: str) -> bool:
    return hmac.compare_digest((given or "").encode(), expected.encode())


async def _json(send, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _json_without_json_type(headers: dict, body: bytes) -> bool:
    """A JSON object posted as form data or with no Content-Type, as the old server's callers did

    (curl -d without -H sends application/x-www-form-urlencoded): read it as the JSON it is.
    """
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return False
    return kind in ("", "application/x-www-form-urlencoded", "text/plain") and body.lstrip()[:1] == b"{"


def _with_json_type(raw_headers) -> list:
    return [(k, v) for k, v in raw_headers if k.lower() != b"content-type"] + [(b"content-type", b"application/json")]


class Guard:
    def __init__(self, app, api_key: str, max_body: int, max_media_body: int | None = None,
                 max_webhook_body: int | None = None):
        self.app = app
        self.api_key = api_key
        self.max_body = max_body
        self.max_media_body = max(max_body, max_media_body or 0)
        self.max_webhook_body = max(max_body, max_webhook_body or 0)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self._protected(path) and not self._authorized(path, headers):
            return await _json(send, 401, {"error": "missing or invalid X-API-Key"})
        media_route = bool(MEDIA_ROUTES.match(path))
        limit = self.max_media_body if media_route else self.max_body
        if path.startswith(WEBHOOK_PREFIX):
            limit = self.max_webhook_body
        elif BATCH_ROUTE.match(path):
            limit = self.max_body * MAX_BATCH

        def too_big(seen: bytes):
            # The text fields come first and are short, so a body this large that has named a
            # media object by now is an oversized file.
            field = "media.data" if media_route and b'"media"' in seen[: self.max_body] else "body"
            return _json(send, 413, {"error": f"body larger than {limit} bytes", "field": field})

        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            if not media_route:
                return await too_big(b"")
            first = await receive()
            return await too_big(first.get("body", b""))
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return await too_big(body)
        if path.startswith("/api/") and _json_without_json_type(headers, body):
            scope = {**scope, "headers": _with_json_type(scope["headers"])}
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    @staticmethod
    def _protected(path: str) -> bool:
        if path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES):
            return False
        return path.startswith(PROTECTED_PREFIXES)

    def _authorized(self, path: str, headers: dict) -> bool:
        if key_matches(headers.get("x-api-key"), self.api_key):
            return True
        # Prometheus can send a bearer token but not arbitrary headers.
        auth = headers.get("authorization", "")
        return path.startswith("/metrics") and auth.startswith("Bearer ") and key_matches(auth[7:], self.api_key)
