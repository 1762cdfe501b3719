"""A local stand-in for Meta's Graph API (WhatsApp Cloud API), for tests only.

It answers the calls the cloud engine makes with the request and response shapes of Meta's
documentation (send-messages, phone-number fields, the error body of the error-codes page) and
plays Meta's side of the webhooks: it signs `X-Hub-Signature-256` with the app secret and posts
the documented `whatsapp_business_account` envelope (messages and statuses) to the bridge,
including duplicate and out-of-order deliveries when a test asks for them. The payloads are
built from the shapes in Meta's webhook reference as recorded in
shared/reference/whatsapp-cloud-api.md (sections 1.7, 1.9, 2.3-2.5).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

VERSION = "v25.0"

# Meta's documented error titles for the codes the tests use.
TITLES = {
    131047: ("Re-engagement message", "Message failed to send because more than 24 hours have passed since the "
                                      "customer last replied to this number."),
    131026: ("Message undeliverable", "Unable to deliver message. Reasons can include: the recipient phone number "
                                      "is not a WhatsApp phone number."),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached."),
    131056: ("(Business Account, Consumer Account) pair rate limit hit",
             "Too many messages sent from the sender phone number to the same recipient phone number in a short "
             "period of time."),
    368: ("Temporarily blocked for policies violations", "The WhatsApp Business Account is restricted."),
    132001: ("Template name does not exist in the translation", "template name (x) does not exist in es"),
    190: ("Invalid OAuth access token - Cannot parse access token", ""),
}


def error_body(code: int, title: str | None = None, details: str | None = None) -> dict:
    default_title, default_details = TITLES.get(code, ("Unknown error", ""))
    return {"error": {
        "message": f"(#{code}) {title or default_title}", "type": "OAuthException", "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default_details},
        "fbtrace_id": "A" + secrets.token_hex(10),
    }}


def wamid() -> str:
    return "wamid.HBgM" + secrets.token_hex(16).upper()


class Account:
    def __init__(self, phone_number_id: str, token: str, app_secret: str, display: str, waba_id: str,
                 templates: tuple[str, ...] = ("recordatorio_cita",)):
        self.phone_number_id = phone_number_id
        self.token = token
        self.app_secret = app_secret
        self.display_phone_number = display
        self.waba_id = waba_id
        self.verified_name = "Optica Demo"
        self.quality_rating = "GREEN"
        self.messaging_limit_tier = "TIER_250"
        self.templates = set(templates)
        self.window: dict[str, float] = {}  # wa_id -> last user message (epoch s)


class GraphServer:
    def __init__(self):
        self.accounts: dict[str, Account] = {}
        self.sent: list[dict] = []  # every accepted POST /messages body, with its wamid
        self.requests: list[tuple[str, str, dict]] = []
        self.fail_next: list[tuple[int, int]] = []  # (http status, Meta code) for the next sends
        self.before_answer = None  # called with an accepted send before it is answered (webhook races)
        self.media: dict[str, dict] = {}  # media id -> {"data", "mime_type", "filename", "phone_number_id"}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.webhook_url = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{VERSION}"

    def add_account(self, **kwargs) -> Account:
        account = Account(**kwargs)
        self.accounts[account.phone_number_id] = account
        return account

    def start(self) -> GraphServer:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _account(self, path_id: str) -> Account | None:
                account = graph.accounts.get(path_id)
                if account is None:
                    self._answer(400, {"error": {
                        "message": f"Unsupported get request. Object with ID '{path_id}' does not exist, cannot be "
                                   "loaded due to missing permissions, or does not support this operation.",
                        "type": "GraphMethodException", "code": 100, "error_subcode": 33,
                        "fbtrace_id": "A" + secrets.token_hex(10)}})
                    return None
                if self.headers.get("Authorization") != f"Bearer {account.token}":
                    self._answer(401, error_body(190))
                    return None
                return account

            def do_GET(self):  # noqa: N802 - stdlib naming
                parts = urlsplit(self.path)
                segments = parts.path.strip("/").split("/")
                graph.requests.append(("GET", parts.path, parse_qs(parts.query)))
                if segments[0] == "media-download" and len(segments) == 2:
                    return self._download(segments[1])
                if len(segments) == 2 and segments[1] in graph.media:
                    item = graph.media[segments[1]]
                    if self._account(item["phone_number_id"]) is None:
                        return None
                    # The documented answer of GET /<MEDIA_ID>: a URL valid for five minutes.
                    host = f"http://127.0.0.1:{graph.server.server_address[1]}"
                    return self._answer(200, {
                        "messaging_product": "whatsapp", "url": f"{host}/media-download/{segments[1]}",
                        "mime_type": item["mime_type"], "sha256": hashlib.sha256(item["data"]).hexdigest(),
                        "file_size": len(item["data"]), "id": segments[1]})
                if len(segments) != 2 or segments[0] != VERSION:
                    return self._answer(404, error_body(100, "Unknown path components", ""))
                account = self._account(segments[1])
                if account is None:
                    return None
                fields = (parse_qs(parts.query).get("fields") or [""])[0].split(",")
                every = {"id": account.phone_number_id, "display_phone_number": account.display_phone_number,
                         "verified_name": account.verified_name, "quality_rating": account.quality_rating,
                         "messaging_limit_tier": account.messaging_limit_tier}
                return self._answer(200, {k: v for k, v in every.items() if k in fields or k == "id"})

            def _download(self, media_id: str):
                item = graph.media.get(media_id)
                account = graph.accounts.get(item["phone_number_id"]) if item else None
                if account is None or self.headers.get("Authorization") != f"Bearer {account.token}":
                    self.send_response(401 if item else 404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", item["mime_type"])
                self.send_header("Content-Length", str(len(item["data"])))
                self.end_headers()
                self.wfile.write(item["data"])

            def _upload(self, account: Account, raw: bytes):
                message = BytesParser(policy=default).parsebytes(
                    b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw)
                fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
                if "file" not in fields or fields.get("messaging_product") is None:
                    return self._answer(400, error_body(100, "Invalid parameter", "file and messaging_product "
                                                                                  "are required"))
                part = fields["file"]
                media_id = str(secrets.randbelow(10**15) + 10**15)
                graph.media[media_id] = {"data": part.get_payload(decode=True), "mime_type": part.get_content_type(),
                                         "filename": part.get_filename(), "phone_number_id": account.phone_number_id}
                return self._answer(200, {"id": media_id})

            def do_POST(self):  # noqa: N802
                parts = urlsplit(self.path)
                segments = parts.path.strip("/").split("/")
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if len(segments) == 3 and segments[2] == "media":
                    graph.requests.append(("POST", parts.path, {}))
                    account = self._account(segments[1])
                    return self._upload(account, raw) if account else None
                body = json.loads(raw or b"{}")
                graph.requests.append(("POST", parts.path, body))
                if len(segments) != 3 or segments[0] != VERSION or segments[2] != "messages":
                    return self._answer(404, error_body(100, "Unknown path components", ""))
                account = self._account(segments[1])
                if account is None:
                    return None
                if body.get("messaging_product") != "whatsapp" or not body.get("to") or body.get("type") not in body:
                    return self._answer(400, error_body(100, "Invalid parameter", "messaging_product, to and "
                                                                                  "the type's object are required"))
                with graph.lock:
                    forced = graph.fail_next.pop(0) if graph.fail_next else None
                if forced:
                    return self._answer(forced[0], error_body(forced[1]))
                to = body["to"].lstrip("+")
                if body["type"] == "template":
                    if body["template"]["name"] not in account.templates:
                        return self._answer(404, error_body(132001))
                elif time.time() - account.window.get(to, 0) > 24 * 3600:
                    return self._answer(400, error_body(131047))
                message_id = wamid()
                record = {**body, "wamid": message_id, "phone_number_id": account.phone_number_id}
                with graph.lock:
                    graph.sent.append(record)
                if graph.before_answer:
                    graph.before_answer(record)
                return self._answer(200, {"messaging_product": "whatsapp",
                                          "contacts": [{"input": body["to"], "wa_id": to}],
                                          "messages": [{"id": message_id}]})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # Meta's side of the webhooks

    def envelope(self, account: Account, value: dict) -> dict:
        return {"object": "whatsapp_business_account", "entry": [{"id": account.waba_id, "changes": [{
            "field": "messages",
            "value": {"messaging_product": "whatsapp",
                      "metadata": {"display_phone_number": account.display_phone_number,
                                   "phone_number_id": account.phone_number_id},
                      **value}}]}]}

    def post(self, payload: dict | bytes, secret: str | None, *, signature: str | None = None) -> httpx.Response:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(self.webhook_url, content=raw, headers=headers, timeout=10)

    def user_media(self, account: Account, data: bytes, mime_type: str, filename: str | None = None) -> str:
        """A file a patient sent: stored as Meta stores it, under a webhook media id."""
        media_id = str(secrets.randbelow(10**15) + 10**15)
        self.media[media_id] = {"data": data, "mime_type": mime_type, "filename": filename,
                                "phone_number_id": account.phone_number_id}
        return media_id

    def user_message(self, account: Account, phone: str, message: dict, name: str = "Valentina") -> dict:
        """A patient writes: opens the customer-service window and builds the webhook payload."""
        wa_id = phone.lstrip("+")
        now = int(time.time())
        account.window[wa_id] = now
        message = {"from": wa_id, "id": wamid(), "timestamp": str(now), **message}
        return self.envelope(account, {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                                       "messages": [message]})

    def status(self, account: Account, sent: dict, status: str, *, errors: list[dict] | None = None,
               at: int | None = None) -> dict:
        item = {"id": sent["wamid"], "status": status, "timestamp": str(at or int(time.time())),
                "recipient_id": sent["to"].lstrip("+"),
                "biz_opaque_callback_data": sent.get("biz_opaque_callback_data"),
                "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}}
        if errors:
            item["errors"] = errors
        return self.envelope(account, {"statuses": [item]})


@pytest.fixture(name="graph")
def graph_fixture():
    """A running GraphServer for one test (used by the bridge's, Django's and the browser's tests)."""
    server = GraphServer().start()
    yield server
    server.stop()


def status_error(code: int) -> dict:
    title, details = TITLES[code]
    return {"code": code, "title": title, "message": title, "error_data": {"details": details}}
