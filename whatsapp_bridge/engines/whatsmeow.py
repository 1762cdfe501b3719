"""A real linked device through neonize (whatsmeow), run in a worker process per organization.

The bridge process never loads neonize's Go core: an uncatchable Go crash (concurrent map
writes, a nil device) would otherwise take every clinic down at once. Each organization's
client lives in `whatsmeow_worker`, one process per connection, spoken to over a socketpair;
this class is the bridge's end of it and the supervisor of that process (health pings,
timeouts on every call, a restart with the session's backoff when it dies).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid as uuidlib
from datetime import UTC, datetime
from pathlib import Path

from ..phones import from_digits
from ..store import Store
from ..workers import WorkerRegistry
from . import whatsmeow_store
from .base import Engine, EngineError, Inbound, Media, NotConnected, Sink

log = logging.getLogger("whatsapp_bridge.whatsmeow")

STREAM_LIMIT = 64 * 1024 * 1024
SPAWN_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 20.0
SEND_TIMEOUT_S = 90.0  # whatsmeow waits up to 75 s for the server's ack
STOP_TIMEOUT_S = 2.0
PING_INTERVAL_S = 30.0
REACHOUT_LOCK_S = 24 * 3600  # how long sends to new contacts pause after an error 463


class WorkerError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Worker:
    """One worker process and the request/answer traffic on its socket."""

    def __init__(self, organization_id: str, on_fact, on_exit):
        self.org = organization_id
        self.on_fact = on_fact
        self.on_exit = on_exit
        self.proc: asyncio.subprocess.Process | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.pid: int | None = None
        self.started = time.monotonic()
        self.last_pong = time.monotonic()
        self.returncode: int | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._hello: asyncio.Future | None = None
        self._tasks: set[asyncio.Task] = set()
        self.exited = asyncio.Event()
        self.ended_reported = False
        self.closing = False

    def pong_age(self) -> float:
        return round(time.monotonic() - self.last_pong, 1)

    async def spawn(self, env: dict) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "whatsapp_bridge.engines.whatsmeow_worker",
                "--fd",
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            theirs.close()
        if self.closing:
            # Stopped while the process was being created: it must not outlive the request.
            self.kill()
            await self.proc.wait()
            ours.close()
            self.exited.set()
            raise WorkerError("worker_gone", "stopped while starting")
        self.pid = self.proc.pid
        reader, self.writer = await asyncio.open_connection(sock=ours, limit=STREAM_LIMIT)
        self._hello = loop.create_future()
        self._spawn_task(self._read(reader))
        try:
            await asyncio.wait_for(asyncio.shield(self._hello), SPAWN_TIMEOUT_S)
        except TimeoutError as exc:
            self.kill()
            raise WorkerError("worker_timeout", "the worker process did not start in time") from exc

    def _spawn_task(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                body = json.loads(line)
                if "re" in body:
                    future = self._pending.pop(body["re"], None)
                    if future is not None and not future.done():
                        future.set_result(body)
                elif body.get("fact") == "hello":
                    if self._hello is not None and not self._hello.done():
                        self._hello.set_result(body)
                else:
                    try:
                        self.on_fact(body)
                    except Exception:  # one bad fact must not cut the clinic's connection
                        log.exception("fact not handled", extra={"organization_id": self.org, "fact": body.get("fact")})
        except (ConnectionError, ValueError) as exc:
            log.warning("worker stream broke", extra={"organization_id": self.org, "error": str(exc)})
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(WorkerError("worker_gone", "the worker process ended"))
            self._pending.clear()
            if self._hello is not None and not self._hello.done():
                self._hello.set_exception(WorkerError("worker_gone", "the worker process ended at start"))
            self.returncode = await self.proc.wait() if self.proc else None
            self.pid = None
            self.exited.set()
            self.on_exit(self)

    async def call(self, op: str, timeout: float = CALL_TIMEOUT_S, **args):
        if self.writer is None or self.exited.is_set():
            raise WorkerError("worker_gone", "the worker process is not running")
        self._next_id += 1
        rid = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        self.writer.write(json.dumps({"id": rid, "op": op, **args}).encode() + b"\n")
        try:
            await self.writer.drain()
            answer = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise WorkerError(f"{op}_timeout", f"{op} got no answer within {timeout:.0f} s") from exc
        except ConnectionError as exc:
            raise WorkerError("worker_gone", str(exc)) from exc
        finally:
            self._pending.pop(rid, None)
        if not answer.get("ok"):
            raise WorkerError(f"{op}_failed", answer.get("error") or f"{op} failed")
        self.last_pong = time.monotonic()
        return answer.get("result") or {}

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Ask the worker to stop its client and exit; kill it when it does not."""
        self.closing = True
        if self.exited.is_set() or self.proc is None:
            return
        with contextlib.suppress(WorkerError):
            await self.call("stop", timeout=STOP_TIMEOUT_S)
        try:
            await asyncio.wait_for(self.exited.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.kill()
            await asyncio.wait_for(self.exited.wait(), STOP_TIMEOUT_S)


def worker_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_API_KEY", "BRIDGE_EVENTS_SECRET"))}
    # neonize's Go core tags every 1:1 message as sent by a bot unless this is "off".
    env["NEONIZE_BOT_TAG"] = "off"
    env["PYTHONUNBUFFERED"] = "1"
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def send_error_code(error: str) -> str:
    """A whatsmeow send error as the reason staff see on the message."""
    text = error.lower()
    if "463" in text or "reachout" in text or "timelock" in text:
        return "reachout_timelocked"
    if "429" in text or "rate-overlimit" in text:
        return "rate_limited"
    if "timed out" in text or "timeout" in text:
        return "send_timeout"
    if "not connected" in text or "websocket not connected" in text:
        return "not_connected"
    return "send_failed"


def _now() -> float:
    return datetime.now(UTC).timestamp()


class WhatsmeowEngine(Engine):
    name = "whatsmeow"
    native_buttons = False
    supports_media = True
    media_kinds = frozenset({"image", "document", "audio", "video"})
    checks_numbers = True
    # WAHA's guidance for a linked device: 30-60 s between recipients, typing first.
    pacing_defaults = {"min_gap_ms": 30_000, "jitter_ms": 30_000, "typing_ms": 3_000}

    def __init__(
        self,
        organization_id: str,
        sink: Sink,
        store: Store,
        database_url: str,
        registry: WorkerRegistry | None = None,
        media_max_bytes: int = 16 * 1024 * 1024,
        ping_interval_s: float = PING_INTERVAL_S,
        ping_timeout_s: float = CALL_TIMEOUT_S,
    ):
        super().__init__(organization_id, sink)
        self.store = store
        self.database_url = database_url
        self.registry = registry or WorkerRegistry()
        self.media_max_bytes = media_max_bytes
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.uuid: str | None = None
        self.worker: Worker | None = None
        self._launch_task: asyncio.Task | None = None
        self.connected = False
        self._stopping = False
        self._ping_task: asyncio.Task | None = None

    # credentials: {"jid": {"user", "device", "server"}, "linked_at", "restricted_until"}
    def _creds(self) -> dict:
        creds = self.store.creds(self.organization_id) or {}
        if isinstance(creds.get("jid"), str):
            # Rows written before the device number was kept: {"jid": "573...", "server": ...}.
            creds["jid"] = {"user": creds["jid"], "device": 0, "server": creds.get("server") or "s.whatsapp.net"}
        return creds

    def _save_creds(self, **fields) -> None:
        creds = {**self._creds(), **fields}
        self.store.save_session(self.organization_id, creds=creds)

    def has_credentials(self) -> bool:
        return bool(self._creds().get("jid"))

    def _phone(self) -> str | None:
        jid = self._creds().get("jid")
        return from_digits(jid["user"]) if jid else None

    @property
    def linked_at(self) -> float | None:
        return self._creds().get("linked_at")

    # lifecycle
    async def start(self) -> None:
        await self._drop_worker()
        self._stopping = False
        creds = self._creds()
        jid = creds.get("jid")
        try:
            found = await asyncio.to_thread(whatsmeow_store.find_device, self.database_url, jid) if jid else None
            if not jid:
                await asyncio.to_thread(whatsmeow_store.prepare_sqlite, self.database_url)
        except Exception as exc:  # noqa: BLE001 - sqlite3 and psycopg errors alike: retried with backoff
            raise EngineError("store_unavailable", f"whatsmeow store: {exc}") from exc
        if jid:
            if found is None:
                # whatsmeow would panic on a JID it has no row for (NewClient(nil)): the keys
                # are gone, so this is a logged-out device, not a crash loop.
                log.warning("stored device is missing", extra={"organization_id": self.organization_id})
                self.store.save_session(self.organization_id, creds=None, linked=0)
                self.sink.on_logged_out("device_missing")
                return
            if found != jid:
                self._save_creds(jid=found)
            jid = found
        worker = Worker(self.organization_id, self._on_fact, self._on_exit)
        self.worker = worker
        self.registry.add(self.organization_id, worker)
        # Never the same uuid twice: neonize's finalizer of a dropped client calls
        # Stop(uuid), which would stop a live client that reused it.
        self.uuid = f"org-{self.organization_id}-{uuidlib.uuid4().hex[:12]}"
        # Launched in the background: a bridge booting 50 clinics answers at once, and the
        # registry's gate keeps a handful of neonize imports (0.5 s of CPU each) running at a time.
        self._launch_task = asyncio.get_running_loop().create_task(self._launch(worker, jid, self.uuid))

    async def _launch(self, worker: Worker, jid: dict | None, uuid: str) -> None:
        try:
            async with self.registry.gate():
                if worker is not self.worker:
                    return
                await worker.spawn(worker_env())
            if worker is not self.worker:
                await worker.close()
                return
            await worker.call(
                "start",
                timeout=CALL_TIMEOUT_S,
                db=whatsmeow_store.worker_dsn(self.database_url),
                jid=jid,
                uuid=uuid,
                media_max_bytes=self.media_max_bytes,
            )
        except WorkerError as exc:
            if worker is not self.worker:
                return
            log.warning("worker did not start", extra={"organization_id": self.organization_id, "error": exc.message})
            await self._drop_worker()
            self.sink.on_disconnected("worker_failed")
            return
        self._ping_task = asyncio.get_running_loop().create_task(self._ping(worker))

    async def _ping(self, worker: Worker) -> None:
        """A worker that answers no ping is wedged (a Go deadlock): kill it, the session retries."""
        while not worker.exited.is_set():
            await asyncio.sleep(self.ping_interval_s)
            try:
                await worker.call("ping", timeout=self.ping_timeout_s)
            except WorkerError as exc:
                if worker.exited.is_set():
                    return
                log.warning("worker unresponsive", extra={"organization_id": self.organization_id, "error": exc.code})
                worker.kill()
                return

    def _on_exit(self, worker: Worker) -> None:
        self.registry.remove(self.organization_id, worker)
        if worker is not self.worker:
            return
        self.worker = None
        was_connected, self.connected = self.connected, False
        if self._stopping:
            return
        if worker.returncode not in (0, None):
            self.registry.crashed(self.organization_id)
            log.error(
                "whatsmeow worker crashed",
                extra={"organization_id": self.organization_id, "returncode": worker.returncode},
            )
            self.sink.on_disconnected("worker_crashed")
        elif not worker.ended_reported:
            self.sink.on_disconnected("connection_lost" if was_connected else "connection_closed")

    async def _drop_worker(self) -> None:
        worker, self.worker = self.worker, None
        if self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None
        self.connected = False
        if worker is not None:
            try:
                await worker.close()
            except Exception:  # noqa: BLE001 - a worker that will not stop was killed
                log.warning("whatsmeow worker did not stop", extra={"organization_id": self.organization_id})

    async def _retire(self, jid: dict | None) -> None:
        """After WhatsApp unlinked the device: no idle worker left, no keys left."""
        await self.stop()
        if jid:
            await asyncio.to_thread(whatsmeow_store.delete_device, self.database_url, jid)

    async def stop(self) -> None:
        self._stopping = True
        await self._drop_worker()

    async def logout(self) -> None:
        self._stopping = True
        worker = self.worker
        if worker is not None and self.connected:
            try:
                await worker.call("logout", timeout=CALL_TIMEOUT_S)
            except WorkerError as exc:
                log.warning(
                    "whatsmeow logout did not reach WhatsApp",
                    extra={"organization_id": self.organization_id, "error": exc.code},
                )
        await self._drop_worker()
        # While reconnecting (or when WhatsApp could not be told) whatsmeow keeps its row;
        # the keys must go regardless, so delete it ourselves.
        jid = self._creds().get("jid")
        if jid:
            try:
                await asyncio.to_thread(whatsmeow_store.delete_device, self.database_url, jid)
            except Exception:  # noqa: BLE001 - the session is logged out regardless; say what is left
                log.exception("device row not deleted", extra={"organization_id": self.organization_id})
        self.store.save_session(self.organization_id, creds=None, linked=0)

    # what the worker reports
    def _on_fact(self, fact: dict) -> None:
        kind = fact.get("fact")
        sink = self.sink
        if kind == "qr":
            sink.on_qr(fact["text"])
        elif kind == "paired":
            self.store.save_session(self.organization_id, creds={"jid": fact["jid"], "linked_at": _now()})
            sink.on_paired(from_digits(fact["jid"]["user"]))
        elif kind == "pair_failed":
            log.warning("pairing failed", extra={"organization_id": self.organization_id, "error": fact.get("error")})
        elif kind == "connected":
            jid = fact.get("jid")
            if jid and jid != self._creds().get("jid"):
                self._save_creds(jid=jid, **({} if self.linked_at else {"linked_at": _now()}))
            self.connected = True
            sink.on_connected(self._phone())
        elif kind == "reconnecting":
            # whatsmeow reconnects a linked client by itself; rebuilding it here is what used
            # to crash (and it loses the store connection each time).
            self.connected = False
            sink.on_reconnecting(fact.get("reason") or "connection_lost")
        elif kind == "logged_out":
            self.connected = False
            jid = self._creds().get("jid")
            self.store.save_session(self.organization_id, creds=None, linked=0)
            sink.on_logged_out(fact.get("reason") or "logged_out")
            self._launch_task = asyncio.get_running_loop().create_task(self._retire(jid))
        elif kind == "failed":
            self.connected = False
            sink.on_failed(fact.get("reason") or "failed", fact.get("detail"))
        elif kind == "inbound":
            self._on_inbound(fact)
        elif kind == "receipt":
            for message_id in fact.get("ids", []):
                sink.on_receipt(message_id, fact["status"])
        elif kind == "ended":
            # The worker's one connection is over (a dial that failed, a stream that closed);
            # the process exits and the session's backoff starts a fresh one.
            if self.worker is not None:
                self.worker.ended_reported = True
            if self._stopping:
                return
            self.connected = False
            log.warning(
                "whatsmeow connection ended",
                extra={"organization_id": self.organization_id, "error": fact.get("error")},
            )
            sink.on_disconnected("dial_error" if fact.get("error") else "connection_closed")

    def _on_inbound(self, fact: dict) -> None:
        phone = from_digits(fact["phone_digits"]) if fact.get("phone_digits") else None
        if phone is None:
            # A LID the server gave no phone number for: passing it on as digits would invent
            # a patient. It is logged, not delivered.
            log.warning(
                "inbound from a LID without phone number", extra={"organization_id": self.organization_id}
            )
            return
        self.store.contact_seen(self.organization_id, phone)
        media = None
        raw = fact.get("media")
        if raw is not None and raw.get("data_b64"):
            media = Media(
                kind=raw["kind"],
                mime_type=raw["mimetype"].split(";")[0].strip(),
                data=base64.b64decode(raw["data_b64"]),
                filename=raw.get("filename"),
                caption=raw.get("caption") or "",
                voice=bool(raw.get("voice")),
            )
        text = fact.get("text") or ""
        if raw is not None and media is None:
            text = text or f"[{raw['kind']} not received: {raw.get('error') or 'no data'}]"
        self.sink.on_inbound(
            Inbound(
                whatsapp_id=fact["whatsapp_id"],
                phone=phone,
                text=text,
                button_id=fact.get("button_id"),
                push_name=fact.get("push_name"),
                timestamp=fact["timestamp"],
                media=media,
                reply_to=fact.get("reply_to"),
            )
        )

    # sends
    def restricted_until(self) -> float | None:
        until = self._creds().get("restricted_until")
        return until if until and until > _now() else None

    async def on_whatsapp(self, phone: str) -> bool | None:
        """Whether the number has WhatsApp; None when it could not be asked."""
        if self.worker is None or not self.connected:
            return None
        try:
            # whatsmeow wants international format with its "+" for IsOnWhatsApp.
            result = await self.worker.call("on_whatsapp", phone="+" + phone.lstrip("+"))
        except WorkerError as exc:
            log.info("number check failed", extra={"organization_id": self.organization_id, "error": exc.code})
            return None
        return bool(result.get("on_whatsapp"))

    async def send(
        self, message_id: str, phone: str, text: str, buttons: list[dict] | None, media: Media | None = None, **_extra
    ) -> str:
        worker = self.worker
        if worker is None or not self.connected:
            raise NotConnected()
        known = self.store.contact_known(self.organization_id, phone)
        if not known:
            if self.restricted_until():
                raise EngineError(
                    "reachout_timelocked",
                    "WhatsApp restricted this number from writing to new contacts (error 463); "
                    "replies to patients who wrote first still go out",
                )
            on_whatsapp = await self.on_whatsapp(phone)
            if on_whatsapp is False:
                raise EngineError("not_on_whatsapp", f"{phone} has no WhatsApp account")
        pacing = getattr(self.sink, "pacing_config", None)
        args = {"to": phone.lstrip("+"), "text": text, "typing_ms": getattr(pacing, "typing_ms", 0)}
        if media is not None:
            args["media"] = {
                "kind": media.kind,
                "mimetype": media.mime_type,
                "filename": media.filename,
                "voice": media.voice,
                "data_b64": base64.b64encode(media.data).decode(),
            }
        try:
            result = await worker.call("send", timeout=SEND_TIMEOUT_S + args["typing_ms"] / 1000, **args)
        except WorkerError as exc:
            code = "send_timeout" if exc.code == "send_timeout" else send_error_code(exc.message)
            if code == "reachout_timelocked":
                self._save_creds(restricted_until=_now() + REACHOUT_LOCK_S)
            raise EngineError(code, exc.message) from exc
        self.store.contact_seen(self.organization_id, phone)
        return result["id"]

    async def pairing_code(self, phone: str) -> str:
        if self.worker is None:
            raise NotConnected()
        try:
            result = await self.worker.call("pair", phone=phone.lstrip("+"))
        except WorkerError as exc:
            raise EngineError("pairing_failed", exc.message) from exc
        code = result["code"].replace("-", "")
        return f"{code[:4]}-{code[4:]}"
