"""A simulated WhatsApp network: QR links that a browser "scans", phones that read and reply.

Everything a real device does is reproduced with timers, so every path of the product
(linking, receipts, replies, drops, phone-side logout) runs with no internet.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import secrets
import time
from datetime import UTC, datetime

from ..config import Settings
from ..store import Store
from .base import MEDIA_KINDS, Engine, EngineError, Inbound, Media, NotConnected, Sink

CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
_UNREAD = object()
# Receipts falling due within this much of the first are applied with it: one statement per status
# for the batch, where each receipt was a task and three statements of its own.
RECEIPT_GATHER_S = 0.1


def wa_like_id() -> str:
    return "3EB0" + secrets.token_hex(8).upper()


def default_phone(organization_id: str) -> str:
    digest = int(hashlib.sha256(organization_id.encode()).hexdigest(), 16)
    return f"+57300{digest % 10**7:07d}"


class SandboxError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class SandboxNetwork:
    """Shared by all sandbox engines of the process: who is showing which QR or code."""

    def __init__(self, settings: Settings, store: Store, media=None):
        self.settings = settings
        self.store = store
        # The simulated phones keep their own copy of every file, as a real phone does.
        self.media = media
        self.engines: dict[str, SandboxEngine] = {}
        self.qr_tokens: dict[str, str] = {}
        self.pair_codes: dict[str, tuple[str, str]] = {}
        self.outage_until: dict[str, float] = {}

    def engine(self, org: str) -> SandboxEngine:
        engine = self.engines.get(org)
        if engine is None:
            raise SandboxError(404, "unknown organization", "organization_id")
        return engine

    def in_outage(self, org: str) -> bool:
        return time.monotonic() < self.outage_until.get(org, 0)

    def clear_pending(self, org: str) -> None:
        for token in [t for t, o in self.qr_tokens.items() if o == org]:
            del self.qr_tokens[token]
        for code in [c for c, (o, _) in self.pair_codes.items() if o == org]:
            del self.pair_codes[code]

    def scan(self, token: str, phone: str | None) -> tuple[str, str]:
        org = self.qr_tokens.get(token)
        if org is None or org not in self.engines:
            raise SandboxError(410, "This QR code has expired or was already used.")
        phone = phone or default_phone(org)
        self.engines[org].link(phone)
        return org, phone

    def enter_code(self, code: str) -> tuple[str, str]:
        key = code.replace("-", "").replace(" ", "").upper()
        found = self.pair_codes.get(key)
        if found is None or found[0] not in self.engines:
            raise SandboxError(404, "no session is waiting for this code", "code")
        org, phone = found
        self.engines[org].link(phone)
        return org, phone


class SandboxEngine(Engine):
    name = "sandbox"
    native_buttons = True
    supports_media = True
    media_kinds = frozenset(MEDIA_KINDS)

    def __init__(self, organization_id: str, sink: Sink, network: SandboxNetwork):
        super().__init__(organization_id, sink)
        self.network = network
        self.settings = network.settings
        self.store = network.store
        self.connected = False
        self._task: asyncio.Task | None = None
        # (due on the monotonic clock, order, whatsapp_id, status): the receipts the phones will send.
        self._due: list[tuple[float, int, str, str]] = []
        self._order = itertools.count()
        self._receipt_task: asyncio.Task | None = None
        # The linked phone, read from the store once: only this engine writes it (link, logout), and
        # every send asks for it (a look-up of the session row per send before).
        self._linked_phone: str | None | object = _UNREAD
        network.engines[organization_id] = self

    def has_credentials(self) -> bool:
        return bool(self.phone)

    @property
    def phone(self) -> str | None:
        if self._linked_phone is _UNREAD:
            creds = self.store.creds(self.organization_id)
            self._linked_phone = creds.get("phone") if creds else None
        return self._linked_phone

    def _save_phone(self, phone: str | None) -> None:
        if phone is None:
            self.store.save_session(self.organization_id, creds=None, linked=0)
        else:
            self.store.save_session(self.organization_id, creds={"phone": phone})
        self._linked_phone = phone

    def _run(self, coro) -> None:
        if self._task and not self._task.done() and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(coro)

    async def start(self) -> None:
        self.network.engines[self.organization_id] = self
        self._run(self._connect() if self.has_credentials() else self._show_qrs())

    async def _connect(self) -> None:
        await asyncio.sleep(self.settings.sandbox_connect_ms / 1000)
        if self.network.in_outage(self.organization_id):
            self.sink.on_disconnected("dial_error")
            return
        self.connected = True
        self.sink.on_connected(self.phone)
        self._resume_receipts()

    def _resume_receipts(self) -> None:
        """Receipts still due for messages sent before a restart: the phones read them all the same."""
        if self._due:
            return
        now = time.time()
        for row in self.store.sandbox_awaiting_receipts(self.organization_id):
            self._schedule_receipts(row["whatsapp_id"], age=now - row["created_at"], status=row["status"])

    def _schedule_receipts(self, whatsapp_id: str, age: float = 0.0, status: str = "sent") -> None:
        """`delivered` (unless it already was) and `read`, at the sandbox's delays from the send
        (`age` ago)."""
        delivered = self.settings.sandbox_delivered_ms / 1000
        read = max(delivered, self.settings.sandbox_read_ms / 1000)
        at = time.monotonic()
        if status == "sent":
            at += max(0.0, delivered - age)
            self._due_at(at, whatsapp_id, "delivered")
        self._due_at(at + max(0.0, read - max(age, delivered)), whatsapp_id, "read")

    def _due_at(self, at: float, whatsapp_id: str, status: str) -> None:
        earliest = self._due[0][0] if self._due else None
        heapq.heappush(self._due, (at, next(self._order), whatsapp_id, status))
        running = self._receipt_task is not None and not self._receipt_task.done()
        if running and earliest is not None and at >= earliest:
            return  # the running loop wakes for an earlier one and takes this one in its turn
        if running:
            self._receipt_task.cancel()  # it sleeps until a later receipt: start again from this one
        self._receipt_task = asyncio.get_running_loop().create_task(self._receipts_loop())

    async def _show_qrs(self) -> None:
        org = self.organization_id
        for index in range(self.settings.qr_codes):
            self.network.clear_pending(org)
            token = secrets.token_urlsafe(18)
            self.network.qr_tokens[token] = org
            self.sink.on_qr(f"{self.settings.public_url}/sandbox/scan/{token}")
            lifetime = self.settings.qr_first_ms if index == 0 else self.settings.qr_rotation_ms
            await asyncio.sleep(lifetime / 1000)
        self.network.clear_pending(org)

    def link(self, phone: str) -> None:
        self.network.clear_pending(self.organization_id)
        self._save_phone(phone)
        self.sink.on_paired(phone)
        self._run(self._connect())

    async def stop(self) -> None:
        self.connected = False
        self.network.clear_pending(self.organization_id)
        if self._task and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None
        # Receipts still due wait in the store and resume at the next connect (_resume_receipts):
        # left running, they would write to a store the bridge is closing.
        if self._receipt_task is not None:
            self._receipt_task.cancel()
            self._receipt_task = None
        self._due.clear()

    async def logout(self) -> None:
        await self.stop()
        self._save_phone(None)

    async def pairing_code(self, phone: str) -> str:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        self.network.pair_codes[code] = (self.organization_id, phone)
        return f"{code[:4]}-{code[4:]}"

    def sent_id(self, message_id: str) -> str | None:
        row = self.store.sandbox_sent_message(self.organization_id, message_id)
        return row["whatsapp_id"] if row else None

    async def send(
        self, message_id: str, phone: str, text: str, buttons: list[dict] | None, media: Media | None = None, **_extra
    ) -> str:
        if not self.connected or self.network.in_outage(self.organization_id):
            raise NotConnected()
        if phone == self.phone:
            raise EngineError("invalid_recipient", "cannot send a message to the linked number itself")
        whatsapp_id = wa_like_id()
        media_id = self.network.media.save(self.organization_id, media, "sandbox")["media_id"] if media else None
        self.store.add_sandbox_message(
            {
                "organization_id": self.organization_id,
                "direction": "out",
                "message_id": message_id,
                "whatsapp_id": whatsapp_id,
                "phone": phone,
                "text": text,
                "buttons": buttons,
                "status": "sent",
                "media_id": media_id,
            }
        )
        self._schedule_receipts(whatsapp_id)
        return whatsapp_id

    async def _receipts_loop(self) -> None:
        while self._due:
            delay = self._due[0][0] - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay + RECEIPT_GATHER_S)
            now = time.monotonic()
            batch = []
            while self._due and self._due[0][0] <= now:
                _at, _order, whatsapp_id, status = heapq.heappop(self._due)
                batch.append((whatsapp_id, status))
            # Reported before the phone's own rows change: a bridge killed in between reports them
            # again after its restart (a repeat is ignored), never loses them.
            self.sink.on_receipts(batch)
            self.store.set_sandbox_statuses(self.organization_id, batch)

    # faults and actions from the simulated phones
    def reply(
        self,
        phone: str,
        text: str | None,
        button_id: str | None,
        media: Media | None = None,
        reply_to: str | None = None,
    ) -> str:
        if not self.connected:
            raise SandboxError(409, "the session is not connected, the clinic cannot receive", "organization_id")
        if button_id is not None:
            buttons = self.store.last_sandbox_buttons(self.organization_id, phone)
            chosen = next((b for b in buttons if b["id"] == button_id), None)
            if chosen is None:
                raise SandboxError(400, "no button with this id was sent to this phone", "button_id")
            text = chosen["title"]
        quoted = None
        if reply_to is not None:
            quoted = self.store.sandbox_message(self.organization_id, phone, reply_to)
            if quoted is None:
                raise SandboxError(400, "no message with this id in this phone's chat", "reply_to")
        whatsapp_id = wa_like_id()
        media_id = self.network.media.save(self.organization_id, media, "sandbox")["media_id"] if media else None
        self.store.add_sandbox_message(
            {
                "organization_id": self.organization_id,
                "direction": "in",
                "message_id": whatsapp_id,
                "whatsapp_id": whatsapp_id,
                "phone": phone,
                "text": text or "",
                "button_id": button_id,
                "status": "sent",
                "media_id": media_id,
            }
        )
        self.sink.on_inbound(
            Inbound(
                whatsapp_id=whatsapp_id,
                phone=phone,
                text=text or "",
                button_id=button_id,
                push_name=f"Sandbox {phone[-4:]}",
                timestamp=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                media=media,
                reply_to=quoted["whatsapp_id"] if quoted else None,
            )
        )
        return whatsapp_id

    def drop(self, seconds: float) -> None:
        if seconds > 0:
            self.network.outage_until[self.organization_id] = time.monotonic() + seconds
        if self.connected:
            self.connected = False
            self.sink.on_disconnected("connection_lost")

    def phone_logout(self) -> None:
        self.connected = False
        if self._task and not self._task.done():
            self._task.cancel()
        self.network.clear_pending(self.organization_id)
        self._save_phone(None)
        self.sink.on_logged_out("device_removed")
