"""A real linked device through neonize (whatsmeow). Its keys live in BRIDGE_DATABASE_URL.

One NewAClient per organization: a fresh one is created with its own uuid and
new_device=True (without it neonize resumes the first stored device and the two clients
kick each other off); a linked one is resumed by its JID.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from neonize.aioze.client import NewAClient
from neonize.aioze.events import (
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    ReceiptEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.utils import build_jid

from ..phones import from_digits
from ..store import Store
from .base import Engine, EngineError, Inbound, Media, NotConnected, Sink

log = logging.getLogger("whatsapp_bridge.whatsmeow")

HANDLED = (
    PairStatusEv,
    ConnectedEv,
    DisconnectedEv,
    KeepAliveTimeoutEv,
    KeepAliveRestoredEv,
    LoggedOutEv,
    StreamReplacedEv,
    TemporaryBanEv,
    ClientOutdatedEv,
    ConnectFailureEv,
    MessageEv,
    ReceiptEv,
)

_R = LoggedOutEv.DESCRIPTOR.fields_by_name["Reason"].enum_type.values_by_name
LOGOUT_REASONS = {
    _R["LOGGED_OUT"].number: "device_removed",
    _R["MAIN_DEVICE_GONE"].number: "device_removed",
    _R["UNKNOWN_LOGOUT"].number: "banned",
    _R["TEMP_BANNED"].number: "banned",
    _R["CLIENT_OUTDATED"].number: "client_outdated",
}
_T = ReceiptEv.DESCRIPTOR.fields_by_name["Type"].enum_type.values_by_name
RECEIPT_STATUS = {_T["DELIVERED"].number: "delivered", _T["READ"].number: "read", _T["PLAYED"].number: "read"}
PAIR_SUCCESS = PairStatusEv.DESCRIPTOR.fields_by_name["Status"].enum_type.values_by_name["SUCCESS"].number


def _iso(ts: int) -> str:
    seconds = ts / 1000 if ts > 10**12 else ts
    if not seconds:
        seconds = datetime.now(UTC).timestamp()
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def inbound_from_event(ev) -> Inbound | None:
    """A MessageEv as an inbound message from a patient, or None for what the clinic ignores."""
    info = ev.Info
    source = info.MessageSource
    if source.IsFromMe or source.IsGroup or source.Chat.Server in ("broadcast", "newsletter"):
        return None
    sender = source.Sender
    if sender.Server == "lid" and source.SenderAlt.User:
        sender = source.SenderAlt
    phone = from_digits(sender.User)
    if phone is None:
        return None
    msg = ev.Message
    text = (
        msg.conversation
        or msg.extendedTextMessage.text
        or msg.buttonsResponseMessage.selectedDisplayText
        or msg.templateButtonReplyMessage.selectedDisplayText
    )
    button_id = msg.buttonsResponseMessage.selectedButtonID or msg.templateButtonReplyMessage.selectedID or None
    if not text and not button_id:
        return None
    return Inbound(
        whatsapp_id=info.ID,
        phone=phone,
        text=text,
        button_id=button_id,
        push_name=info.Pushname or None,
        timestamp=_iso(info.Timestamp),
    )


class WhatsmeowEngine(Engine):
    name = "whatsmeow"
    native_buttons = False

    def __init__(self, organization_id: str, sink: Sink, store: Store, database_url: str):
        super().__init__(organization_id, sink)
        self.store = store
        self.database_url = database_url
        self.client: NewAClient | None = None
        self.connected = False
        self._connect_task: asyncio.Task | None = None
        self._stopping = False

    def _creds(self) -> dict:
        return self.store.creds(self.organization_id) or {}

    def has_credentials(self) -> bool:
        return bool(self._creds().get("jid"))

    def _phone(self) -> str | None:
        return from_digits(self._creds().get("jid", ""))

    def _new_client(self) -> NewAClient:
        creds = self._creds()
        if creds.get("jid"):
            client = NewAClient(self.database_url, jid=build_jid(creds["jid"], creds.get("server", "s.whatsapp.net")))
        else:
            client = NewAClient(self.database_url, uuid=f"org-{self.organization_id}", new_device=True)
        for event_type in HANDLED:
            client.event(event_type)(self.handle)
        client.event.qr(self.on_qr)
        return client

    async def start(self) -> None:
        await self._drop_client()
        self._stopping = False
        self.client = self._new_client()
        try:
            task = await self.client.connect()
        except Exception as exc:  # noqa: BLE001 - neonize raises bare errors from the Go core
            raise EngineError("dial_error", str(exc)) from exc
        self._connect_task = task
        task.add_done_callback(self._connect_done)

    def _connect_done(self, task: asyncio.Task) -> None:
        if task is not self._connect_task or self._stopping or task.cancelled():
            return
        exc = task.exception()
        self.connected = False
        log.warning(
            "whatsmeow connection ended",
            extra={"organization_id": self.organization_id, "error": str(exc) if exc else None},
        )
        self.sink.on_disconnected("dial_error" if exc else "connection_closed")

    async def on_qr(self, _client, data: bytes) -> None:
        self.sink.on_qr(data.decode() if isinstance(data, bytes) else str(data))

    async def handle(self, _client, ev) -> None:
        """Map one neonize event onto the sink; registered for every type in HANDLED."""
        if isinstance(ev, PairStatusEv):
            if ev.Status == PAIR_SUCCESS and ev.ID.User:
                self.store.save_session(
                    self.organization_id, creds={"jid": ev.ID.User, "server": ev.ID.Server or "s.whatsapp.net"}
                )
                self.sink.on_paired(from_digits(ev.ID.User))
            else:
                log.warning("pairing failed", extra={"organization_id": self.organization_id, "error": ev.Error})
        elif isinstance(ev, (ConnectedEv, KeepAliveRestoredEv)):
            me = getattr(self.client, "me", None) if self.client else None
            if me is not None and me.JID.User and not self.has_credentials():
                self.store.save_session(
                    self.organization_id, creds={"jid": me.JID.User, "server": me.JID.Server or "s.whatsapp.net"}
                )
            self.connected = True
            self.sink.on_connected(self._phone())
        elif isinstance(ev, DisconnectedEv):
            self.connected = False
            self.sink.on_disconnected("connection_lost")
        elif isinstance(ev, KeepAliveTimeoutEv):
            self.connected = False
            self.sink.on_disconnected("keepalive_timeout")
        elif isinstance(ev, LoggedOutEv):
            self.connected = False
            self._wipe()
            self.sink.on_logged_out(LOGOUT_REASONS.get(ev.Reason, "logged_out"))
        elif isinstance(ev, StreamReplacedEv):
            self.connected = False
            self.sink.on_failed("replaced")
        elif isinstance(ev, TemporaryBanEv):
            self.connected = False
            self.sink.on_failed("banned")
        elif isinstance(ev, ClientOutdatedEv):
            self.connected = False
            self.sink.on_failed("client_outdated")
        elif isinstance(ev, ConnectFailureEv):
            self.connected = False
            self.sink.on_failed("connect_failure")
        elif isinstance(ev, MessageEv):
            inbound = inbound_from_event(ev)
            if inbound is not None:
                self.sink.on_inbound(inbound)
        elif isinstance(ev, ReceiptEv):
            status = RECEIPT_STATUS.get(ev.Type)
            if status:
                for message_id in ev.MessageIDs:
                    self.sink.on_receipt(message_id, status)

    def _wipe(self) -> None:
        self.store.save_session(self.organization_id, creds=None, linked=0)

    async def _drop_client(self) -> None:
        client, self.client = self.client, None
        self._connect_task = None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.stop(), timeout=5)
        except Exception:  # noqa: BLE001 - a client that will not stop is abandoned
            log.warning("whatsmeow client did not stop", extra={"organization_id": self.organization_id})

    async def stop(self) -> None:
        self._stopping = True
        self.connected = False
        await self._drop_client()

    async def logout(self) -> None:
        self._stopping = True
        if self.client is not None and self.connected:
            try:
                await asyncio.wait_for(self.client.logout(), timeout=15)
            except Exception:  # noqa: BLE001 - unlink what we can; local keys go regardless
                log.warning("whatsmeow logout did not reach WhatsApp", extra={"organization_id": self.organization_id})
        await self.stop()
        self._wipe()

    async def send(
        self, message_id: str, phone: str, text: str, buttons: list[dict] | None, media: Media | None = None, **_extra
    ) -> str:
        if self.client is None or not self.connected:
            raise NotConnected()
        try:
            response = await self.client.send_message(build_jid(phone.lstrip("+")), text)
        except Exception as exc:  # noqa: BLE001 - SendMessageError and FFI errors alike
            raise EngineError("send_failed", str(exc)) from exc
        return response.ID

    async def pairing_code(self, phone: str) -> str:
        if self.client is None:
            raise NotConnected()
        try:
            code = await self.client.PairPhone(phone.lstrip("+"), True)
        except Exception as exc:  # noqa: BLE001
            raise EngineError("pairing_failed", str(exc)) from exc
        code = code.replace("-", "")
        return f"{code[:4]}-{code[4:]}"
