"""neonize events as plain facts (JSON-able dicts) the bridge process understands.

This runs inside the worker process (it imports neonize, hence loads its Go core); the bridge
process only ever sees the facts, so nothing of Go lives in it.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
_BAN = TemporaryBanEv.DESCRIPTOR.fields_by_name["Code"].enum_type.values_by_number
# whatsmeow's TempBanReason numbers (101...) as WhatsApp reports them; neonize renumbers them 1...
BAN_CODES = {1: 101, 2: 102, 3: 103, 4: 104, 5: 106}


def iso(ts: int) -> str:
    seconds = ts / 1000 if ts > 10**12 else ts
    if not seconds:
        seconds = datetime.now(UTC).timestamp()
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def jid_dict(jid) -> dict:
    """A JID with its device number: resuming needs `user:device@server`, not `user@server`."""
    return {"user": jid.User, "device": int(jid.Device), "server": jid.Server or "s.whatsapp.net"}


def _context(msg):
    for field in (
        "extendedTextMessage",
        "imageMessage",
        "documentMessage",
        "audioMessage",
        "videoMessage",
        "locationMessage",
        "listResponseMessage",
        "buttonsResponseMessage",
        "templateButtonReplyMessage",
        "stickerMessage",
    ):
        if msg.HasField(field):
            return getattr(msg, field).contextInfo
    return None


# message field -> (the bridge's media kind, MIME type when WhatsApp sends none); a sticker is a webp image
MEDIA_FIELDS = {
    "imageMessage": ("image", "image/jpeg"),
    "documentMessage": ("document", "application/octet-stream"),
    "audioMessage": ("audio", "audio/ogg"),
    "videoMessage": ("video", "video/mp4"),
    "stickerMessage": ("image", "image/webp"),
}


def media_of(msg) -> dict | None:
    """What kind of attachment a message carries (the bytes are fetched separately)."""
    if msg.HasField("documentWithCaptionMessage"):
        msg = msg.documentWithCaptionMessage.message
    for field, (kind, default_type) in MEDIA_FIELDS.items():
        if not msg.HasField(field):
            continue
        m = getattr(msg, field)
        media = {
            "kind": kind,
            "mimetype": m.mimetype or default_type,
            "filename": (m.fileName or m.title or None) if field == "documentMessage" else None,
            "caption": getattr(m, "caption", "") or "",
            "size": int(m.fileLength),
        }
        if field == "audioMessage":
            media.update(voice=bool(m.PTT), seconds=int(m.seconds))
        return media
    return None


def inbound_fact(ev, resolve_lid=None) -> dict | None:
    """A MessageEv as an inbound message from a patient, or None for what the clinic ignores.

    `resolve_lid(jid) -> phone digits | None` looks a LID up in whatsmeow's LID map when the
    server sent no SenderAlt; without an answer the sender stays a LID, never a made-up phone.
    """
    info = ev.Info
    source = info.MessageSource
    if source.IsFromMe or source.IsGroup or source.Chat.Server in ("broadcast", "newsletter"):
        return None
    sender = source.Sender
    phone_digits: str | None = sender.User if sender.Server == "s.whatsapp.net" else None
    lid = None
    if sender.Server == "lid":
        lid = f"{sender.User}@lid"
        if source.SenderAlt.User and source.SenderAlt.Server == "s.whatsapp.net":
            phone_digits = source.SenderAlt.User
        elif resolve_lid is not None:
            phone_digits = resolve_lid(sender)
    msg = ev.Message
    if msg.HasField("ephemeralMessage"):
        msg = msg.ephemeralMessage.message
    media = media_of(msg)
    text = (
        msg.conversation
        or msg.extendedTextMessage.text
        or msg.buttonsResponseMessage.selectedDisplayText
        or msg.templateButtonReplyMessage.selectedDisplayText
        or msg.listResponseMessage.title
        or (media or {}).get("caption")
        or ""
    )
    button_id = (
        msg.buttonsResponseMessage.selectedButtonID
        or msg.templateButtonReplyMessage.selectedID
        or msg.listResponseMessage.singleSelectReply.selectedRowID
        or None
    )
    location = None
    if msg.HasField("locationMessage") or msg.HasField("liveLocationMessage"):
        loc = msg.locationMessage if msg.HasField("locationMessage") else msg.liveLocationMessage
        location = {
            "latitude": loc.degreesLatitude,
            "longitude": loc.degreesLongitude,
            "name": getattr(loc, "name", "") or None,
            "address": getattr(loc, "address", "") or None,
        }
        text = text or " ".join(
            p for p in (location["name"], location["address"], f"{loc.degreesLatitude},{loc.degreesLongitude}") if p
        )
    if not text and not button_id and media is None and location is None:
        return None
    context = _context(msg)
    return {
        "fact": "inbound",
        "whatsapp_id": info.ID,
        "phone_digits": phone_digits,
        "lid": lid,
        "text": text,
        "button_id": button_id,
        "push_name": info.Pushname or None,
        "timestamp": iso(info.Timestamp),
        "media": media,
        "location": location,
        "reply_to": (context.stanzaID or None) if context is not None else None,
    }


def fact_of(ev, me=None, resolve_lid=None) -> dict | None:
    """One neonize event as a fact; `me` is the client's own JID once it is known."""
    if isinstance(ev, PairStatusEv):
        if ev.Status == PAIR_SUCCESS and ev.ID.User:
            return {"fact": "paired", "jid": jid_dict(ev.ID)}
        return {"fact": "pair_failed", "error": ev.Error}
    if isinstance(ev, ConnectedEv):
        return {"fact": "connected", "jid": jid_dict(me) if me is not None and me.User else None}
    if isinstance(ev, KeepAliveRestoredEv):
        return {"fact": "connected", "jid": jid_dict(me) if me is not None and me.User else None}
    if isinstance(ev, DisconnectedEv):
        return {"fact": "reconnecting", "reason": "connection_lost"}
    if isinstance(ev, KeepAliveTimeoutEv):
        return {"fact": "reconnecting", "reason": "keepalive_timeout"}
    if isinstance(ev, LoggedOutEv):
        return {"fact": "logged_out", "reason": LOGOUT_REASONS.get(ev.Reason, "logged_out")}
    if isinstance(ev, StreamReplacedEv):
        return {"fact": "failed", "reason": "replaced"}
    if isinstance(ev, TemporaryBanEv):
        expires = datetime.now(UTC).timestamp() + int(ev.Expire)
        name = _BAN[ev.Code].name.lower() if ev.Code in _BAN else "unknown"
        return {
            "fact": "failed",
            "reason": "temporary_ban",
            "detail": {"ban_code": BAN_CODES.get(ev.Code, ev.Code), "ban_reason": name, "expires_at": iso(expires)},
        }
    if isinstance(ev, ClientOutdatedEv):
        return {"fact": "failed", "reason": "client_outdated"}
    if isinstance(ev, ConnectFailureEv):
        detail = {"code": int(ev.Reason), "message": ev.Message}
        return {"fact": "failed", "reason": "connect_failure", "detail": detail}
    if isinstance(ev, MessageEv):
        return inbound_fact(ev, resolve_lid)
    if isinstance(ev, ReceiptEv):
        status = RECEIPT_STATUS.get(ev.Type)
        if status:
            return {"fact": "receipt", "status": status, "ids": list(ev.MessageIDs)}
    return None
