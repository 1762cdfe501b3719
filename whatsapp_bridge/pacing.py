"""Per-session send pacing: a gap with jitter, typing first, hourly and daily caps, a warm-up.

Bursts to contacts who never wrote first are what gets linked devices restricted, so every
send of a session goes through its pacer, one at a time. The figures come from the engine
(a linked device gets WAHA's 30-60 s), then the environment, then the organization.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

DAY = 86_400


@dataclass(frozen=True)
class PacingConfig:
    min_gap_ms: int = 3000
    jitter_ms: int = 2000
    hourly_cap: int = 60
    daily_cap: int = 0
    typing_ms: int = 0
    # A newly linked number starts at warmup_start sends a day and reaches daily_cap after
    # warmup_days days.
    warmup_days: int = 0
    warmup_start: int = 0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict:
        return asdict(self)


def resolve(engine_defaults: dict, env_values: dict, overrides: dict) -> PacingConfig:
    """Engine defaults, then what the environment sets, then the organization's own values."""
    merged: dict = {}
    for layer in (engine_defaults, env_values, overrides):
        merged.update({k: int(v) for k, v in (layer or {}).items() if k in PacingConfig.names() and v is not None})
    return PacingConfig(**merged)


def daily_limit(config: PacingConfig, linked_at: float | None, now: float | None = None) -> int:
    """Today's cap: the warm-up ramp for a number linked less than warmup_days ago."""
    cap = config.daily_cap
    if not config.warmup_days or linked_at is None:
        return cap
    day = int(((now if now is not None else time.time()) - linked_at) // DAY)
    if day >= config.warmup_days:
        return cap
    start = max(1, config.warmup_start)
    ceiling = cap or max(start, 1)
    return max(1, min(ceiling, start + (ceiling - start) * day // config.warmup_days))


class Pacer:
    def __init__(
        self,
        min_gap_ms: int,
        jitter_ms: int,
        hourly_cap: int,
        clock=time.monotonic,
        daily_cap: Callable[[], int] | int = 0,
    ):
        self.clock = clock
        self.configure(min_gap_ms, jitter_ms, hourly_cap, daily_cap)
        self._last: float | None = None
        self._next_gap = self._draw_gap()
        self._window: deque[float] = deque()
        self._day: deque[float] = deque()

    def configure(self, min_gap_ms: int, jitter_ms: int, hourly_cap: int, daily_cap: Callable[[], int] | int = 0):
        """New figures; what was already sent in the last hour and day still counts."""
        self.min_gap = max(0, min_gap_ms) / 1000
        self.jitter = max(0, jitter_ms) / 1000
        self.cap = max(0, hourly_cap)
        self._daily_cap = daily_cap if callable(daily_cap) else (lambda value=daily_cap: value)
        self._next_gap = self._draw_gap()

    @property
    def daily_cap(self) -> int:
        return max(0, self._daily_cap())

    def _draw_gap(self) -> float:
        if self.min_gap == 0 and self.jitter == 0:
            return 0.0
        return self.min_gap + random.uniform(0, self.jitter)

    def _trim(self, now: float) -> None:
        while self._window and now - self._window[0] >= 3600:
            self._window.popleft()
        while self._day and now - self._day[0] >= DAY:
            self._day.popleft()

    def cap_reached(self) -> bool:
        self._trim(self.clock())
        daily = self.daily_cap
        return bool((self.cap and len(self._window) >= self.cap) or (daily and len(self._day) >= daily))

    def sent_today(self) -> int:
        self._trim(self.clock())
        return len(self._day)

    def wait_time(self) -> float:
        now = self.clock()
        wait = 0.0
        if self._last is not None:
            wait = max(wait, self._last + self._next_gap - now)
        self._trim(now)
        if self.cap and len(self._window) >= self.cap:
            wait = max(wait, self._window[0] + 3600 - now)
        daily = self.daily_cap
        if daily and len(self._day) >= daily:
            wait = max(wait, self._day[len(self._day) - daily] + DAY - now)
        return wait

    async def wait(self) -> None:
        while (delay := self.wait_time()) > 0:
            await asyncio.sleep(min(delay, 60))

    def record(self) -> None:
        now = self.clock()
        self._last = now
        self._next_gap = self._draw_gap()
        if self.cap:
            self._window.append(now)
        self._day.append(now)
