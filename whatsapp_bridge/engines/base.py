"""The interface every engine implements, and the sink through which it reports back.

Engines only report what happened on their connection; the session decides what it means
for the state machine (backoff, QR expiry, queued sends, events to Django).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol


class EngineError(Exception):
    """A send or pairing the engine could not do; `code` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class NotConnected(EngineError):
    def __init__(self, message: str = "engine is not connected"):
        super().__init__("not_connected", message)


@dataclass
class Inbound:
    whatsapp_id: str
    phone: str
    text: str
    button_id: str | None
    push_name: str | None
    timestamp: str


class Sink(Protocol):
    def on_qr(self, qr_text: str) -> None: ...
    def on_paired(self, phone_number: str | None) -> None: ...
    def on_connected(self, phone_number: str | None) -> None: ...
    def on_disconnected(self, reason: str) -> None: ...
    def on_logged_out(self, reason: str) -> None: ...
    def on_failed(self, reason: str) -> None: ...
    def on_receipt(self, whatsapp_id: str, status: str) -> None: ...
    def on_inbound(self, message: Inbound) -> None: ...


class Engine(ABC):
    name: str = ""
    native_buttons: bool = False

    def __init__(self, organization_id: str, sink: Sink):
        self.organization_id = organization_id
        self.sink = sink

    @abstractmethod
    async def start(self) -> None:
        """Connect with stored credentials, or begin showing QR codes when there are none."""

    @abstractmethod
    async def stop(self) -> None:
        """Drop the connection and keep the credentials."""

    @abstractmethod
    async def logout(self) -> None:
        """Unlink the device and delete its credentials."""

    @abstractmethod
    async def send(self, message_id: str, phone: str, text: str, buttons: list[dict] | None) -> str:
        """Send and return the engine's (WhatsApp) message id; raise EngineError on failure."""

    @abstractmethod
    async def pairing_code(self, phone: str) -> str:
        """An 8-character code that links this session when typed on the phone."""

    @abstractmethod
    def has_credentials(self) -> bool: ...
