"""One session per organization: the state machine, QR expiry, backoff, paced and queued sends.

Engines report raw facts through the Sink methods (on_*); this module turns them into the
states of DESIGN.md, persists them, and emits the events Django consumes.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import segno

from .config import Settings
from .engines.base import Engine, EngineError, Inbound, Media, NotConnected
from .events import EventQueue
from .logs import org_logger
from .media import MediaRejected, check, public
from .pacing import Pacer, PacingConfig, daily_limit, resolve
from .store import Store

STATUSES = ("disconnected", "connecting", "qr_ready", "connected", "reconnecting", "logged_out", "failed")
ACTIVE = ("connecting", "qr_ready", "connected", "reconnecting")
SEND_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3}


class BridgeStopping(Exception):
    """The bridge is shutting down; the caller should send again in a moment (answered as 503)."""


class SessionError(Exception):
    """A request the session refuses in its current state (answered as 409)."""

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.message = message
        self.status = status


def qr_png_data_url(text: str) -> str:
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=6, border=2)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def numbered_fallback(text: str, buttons: list[dict]) -> str:
    lines = "\n".join(f"{i}. {b['title']}" for i, b in enumerate(buttons, start=1))
    return f"{text}\n\n{lines}"


_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def match_button(text: str, buttons: list[dict]) -> str | None:
    m = _CHOICE.match(text or "")
    if m:
        idx = int(m.group(1))
        return buttons[idx - 1]["id"] if 1 <= idx <= len(buttons) else None
    folded = (text or "").strip().casefold()
    for b in buttons:
        if folded and folded == b["title"].strip().casefold():
            return b["id"]
    return None


class Session:
    def __init__(self, manager: SessionManager, organization_id: str, engine_name: str, row: dict | None = None):
        self.manager = manager
        self.settings: Settings = manager.settings
        self.store: Store = manager.store
        self.events: EventQueue = manager.events
        self.org = organization_id
        self.engine_name = engine_name
        self.log = org_logger("whatsapp_bridge.session", organization_id)
        self.status = "disconnected"
        self.reason: str | None = None
        self.phone_number: str | None = None
        self.reason_detail: dict | None = None
        if row:
            self.status, self.reason, self.phone_number = row["status"], row["reason"], row["phone_number"]
        self.region: str = (row or {}).get("region") or self.settings.default_region
        self.qr_text: str | None = None
        self.qr_png: str | None = None
        self.qr_expires_at: float | None = None
        self.qr_index = 0
        self._qr_deadline: float | None = None
        self.attempts = 0
        self.pacing_config = PacingConfig()
        self.pacer = Pacer(0, 0, 0)
        self.send_lock = asyncio.Lock()
        # False only once the store said this session has no queued send, until one is queued again
        # (every write of a `queued` status goes through _queue_again or the queued insert): most sends
        # then skip the backlog look-up.
        self._maybe_queued = True
        # Counts logouts and failures: a send that waited across one (even if relinked since) fails.
        self.unlinks = 0
        self.unlinked: tuple[str, str | None] = ("logged_out", None)
        self._timers: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self.engine: Engine = manager.make_engine(engine_name, organization_id, self)
        self.apply_pacing()

    def apply_pacing(self) -> None:
        """Engine defaults, then the environment, then this organization's own figures."""
        if not getattr(self.engine, "paced", True):
            # The gap and the caps protect linked devices; the Cloud API has Meta's own limits.
            self.pacing_config = resolve({}, {}, {})
            self.pacer.configure(0, 0, 0)
            return
        config = resolve(
            getattr(self.engine, "pacing_defaults", {}),
            self.settings.pacing_env,
            self.store.pacing(self.org),
        )
        self.pacing_config = config
        self.pacer.configure(
            config.min_gap_ms,
            config.jitter_ms,
            config.hourly_cap,
            lambda: daily_limit(config, getattr(self.engine, "linked_at", None)),
        )

    # helpers
    def _spawn(self, coro, name: str | None = None) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _timer(self, key: str, delay: float, fn: Callable[[], Any]) -> None:
        self._cancel(key)

        async def run():
            await asyncio.sleep(delay)
            self._timers.pop(key, None)
            result = fn()
            if asyncio.iscoroutine(result):
                await result

        self._timers[key] = self._spawn(run(), name=f"{key}-{self.org}")

    def _cancel(self, key: str) -> None:
        task = self._timers.pop(key, None)
        if task and task is not asyncio.current_task():
            task.cancel()

    def _clear_qr(self) -> None:
        self.qr_text = self.qr_png = self.qr_expires_at = None
        self.qr_index = 0

    def _set(self, status: str, reason: str | None = None, detail: dict | None = None) -> None:
        changed = (status, reason) != (self.status, self.reason)
        self.status, self.reason = status, reason
        self.reason_detail = detail
        self.store.save_session(
            self.org,
            engine=self.engine_name,
            status=status,
            reason=reason,
            phone_number=self.phone_number,
            linked=int(self.engine.has_credentials()),
            region=self.region,
        )
        if not changed:
            return
        self.log.info("session status", extra={"status": status, "reason": reason})
        self.events.emit(
            self.org,
            "session.status",
            {"status": status, "reason": reason, "phone_number": self.phone_number}
            | ({"detail": detail} if detail else {}),
        )
        if status in ("logged_out", "failed"):
            self.unlinked = (status, reason)
            self.unlinks += 1
            why = reason + (" " + json.dumps(detail, sort_keys=True) if detail else "") if reason else ""
            self._fail_queued(f"session_{status}", f"session is {status}" + (f" ({why})" if why else ""))

    @property
    def linked(self) -> bool:
        return self.engine.has_credentials()

    def public_status(self) -> dict[str, Any]:
        return {
            "organization_id": self.org,
            "status": self.status,
            "reason": self.reason,
            "has_qr": self.status == "qr_ready" and self.qr_text is not None,
            "phone_number": self.phone_number,
            "reason_detail": self.reason_detail,
            "engine": self.engine_name,
            "capabilities": self.engine.capabilities(),
        }

    # lifecycle
    async def start(self) -> None:
        if self.status in ACTIVE:
            return
        self.attempts = 0
        self._qr_deadline = None
        self._cancel("reconnect")
        self._clear_qr()
        self._set("connecting")
        await self._engine_start()

    async def _engine_start(self) -> None:
        try:
            await self.engine.start()
        except EngineError as exc:
            self.log.warning("engine start failed", extra={"error_code": exc.code, "error": exc.message})
            self.on_disconnected(exc.code)

    async def logout(self) -> None:
        for key in list(self._timers):
            self._cancel(key)
        try:
            await self.engine.logout()
        finally:
            self._clear_qr()
            self.phone_number = None
            self._set("logged_out", "logout")

    async def close(self) -> None:
        for key in list(self._timers):
            self._cancel(key)
        for task in list(self._tasks):
            task.cancel()
        try:
            await asyncio.wait_for(self.engine.stop(), timeout=5)
        except Exception:  # noqa: BLE001 - shutting down; a stuck engine must not block exit
            self.log.warning("engine did not stop cleanly")

    async def pairing_code(self, phone: str) -> str:
        if self.status != "qr_ready":
            raise SessionError("a pairing code can only be requested while the QR is showing", self.status)
        return await self.engine.pairing_code(phone)

    # sink: what the engine reports
    def on_qr(self, qr_text: str) -> None:
        now = time.time()
        if self._qr_deadline is None:
            self._qr_deadline = now + self.settings.qr_total_ms / 1000
            self._timer("qr", self.settings.qr_total_ms / 1000, self._qr_expired)
            self.qr_index = 0
            lifetime = self.settings.qr_first_ms / 1000
        else:
            lifetime = self.settings.qr_rotation_ms / 1000
        if now >= self._qr_deadline:
            return
        self.qr_index += 1
        self.qr_text = qr_text
        self.qr_png = qr_png_data_url(qr_text)
        self.qr_expires_at = min(now + lifetime, self._qr_deadline)
        self._set("qr_ready")

    async def _qr_expired(self) -> None:
        if self.linked or self.status not in ("qr_ready", "connecting", "reconnecting"):
            return
        self._cancel("reconnect")
        await self.engine.stop()
        self._clear_qr()
        self._set("failed", "qr_expired")

    def on_paired(self, phone_number: str | None) -> None:
        self._cancel("qr")
        self._qr_deadline = None
        self._clear_qr()
        if phone_number:
            self.phone_number = phone_number
        self._set("connecting")

    def on_connected(self, phone_number: str | None) -> None:
        self._cancel("qr")
        self._cancel("reconnect")
        self._cancel("reconnect_grace")
        self._qr_deadline = None
        self._clear_qr()
        self.attempts = 0
        if phone_number:
            self.phone_number = phone_number
        self._set("connected")
        self.kick_outbox()

    def on_disconnected(self, reason: str) -> None:
        if self.status in ("disconnected", "logged_out", "failed"):
            return
        self.attempts += 1
        if self.attempts > self.settings.reconnect_max_attempts:
            self.log.warning("giving up reconnecting", extra={"attempts": self.attempts - 1})
            self._cancel("qr")
            self._spawn(self.engine.stop())
            self._clear_qr()
            self._set("failed", "retries_exhausted")
            return
        base = self.settings.reconnect_base_ms / 1000
        delay = min(self.settings.reconnect_max_ms / 1000, base * 2 ** (self.attempts - 1))
        delay *= random.uniform(0.8, 1.2)
        self.log.info(
            "connection dropped", extra={"reason": reason, "attempt": self.attempts, "retry_in_s": round(delay, 3)}
        )
        self._clear_qr()
        self._set("reconnecting")
        self._timer("reconnect", delay, self._reconnect)

    async def _reconnect(self) -> None:
        if self.status in ("disconnected", "logged_out", "failed", "connected"):
            return
        self._cancel("reconnect_grace")
        await self._engine_start()

    def on_logged_out(self, reason: str) -> None:
        for key in list(self._timers):
            self._cancel(key)
        self._clear_qr()
        self.phone_number = None
        self._set("logged_out", reason)

    def on_reconnecting(self, reason: str) -> None:
        """The engine reconnects by itself (whatsmeow does): show it, and only step in when it
        has not managed within the grace period."""
        if self.status in ("disconnected", "logged_out", "failed"):
            return
        self.log.info("engine reconnecting by itself", extra={"reason": reason})
        self._set("reconnecting")
        if "reconnect_grace" not in self._timers:
            self._timer("reconnect_grace", self.settings.reconnect_grace_ms / 1000, self._reconnect_stalled)

    def _reconnect_stalled(self) -> None:
        if self.status == "reconnecting":
            self.on_disconnected("reconnect_stalled")

    def on_failed(self, reason: str, detail: dict | None = None) -> None:
        for key in list(self._timers):
            self._cancel(key)
        self._spawn(self.engine.stop())
        self._clear_qr()
        self._set("failed", reason, detail)

    def on_receipt(self, whatsapp_id: str, status: str) -> None:
        self.on_receipts([(whatsapp_id, status)])

    def on_receipts(self, receipts: list[tuple[str, str]]) -> None:
        """(whatsapp_id, status) pairs, in the order they happened: a statement and a transaction of
        events per status in the batch, lower statuses first (a message's `delivered` before its
        `read`). Only forward, never out of `failed`."""
        for status in sorted({s for _wid, s in receipts}, key=lambda s: SEND_RANK.get(s, 0)):
            rank = SEND_RANK.get(status, 0)
            before = tuple(name for name, r in SEND_RANK.items() if r < rank)
            ids = [wid for wid, s in receipts if s == status]
            moved = self.store.advance_sends(self.org, ids, status, before)
            datas = [self._status_data({**row, "status": status}) for row in moved]
            self.events.emit_many(self.org, "message.status", datas)

    def on_send_failed(self, whatsapp_id: str, code: str, error: str) -> None:
        """The network gave up on a message it had accepted (the Cloud API's `failed` status)."""
        row = self.store.send_by_engine_id(self.org, whatsapp_id)
        if row is None or row["status"] in ("failed", "delivered", "read"):
            return
        self.store.update_send(row["message_id"], status="failed", error_code=code, error=error)
        self._emit_status({**row, "status": "failed"}, code, error)

    def on_inbound(self, message: Inbound) -> None:
        button_id = message.button_id
        if button_id is None and not self.engine.native_buttons:
            menu = self.store.menu(self.org, message.phone)
            if menu:
                button_id = match_button(message.text, menu)
        data = {
            "message_id": message.whatsapp_id,
            "from": message.phone,
            "text": message.text,
            "button_id": button_id,
            "push_name": message.push_name,
            "timestamp": message.timestamp,
            "reply_to": self._quoted(message.reply_to),
            "media": None,
        }
        if message.media is not None:
            data.update(self._inbound_media(message.media))
        self.log.info(
            "inbound message", extra={"has_button": button_id is not None, "has_media": data["media"] is not None}
        )
        self.events.emit(self.org, "message.inbound", data)

    def _quoted(self, engine_id: str | None) -> str | None:
        """Our message_id for a quoted send; a quoted inbound message keeps its WhatsApp id."""
        if not engine_id:
            return None
        row = self.store.send_by_engine_id(self.org, engine_id)
        return row["message_id"] if row else engine_id

    def _inbound_media(self, media: Media) -> dict:
        # A patient cannot be answered with a 4xx: refused media still reaches the clinic as
        # a message saying what was refused, and nothing of it is stored.
        try:
            media.mime_type = check(media.kind, media.mime_type, media.data, self.settings.max_media_bytes)
        except MediaRejected as exc:
            self.log.warning("inbound media refused", extra={"kind": media.kind, "reason": exc.message})
            return {"media_rejected": {"kind": media.kind, "mime_type": media.mime_type, "error": exc.message}}
        return {"media": public(self.manager.media.save(self.org, media, "in"))}

    # sends
    def _emit_status(self, row: dict, error_code: str | None = None, error: str | None = None) -> None:
        self.events.emit(self.org, "message.status", self._status_data(row, error_code, error))

    @staticmethod
    def _status_data(row: dict, error_code: str | None = None, error: str | None = None) -> dict:
        return {
            "message_id": row["message_id"],
            "client_message_id": row["client_message_id"],
            "phone": row["phone"],
            "status": row["status"],
            "error_code": error_code,
            "error": error,
        }

    def _fail_queued(self, code: str, error: str) -> None:
        for row in self.store.queued_sends(self.org):
            self._fail_send(row, code, error)

    async def send(
        self,
        phone: str,
        text: str,
        buttons: list[dict] | None,
        client_message_id: str | None,
        media: Media | None = None,
        extra: dict | None = None,
        deliver_before: float | None = None,
    ):
        """Returns (http_status, body). `media` has been checked (type and size) by the caller.

        `extra` (a template, a list) is kept with the row, for engines that use it. The row is
        recorded before anything is attempted; it says "sent" only once the engine took the
        message, so a retry of the same `client_message_id` after a crash sends it.
        """
        async with self.send_lock:
            return await self._send_locked(phone, text, buttons, client_message_id, media, extra, deliver_before)

    async def send_batch(self, messages: list[dict]) -> list[tuple[int, dict]]:
        """Many messages of this organization in one call, each as send() would take it: one
        (http_status, body) per message, in order. Under one hold of the send lock, so the batch goes
        out in its order; when pacing asks for a wait, the rest are queued (202) instead of keeping
        the caller waiting, and the outbox sends them paced (each reported by a status event)."""
        async with self.send_lock:
            self._require_sendable()
            return [
                await self._send_locked(
                    m["phone"], m["text"], m.get("buttons"), m["client_message_id"], None, m.get("extra"),
                    deliver_before=m.get("deliver_before"), queue_when_paced=True,
                )
                for m in messages
            ]

    async def _send_locked(
        self,
        phone: str,
        text: str,
        buttons: list[dict] | None,
        client_message_id: str | None,
        media: Media | None = None,
        extra: dict | None = None,
        deliver_before: float | None = None,
        queue_when_paced: bool = False,
    ):
        metrics = self.manager.metrics
        if client_message_id:
            prior = self.store.send_by_client_id(self.org, client_message_id)
            if prior and prior["status"] != "failed":
                metrics.sends.labels(self.engine_name, "duplicate").inc()
                return await self._answer_retry(prior)
            if prior:
                self.store.delete_send(prior["message_id"])
        self._require_sendable()
        row = {
            "message_id": uuid.uuid4().hex,
            "organization_id": self.org,
            "client_message_id": client_message_id,
            "phone": phone,
            "text": text,
            "buttons": buttons or None,
            "extra": extra or None,
            "status": "queued",
            "first_status": "queued",
            "first_code": 202,
            "deliver_before": deliver_before,
        }
        if media is not None:
            # Kept as a file so that a queued or retried send still has its bytes.
            row["media_id"] = self.manager.media.save(self.org, media, "out")["media_id"]
        backlog = self._has_backlog()
        paced = queue_when_paced and self.pacer.wait_time() > 0
        if self.status != "connected" or backlog or paced or self.pacer.cap_reached():
            self._maybe_queued = True
            self.store.insert_send(row)
            metrics.sends.labels(self.engine_name, "queued").inc()
            self.log.info("send queued", extra={"message_id": row["message_id"], "session_status": self.status})
            self.kick_outbox()
            return 202, {"message_id": row["message_id"], "status": "queued"}
        if self._ready_now():
            # Nothing to wait for: the row is written as handed over at once, one statement where an
            # insert and an update were two. Nothing suspends between here and the engine's call but
            # the wait for the record to be on disk, as when it was an update.
            row = self.store.insert_send({**row, "status": "sending", "attempted_at": time.time()})
        else:
            row = self.store.insert_send({**row, "status": "sending"})
        return await self._send_now(row)

    def _has_backlog(self) -> bool:
        if self._maybe_queued:
            self._maybe_queued = self.store.has_queued_sends(self.org)
        return self._maybe_queued

    def _queue_again(self, message_id: str, **fields) -> None:
        """Back to the outbox (sent by it, or by a retry of its id)."""
        self._maybe_queued = True
        self.store.update_send(message_id, status="queued", **fields)

    def _ready_now(self) -> bool:
        """_send_now would hand the send over without waiting (no pacing slot to wait for)."""
        return not self.manager.stopping.is_set() and self.pacer.wait_time() <= 0

    async def _wait_slot(self) -> bool:
        """The pacer's wait, cut short when the bridge is stopping (then False)."""
        stopping = self.manager.stopping
        if stopping.is_set():
            return False
        if self.pacer.wait_time() <= 0:
            return True
        pacing = asyncio.ensure_future(self.pacer.wait())
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({pacing, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            pacing.cancel()
            stop.cancel()
        return not stopping.is_set()

    def _require_sendable(self) -> None:
        can_queue = self.status in ("reconnecting", "connecting") and self.linked
        if self.status != "connected" and not can_queue:
            raise SessionError("session is not linked" if not self.linked else f"session is {self.status}", self.status)

    async def _answer_retry(self, prior: dict):
        """A repeated `client_message_id`: the first outcome if there is one, else the send is made now."""
        if prior["sent_at"] is not None or SEND_RANK.get(prior["status"], 0) >= SEND_RANK["sent"]:
            return 200, {"message_id": prior["message_id"], "status": "sent"}
        if self.status != "connected" or self.pacer.cap_reached():
            self._require_sendable()
            return 202, {"message_id": prior["message_id"], "status": "queued"}
        self.store.update_send(prior["message_id"], status="sending")
        return await self._send_now({**prior, "status": "sending"})

    async def _send_now(self, row: dict):
        """Wait for the pacing slot, then hand the recorded row to the engine.

        `row` is the send as it was recorded: under the send lock nothing else changes a `sending`
        row before the engine has its id, so it is not read back."""
        message_id = row["message_id"]
        unlinks = self.unlinks
        if not await self._wait_slot():
            # Stopping: the row goes back to the outbox (sent after the restart, or by a retry).
            self._queue_again(message_id)
            raise BridgeStopping()
        if self.unlinks != unlinks:
            # Logged out or failed during the wait (perhaps relinked since): the queued sends were
            # failed then, and this one is too, never sent after a relink with no re-check.
            status, reason = self.unlinked
            self._fail_send(
                row,
                f"session_{status}",
                f"session was {status} while the send waited" + (f" ({reason})" if reason else ""),
            )
            raise SessionError(f"session was {status} while the send waited", self.status)
        if self.status != "connected":
            if self.status in ("reconnecting", "connecting") and self.linked:
                self._queue_again(message_id)
                return 202, {"message_id": message_id, "status": "queued"}
            self._fail_send(row, f"session_{self.status}", f"session is {self.status}")
            raise SessionError(f"session is {self.status}", self.status)
        if self._expired(row):
            return self._failed_answer(row)
        outcome = await self._deliver(row)
        if outcome == "sent":
            return 200, {"message_id": message_id, "status": "sent"}
        if outcome == "queued":
            return 202, {"message_id": message_id, "status": "queued"}
        return self._failed_answer(row)

    @staticmethod
    def _failed_answer(row: dict):
        """`row` as _fail_send left it (its error and code are those just written)."""
        return 502, {
            "error": row.get("error") or "send failed",
            "error_code": row.get("error_code"),
            "message_id": row["message_id"],
            "status": "failed",
        }

    def _fail_send(self, row: dict, code: str, error: str) -> None:
        self.store.update_send(row["message_id"], status="failed", error_code=code, error=error)
        # The caller's copy says what was written: its answer is made from it, not from a re-read.
        row.update(status="failed", error_code=code, error=error)
        self._emit_status(row, code, error)
        self.manager.metrics.sends.labels(self.engine_name, "failed").inc()
        self.log.warning("send failed", extra={"message_id": row["message_id"], "error_code": code})

    def _expired(self, row: dict) -> bool:
        """Past its `deliver_before`: failed (and reported) instead of sent late."""
        deadline = row.get("deliver_before")
        if deadline is None or time.time() < deadline:
            return False
        self._fail_send(
            row, "deadline_passed", f"not sent before its deliver_before deadline ({iso_from_epoch(deadline)})"
        )
        return True

    def fail_expired(self) -> None:
        for row in self.store.queued_sends(self.org):
            self._expired(row)

    def recover_interrupted(self) -> None:
        """At boot: every row a stopped bridge left `sending` is settled before anything else is sent.

        Never handed to the engine: queued again (sent by the outbox, or by a retry of its id).
        Handed over with an unknown outcome: sent if the engine knows it went out, else failed with
        a reason; sending it again could reach the patient twice.
        """
        for row in self.store.interrupted_sends(self.org):
            if row["attempted_at"] is None:
                self._queue_again(row["message_id"])
                self.log.info("interrupted send queued again", extra={"message_id": row["message_id"]})
                continue
            engine_id = self.engine.sent_id(row["message_id"])
            if engine_id:
                self.store.update_send(row["message_id"], status="sent", engine_id=engine_id, sent_at=time.time())
                self._emit_status({**row, "status": "sent"})
            else:
                self._fail_send(
                    row,
                    "send_interrupted",
                    "the bridge stopped while handing this message over; it may not have been sent",
                )

    async def _deliver(self, row: dict) -> str:
        """Send one stored row through the engine; 'sent', 'queued' (engine offline) or 'failed'."""
        metrics = self.manager.metrics
        buttons = row["buttons"]
        if isinstance(buttons, str):
            buttons = json.loads(buttons)
        text = row["text"]
        if buttons and not self.engine.native_buttons:
            text = numbered_fallback(text, buttons)
            self.store.set_menu(self.org, row["phone"], buttons)
        media = None
        if row.get("media_id"):
            media = self.manager.media.load(self.org, row["media_id"])
            if media is None:
                missing = "the media file of this send is gone"
                self.store.update_send(row["message_id"], status="failed", error_code="media_missing", error=missing)
                row.update(status="failed", error_code="media_missing", error=missing)
                self._emit_status(row, "media_missing", missing)
                return "failed"
        started = time.monotonic()
        extra = row.get("extra")
        extra = json.loads(extra) if isinstance(extra, str) else (extra or {})
        if row.get("status") != "sending" or row.get("attempted_at") is None:
            self.store.update_send(row["message_id"], status="sending", attempted_at=time.time())
        # On disk before anything leaves: a send is never attempted without its record.
        await self.store.durable()
        try:
            engine_id = await self.engine.send(
                row["message_id"], row["phone"], text, buttons or None, media=media, **extra
            )
        except NotConnected:
            self._queue_again(row["message_id"], attempted_at=None)
            return "queued"
        except EngineError as exc:
            self.pacer.record()
            self._fail_send(row, exc.code, exc.message)
            return "failed"
        self.pacer.record()
        metrics.send_latency.labels(self.engine_name).observe(time.monotonic() - started)
        metrics.sends.labels(self.engine_name, "sent").inc()
        self.store.record_sent(row["message_id"], engine_id)
        self._emit_status({**row, "status": "sent"})
        self.log.info("message sent", extra={"message_id": row["message_id"]})
        return "sent"

    def kick_outbox(self) -> None:
        if self.status == "connected" and "outbox" not in self._timers:
            self._timers["outbox"] = self._spawn(self._drain(), name=f"outbox-{self.org}")

    async def _drain(self) -> None:
        try:
            while self.status == "connected":
                # The pacing wait (up to an hour once the hourly cap is reached) is made without the
                # send lock: a send arriving meanwhile is answered at once (queued behind this backlog)
                # instead of waiting for the lock until the slot opens.
                if (delay := self.pacer.wait_time()) > 0:
                    await asyncio.sleep(min(delay, 60))
                    continue
                async with self.send_lock:
                    if self.pacer.wait_time() > 0:
                        continue
                    row = self.store.next_queued_send(self.org)
                    if row is None:
                        self._maybe_queued = False
                        return
                    if self._expired(row):
                        continue
                    if self.status != "connected":
                        return
                    if await self._deliver(row) == "queued":
                        return
        finally:
            if self._timers.get("outbox") is asyncio.current_task():
                self._timers.pop("outbox", None)


def iso_from_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


class SessionManager:
    def __init__(
        self, settings: Settings, store: Store, events: EventQueue, metrics, engine_factories: dict, media=None
    ):
        self.settings = settings
        self.store = store
        self.media = media
        self.events = events
        self.metrics = metrics
        self.engine_factories = engine_factories
        self.sessions: dict[str, Session] = {}
        self._expiry_task: asyncio.Task | None = None
        self.stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def begin_stop(self) -> None:
        """Called from the signal handler: safe from any thread."""
        self._loop.call_soon_threadsafe(self.stopping.set)

    def make_engine(self, name: str, organization_id: str, sink) -> Engine:
        return self.engine_factories[name](organization_id, sink)

    async def boot(self) -> None:
        for row in self.store.sessions():
            engine = row["engine"] if row["engine"] in self.engine_factories else self.settings.default_engine
            session = Session(self, row["organization_id"], engine, row)
            self.sessions[session.org] = session
            session.recover_interrupted()
            if session.linked:
                session.status = "disconnected"
                await session.start()
            elif session.status in ACTIVE:
                session._set("disconnected")
        self._expiry_task = asyncio.get_running_loop().create_task(self._fail_expired_sends(), name="send-expiry")

    async def _fail_expired_sends(self) -> None:
        """Queued sends past their deliver_before fail while they wait, not only when the outbox drains."""
        while True:
            await asyncio.sleep(1)
            for org in {row["organization_id"] for row in self.store.expired_queued_sends(time.time())}:
                session = self.sessions.get(org)
                if session is not None:
                    session.fail_expired()

    def get(self, organization_id: str) -> Session | None:
        return self.sessions.get(organization_id)

    async def start(self, organization_id: str, engine: str | None = None, region: str | None = None) -> Session:
        session = self.sessions.get(organization_id)
        if session is not None and engine and engine != session.engine_name and not session.linked:
            await session.close()
            session = None
        if session is None:
            row = self.store.session(organization_id)
            session = Session(self, organization_id, engine or self.settings.default_engine, row)
            self.sessions[organization_id] = session
        if region:
            session.region = region
            self.store.save_session(organization_id, engine=session.engine_name, region=region)
        await session.start()
        return session

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for session in self.sessions.values():
            counts[session.status] = counts.get(session.status, 0) + 1
        return counts

    async def shutdown(self) -> None:
        if self._expiry_task:
            self._expiry_task.cancel()
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
