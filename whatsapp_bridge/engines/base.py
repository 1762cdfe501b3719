"""The interface every engine implements, and the sink through which it reports back.

Engines only report what happened on their connection; the session decides what it means
for the state machine (backoff, QR expiry, queued sends, events to Django).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, Protocol

MediaKind = Literal["image", "document", "audio", "video"]
MEDIA_KINDS: tuple[str, ...] = ("image", "document", "audio", "video")


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
class Media:
    """One attachment, going out (staff to patient) or coming in (patient to clinic).

    The bridge has already checked `data` against `mime_type` by content sniffing and against
    the size limit before an engine sees outbound media; engines hand inbound media as they
    got it and the session checks it before storing it.
    """

    kind: MediaKind
    mime_type: str
    data: bytes = field(repr=False)
    filename: str | None = None
    caption: str = ""
    # An audio sent as a push-to-talk voice note (WhatsApp's "ptt") rather than as a file.
    voice: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Inbound:
    whatsapp_id: str
    phone: str
    text: str
    button_id: str | None
    push_name: str | None
    timestamp: str
    # With media, `text` is its caption ("" when there is none).
    media: Media | None = None
    # The engine's id of the message this one quotes (a swipe-reply); the session maps it to
    # the bridge's message_id when it was one of our sends.
    reply_to: str | None = None


class Sink(Protocol):
    def on_qr(self, qr_text: str) -> None: ...
    def on_paired(self, phone_number: str | None) -> None: ...
    def on_connected(self, phone_number: str | None) -> None: ...
    def on_disconnected(self, reason: str) -> None: ...
    def on_logged_out(self, reason: str) -> None: ...
    def on_failed(self, reason: str, detail: dict | None = None) -> None: ...
    # The engine's library reconnects by itself (whatsmeow); the session only watches the clock.
    def on_reconnecting(self, reason: str) -> None: ...
    def on_receipt(self, whatsapp_id: str, status: str) -> None: ...
    # Many receipts at once, in the order they happened (the sandbox's phones read in batches).
    def on_receipts(self, receipts: list[tuple[str, str]]) -> None: ...
    def on_inbound(self, message: Inbound) -> None: ...


class Engine(ABC):
    name: str = ""
    # Capabilities: what the session may ask of this engine instead of every engine faking it.
    native_buttons: bool = False
    supports_media: bool = False
    media_kinds: frozenset[str] = frozenset()
    supports_qr: bool = True
    supports_pairing_code: bool = True
    # A Cloud API account is connected with a credentials form instead of a QR or a code.
    supports_credentials: bool = False
    supports_lists: bool = False
    supports_templates: bool = False
    # Sends of a linked device are spaced out and capped per hour (BRIDGE_SEND_*).
    paced: bool = True

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
    async def send(
        self,
        message_id: str,
        phone: str,
        text: str,
        buttons: list[dict] | None,
        media: Media | None = None,
        **extra,
    ) -> str:
        """Send and return the engine's (WhatsApp) message id; raise EngineError on failure.

        With `media`, `text` is its caption (the same as `media.caption`, possibly empty) and
        `buttons` is None. The session only passes media of a kind in `media_kinds`.
        `extra` carries what only some engines use (`template`, `list_message`); others send `text`.
        """

    @classmethod
    def capabilities(cls) -> dict:
        return {
            "native_buttons": cls.native_buttons,
            "media": sorted(cls.media_kinds) if cls.supports_media else [],
            "qr": cls.supports_qr,
            "pairing_code": cls.supports_pairing_code,
            "credentials": cls.supports_credentials,
            "lists": cls.supports_lists,
            "templates": cls.supports_templates,
        }

    @abstractmethod
    async def pairing_code(self, phone: str) -> str:
        """An 8-character code that links this session when typed on the phone."""

    @abstractmethod
    def has_credentials(self) -> bool: ...

    def sent_id(self, message_id: str) -> str | None:
        """The WhatsApp id of `message_id` if this engine knows it went out, else None (unknown).

        Asked at boot about sends the bridge was handing over when it stopped.
        """
        return None

    async def refresh_details(self) -> None:
        """Bring what describe() answers up to date (cheap when it is recent)."""
        return None

    def describe(self) -> dict:
        """Engine-specific, secret-free facts for the status answer."""
        return {}

    def window_open(self, phone: str) -> bool:
        """Whether a free-form message may go to this phone now (the Cloud API's 24 h window)."""
        return True

    def refusal(self, error_code: str | None) -> str | None:
        """The field to name when a failed send will never succeed as it is, else None (retry)."""
        return None
