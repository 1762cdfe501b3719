"""Per-session send pacing: a minimum gap with jitter and an hourly cap.

Bursts to contacts who never wrote first are what gets linked devices restricted, so every
send of a session goes through its pacer, one at a time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque


class Pacer:
    def __init__(self, min_gap_ms: int, jitter_ms: int, hourly_cap: int, clock=time.monotonic):
        self.min_gap = max(0, min_gap_ms) / 1000
        self.jitter = max(0, jitter_ms) / 1000
        self.cap = max(0, hourly_cap)
        self.clock = clock
        self._last: float | None = None
        self._next_gap = self._draw_gap()
        self._window: deque[float] = deque()

    def _draw_gap(self) -> float:
        if self.min_gap == 0 and self.jitter == 0:
            return 0.0
        return self.min_gap + random.uniform(0, self.jitter)

    def _trim(self, now: float) -> None:
        while self._window and now - self._window[0] >= 3600:
            self._window.popleft()

    def cap_reached(self) -> bool:
        if not self.cap:
            return False
        self._trim(self.clock())
        return len(self._window) >= self.cap

    def wait_time(self) -> float:
        now = self.clock()
        wait = 0.0
        if self._last is not None:
            wait = max(wait, self._last + self._next_gap - now)
        if self.cap:
            self._trim(now)
            if len(self._window) >= self.cap:
                wait = max(wait, self._window[0] + 3600 - now)
        return wait

    async def wait(self) -> None:
        while (delay := self.wait_time()) > 0:
            await asyncio.sleep(delay)

    def record(self) -> None:
        now = self.clock()
        self._last = now
        self._next_gap = self._draw_gap()
        if self.cap:
            self._window.append(now)
