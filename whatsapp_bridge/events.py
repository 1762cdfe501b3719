"""Events to Django: written to the durable queue first, then posted in signed batches."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
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
        event = {
            "id": uuid.uuid4().hex,
            "type": type_,
            "organization_id": organization_id,
            "timestamp": utc_now_iso(),
            "data": data,
        }
        self.store.enqueue_event(event)
        self.wakeup.set()
        return event


class Dispatcher:
    """Posts queued events oldest first; a batch is deleted only after a 2xx.

    One batch in flight at a time keeps the order of every session's events.
    """

    def __init__(self, queue: EventQueue, url: str, secret: str, batch: int, base_ms: int, max_ms: int, metrics):
        self.queue = queue
        self.url = url
        self.secret = secret
        self.batch = batch
        self.base = base_ms / 1000
        self.max = max_ms / 1000
        self.metrics = metrics
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

    async def _run(self) -> None:
        failures = 0
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
            while True:
                rows = self.queue.store.peek_events(self.batch)
                if not rows:
                    self.queue.wakeup.clear()
                    try:
                        await asyncio.wait_for(self.queue.wakeup.wait(), timeout=5)
                    except TimeoutError:
                        pass
                    continue
                body = ("[" + ",".join(r["body"] for r in rows) + "]").encode()
                ok = await self._post(client, body)
                if ok:
                    self.queue.store.ack_events(rows[-1]["seq"])
                    self.metrics.events_delivered.inc(len(rows))
                    failures = 0
                    continue
                failures += 1
                self.metrics.event_post_failures.inc()
                delay = min(self.max, self.base * 2 ** min(failures - 1, 20))
                await asyncio.sleep(delay * random.uniform(0.8, 1.0))

    async def _post(self, client: httpx.AsyncClient, body: bytes) -> bool:
        headers = {"Content-Type": "application/json", "X-Bridge-Signature": sign(body, self.secret)}
        try:
            resp = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("event receiver unreachable", extra={"error": type(exc).__name__})
            return False
        if 200 <= resp.status_code < 300:
            return True
        log.warning("event receiver refused batch", extra={"http_status": resp.status_code})
        return False


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
