"""Events to Django: written to the durable queue first, then posted in signed batches."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from .store import Store

log = logging.getLogger("whatsapp_bridge.events")


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class EventQueue:
    def __init__(self, store: Store):
        self.store = store
        self.wakeup = asyncio.Event()

    def emit(self, organization_id: str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        event = self._event(organization_id, type_, data)
        self.store.enqueue_event(event)
        self.wakeup.set()
        return event

    def emit_many(self, organization_id: str, type_: str, datas: list[dict[str, Any]]) -> None:
        """Events of one organization, in their order, written in one transaction."""
        if not datas:
            return
        self.store.enqueue_events([self._event(organization_id, type_, data) for data in datas])
        self.wakeup.set()

    @staticmethod
    def _event(organization_id: str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex,
            "type": type_,
            "organization_id": organization_id,
            "timestamp": utc_now_iso(),
            "data": data,
        }


class Dispatcher:
    """Posts queued events oldest first, one organization per batch; a batch is deleted after a 2xx.

    One batch in flight at a time keeps the order of every session's events. A batch the
    receiver refuses holds back only its organization (with backoff), and is then retried one
    event at a time; an event refused `max_attempts` times moves to the dead-letter table
    (replayed with `python -m whatsapp_bridge replay-dead-letters`). A receiver that cannot be
    reached holds back everything and counts against no event. A redirect means
    BRIDGE_EVENTS_URL is wrong: it is logged as an error and shown on /api/health.
    """

    def __init__(
        self,
        queue: EventQueue,
        url: str,
        secret: str,
        batch: int,
        base_ms: int,
        max_ms: int,
        metrics,
        max_attempts: int = 10,
    ):
        self.queue = queue
        self.url = url
        self.secret = secret
        self.batch = batch
        self.base = base_ms / 1000
        self.max = max_ms / 1000
        self.metrics = metrics
        self.max_attempts = max(1, max_attempts)
        self.config_error: str | None = None
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.url:
            self._task = asyncio.create_task(self._run(), name="event-dispatcher")
        else:
            log.warning("BRIDGE_EVENTS_URL is not set: events stay queued until it is")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def _backoff(self, failures: int) -> float:
        return min(self.max, self.base * 2 ** min(failures - 1, 20)) * random.uniform(0.8, 1.0)

    async def _idle(self, seconds: float) -> None:
        self.queue.wakeup.clear()
        try:
            await asyncio.wait_for(self.queue.wakeup.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _run(self) -> None:
        unreachable = 0
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
            while True:
                now = time.monotonic()
                waiting = tuple(org for org, at in self._retry_at.items() if at > now)
                rows = self.queue.store.peek_events(self.batch, skip_orgs=waiting)
                if not rows:
                    soonest = min((self._retry_at[o] for o in waiting), default=now + 5)
                    await self._idle(max(0.01, min(5.0, soonest - now)))
                    continue
                org = rows[0]["organization_id"]
                if self._failures.get(org):
                    rows = rows[:1]  # find the event the receiver refuses, keep the others moving
                body = ("[" + ",".join(r["body"] for r in rows) + "]").encode()
                outcome, detail = await self._post(client, body)
                if outcome == "ok":
                    self.queue.store.ack_events([r["seq"] for r in rows])
                    self.metrics.events_delivered.inc(len(rows))
                    self._failures.pop(org, None)
                    self._retry_at.pop(org, None)
                    self.config_error = None
                    unreachable = 0
                    continue
                self.metrics.event_post_failures.inc()
                if outcome == "unreachable":
                    unreachable += 1
                    await asyncio.sleep(self._backoff(unreachable))
                    continue
                unreachable = 0
                failures = self._failures[org] = self._failures.get(org, 0) + 1
                self._retry_at[org] = time.monotonic() + self._backoff(failures)
                if outcome == "refused" and len(rows) == 1:
                    self._count_refusal(rows[0], detail)

    def _count_refusal(self, row: dict, detail: str) -> None:
        attempts = self.queue.store.count_event_refusal(row["seq"])
        if attempts < self.max_attempts:
            return
        self.queue.store.dead_letter_event(row["seq"], detail)
        self._failures.pop(row["organization_id"], None)
        self._retry_at.pop(row["organization_id"], None)
        self.metrics.events_dead_lettered.inc()
        log.error(
            "event moved to the dead-letter table",
            extra={"event_id": row["id"], "attempts": attempts, "reason": detail},
        )

    async def _post(self, client: httpx.AsyncClient, body: bytes) -> tuple[str, str]:
        """('ok' | 'unreachable' | 'misconfigured' | 'refused', detail)."""
        headers = {"Content-Type": "application/json", "X-Bridge-Signature": sign(body, self.secret)}
        try:
            resp = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("event receiver unreachable", extra={"error": type(exc).__name__})
            return "unreachable", type(exc).__name__
        if 200 <= resp.status_code < 300:
            return "ok", ""
        if resp.status_code in (502, 503, 504):
            # The receiver (or its database, or the proxy before it) is down: no event is at fault.
            log.warning("event receiver unavailable", extra={"http_status": resp.status_code})
            return "unreachable", f"HTTP {resp.status_code}"
        if 300 <= resp.status_code < 400:
            # Following it would drop the POST body (or leave the loopback); it is the URL that is wrong.
            self.config_error = (
                f"the event receiver answered HTTP {resp.status_code} (redirect to "
                f"{resp.headers.get('location', '?')}): BRIDGE_EVENTS_URL must be the receiver's own URL"
            )
            log.error("BRIDGE_EVENTS_URL is misconfigured: no event is delivered", extra={"error": self.config_error})
            return "misconfigured", self.config_error
        detail = f"HTTP {resp.status_code}: {resp.text[:200]}"
        log.warning("event receiver refused batch", extra={"http_status": resp.status_code})
        return "refused", detail


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
