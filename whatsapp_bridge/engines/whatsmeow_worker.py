"""One neonize client in its own process: `python -m whatsapp_bridge.engines.whatsmeow_worker --fd N`.

neonize's Go core keeps global maps written without a lock, panics on a missing device and
leaks a store connection per connect attempt; a process per organization and per connection
keeps all of that to one clinic. The process serves exactly one client for one connection:
when the connection ends (a dial failure, a closed stream) it reports why, and the bridge
stops it and starts a fresh process (fresh uuid, fresh store handle) for the next attempt.
whatsmeow's own reconnects of a linked client happen inside the same connection.

Protocol on the socket fd: newline-delimited JSON. Requests `{"id", "op", ...}` get
`{"re": id, "ok": true, "result"}` or `{"re": id, "ok": false, "error"}`; unsolicited facts
are `{"fact": ...}` (see whatsmeow_events).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
import sys

from ..workers import proc_figures

# The Go core reads NEONIZE_BOT_TAG when it loads; without "off" every 1:1 message carries
# <bot biz_bot="1"/>, which patients' phones show as an AI/bot label.
os.environ.setdefault("NEONIZE_BOT_TAG", "off")

log = logging.getLogger("whatsapp_bridge.whatsmeow_worker")


class Worker:
    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.client = None
        self.me = None
        self.media_max_bytes = 16 * 1024 * 1024
        self.ended = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    def emit(self, body: dict) -> None:
        self.writer.write(json.dumps(body, ensure_ascii=False).encode() + b"\n")

    # requests
    async def op_start(self, db: str, jid: dict | None, uuid: str, media_max_bytes: int | None = None):
        from neonize.aioze.client import NewAClient
        from neonize.proto.Neonize_pb2 import JID

        from .whatsmeow_events import HANDLED

        if media_max_bytes:
            self.media_max_bytes = media_max_bytes
        if jid:
            device = JID(User=jid["user"], RawAgent=0, Device=jid.get("device") or 0, Integrator=0,
                         Server=jid["server"])
            client = NewAClient(db, jid=device)
            # neonize keys the Go client by jid.User unless told otherwise; a uuid of our own
            # (new per process) keeps a finalizer of an old client from stopping this one.
            client.uuid = uuid.encode()
        else:
            client = NewAClient(db, uuid=uuid, new_device=True)
        for event_type in HANDLED:
            client.event(event_type)(self.on_event)
        client.event.qr(self.on_qr)
        self.client = client
        task = await client.connect()
        task.add_done_callback(self._connect_done)
        return {"uuid": uuid}

    def _connect_done(self, task: asyncio.Task) -> None:
        error = None
        if task.cancelled():
            error = "cancelled"
        elif task.exception() is not None:
            error = str(task.exception())
        # The process stays until the bridge stops it (it may still ask for figures), but it
        # never connects again: the next attempt is a fresh process.
        self.emit({"fact": "ended", "error": error})

    async def op_stop(self):
        if self.client is not None:
            try:
                await asyncio.wait_for(self.client.stop(), 5)
            except Exception as exc:  # noqa: BLE001 - exiting anyway
                log.warning("stop failed: %s", exc)
        self.ended.set()
        return {}

    async def op_logout(self):
        unlinked = False
        if self.client is not None:
            try:
                await asyncio.wait_for(self.client.logout(), 15)
                unlinked = True
            except Exception as exc:  # noqa: BLE001 - the bridge deletes the device row itself
                log.warning("logout did not reach WhatsApp: %s", exc)
        return {"unlinked": unlinked}

    async def op_send(self, to: str, text: str, typing_ms: int = 0, reply_to: str | None = None, media=None):
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo, ExtendedTextMessage, Message
        from neonize.utils import build_jid
        from neonize.utils.enum import ChatPresence, ChatPresenceMedia

        jid = build_jid(to)
        if typing_ms > 0:
            try:
                await self.client.send_chat_presence(
                    jid, ChatPresence.CHAT_PRESENCE_COMPOSING, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT
                )
                await asyncio.sleep(typing_ms / 1000)
                await self.client.send_chat_presence(
                    jid, ChatPresence.CHAT_PRESENCE_PAUSED, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT
                )
            except Exception as exc:  # noqa: BLE001 - typing is a courtesy, the send still goes
                log.info("typing presence failed: %s", exc)
        if media:
            message = await self._media_message(media, text)
        elif reply_to:
            message = Message(
                extendedTextMessage=ExtendedTextMessage(text=text, contextInfo=ContextInfo(stanzaID=reply_to))
            )
        else:
            message = text
        if reply_to and media:
            getattr(message, _media_field(media)).contextInfo.stanzaID = reply_to
        response = await self.client.send_message(jid, message)
        return {"id": response.ID}

    async def _media_message(self, media: dict, caption: str):
        data = base64.b64decode(media["data_b64"])
        kind = media.get("kind") or "document"
        if kind == "image":
            return await self.client.build_image_message(data, caption=caption or None)
        if kind == "audio":
            return await self.client.build_audio_message(data, ptt=bool(media.get("voice")))
        if kind == "video":
            return await self.client.build_video_message(data, caption=caption or None)
        return await self.client.build_document_message(
            data, caption=caption or None, filename=media.get("filename"), mimetype=media.get("mimetype")
        )

    async def op_pair(self, phone: str):
        return {"code": await self.client.PairPhone(phone, True)}

    async def op_on_whatsapp(self, phone: str):
        answers = await self.client.is_on_whatsapp(phone)
        return {"on_whatsapp": any(a.IsIn for a in answers)}

    async def op_ping(self):
        return {"pid": os.getpid(), **proc_figures()}

    # neonize callbacks
    async def on_qr(self, _client, data: bytes) -> None:
        self.emit({"fact": "qr", "text": data.decode() if isinstance(data, bytes) else str(data)})

    async def on_event(self, client, ev) -> None:
        from neonize.aioze.events import ConnectedEv, KeepAliveRestoredEv, MessageEv

        from .whatsmeow_events import fact_of

        if isinstance(ev, (ConnectedEv, KeepAliveRestoredEv)):
            try:
                self.me = (await client.get_me()).JID
            except Exception:  # noqa: BLE001 - the stored JID stays
                self.me = None
        pn = None
        if isinstance(ev, MessageEv):
            sender = ev.Info.MessageSource.Sender
            if sender.Server == "lid" and not ev.Info.MessageSource.SenderAlt.User:
                try:
                    found = await client.get_pn_from_lid(sender)
                    pn = found.User if found.User and found.Server == "s.whatsapp.net" else None
                except Exception:  # noqa: BLE001 - unknown LID: reported as a LID
                    pn = None
        fact = fact_of(ev, self.me, (lambda _jid: pn) if pn else None)
        if fact is None:
            return
        if fact["fact"] == "inbound" and fact["media"] is not None:
            await self._attach_media(ev, fact["media"])
        self.emit(fact)

    async def _attach_media(self, ev, media: dict) -> None:
        if media["size"] and media["size"] > self.media_max_bytes:
            media["error"] = "too_large"
            return
        try:
            data = await asyncio.wait_for(self.client.download_any(ev.Message), 60)
        except Exception as exc:  # noqa: BLE001 - the message still arrives, without its bytes
            media["error"] = f"download_failed: {exc}"[:200]
            return
        if len(data) > self.media_max_bytes:
            media["error"] = "too_large"
            return
        media["data_b64"] = base64.b64encode(data).decode()
        media["size"] = len(data)

    async def handle(self, request: dict) -> None:
        rid = request.get("id")
        op = getattr(self, f"op_{request.get('op')}", None)
        try:
            if op is None:
                raise ValueError(f"unknown op {request.get('op')!r}")
            args = {k: v for k, v in request.items() if k not in ("id", "op")}
            result = await op(**args)
            self.emit({"re": rid, "ok": True, "result": result})
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the bridge as an answer
            self.emit({"re": rid, "ok": False, "error": str(exc) or type(exc).__name__})


def _media_field(media: dict) -> str:
    return {"image": "imageMessage", "audio": "audioMessage", "video": "videoMessage"}.get(
        media.get("kind"), "documentMessage"
    )


async def serve(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=sock, limit=64 * 1024 * 1024)
    worker = Worker(writer)
    worker.emit({"fact": "hello", "pid": os.getpid(), "bot_tag": os.environ.get("NEONIZE_BOT_TAG")})

    async def read():
        try:
            while line := await reader.readline():
                task = asyncio.get_running_loop().create_task(worker.handle(json.loads(line)))
                worker._tasks.add(task)
                task.add_done_callback(worker._tasks.discard)
        finally:
            # EOF or a reset: the bridge went away, and a worker left running would be a second
            # client of the same device next to the restarted bridge's.
            worker.ended.set()

    reading = asyncio.get_running_loop().create_task(read())
    await worker.ended.wait()
    await asyncio.sleep(0.05)  # let the answer to a stop/logout go out first
    reading.cancel()
    with contextlib.suppress(Exception):  # the bridge may be gone already
        await asyncio.wait_for(writer.drain(), 2)
    # Neonize() may still block a thread inside Go, and asyncio.run would wait for it forever.
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("BRIDGE_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    asyncio.run(serve(args.fd))


if __name__ == "__main__":
    main()
