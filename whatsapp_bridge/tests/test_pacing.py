"""Pacing of a linked device: WAHA's gaps and typing by default, daily caps and a warm-up."""

from __future__ import annotations

from whatsapp_bridge.engines.sandbox import SandboxEngine
from whatsapp_bridge.engines.whatsmeow import WhatsmeowEngine
from whatsapp_bridge.pacing import DAY, Pacer, PacingConfig, daily_limit, resolve


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_a_linked_device_waits_30_to_60_seconds_and_types_first_unless_told_otherwise():
    config = resolve(WhatsmeowEngine.pacing_defaults, {}, {})
    assert (config.min_gap_ms, config.jitter_ms, config.typing_ms) == (30_000, 30_000, 3_000)
    # The environment overrides the engine, the organization overrides both.
    config = resolve(WhatsmeowEngine.pacing_defaults, {"min_gap_ms": 45_000}, {"typing_ms": 0, "daily_cap": 50})
    assert (config.min_gap_ms, config.jitter_ms, config.typing_ms, config.daily_cap) == (45_000, 30_000, 0, 50)
    # The simulated network keeps its quick defaults.
    assert resolve(getattr(SandboxEngine, "pacing_defaults", {}), {}, {}) == PacingConfig()


def test_the_gap_between_two_sends_is_drawn_between_min_and_min_plus_jitter():
    clock = Clock()
    pacer = Pacer(30_000, 30_000, 60, clock=clock)
    assert pacer.wait_time() == 0
    pacer.record()
    assert 30 <= pacer.wait_time() <= 60
    clock.now += 61
    assert pacer.wait_time() == 0


def test_the_daily_cap_holds_sends_until_the_oldest_of_the_day_is_24_hours_old():
    clock = Clock()
    pacer = Pacer(0, 0, 0, clock=clock, daily_cap=3)
    for _ in range(3):
        pacer.record()
        clock.now += 60
    assert pacer.cap_reached() and pacer.sent_today() == 3
    assert pacer.wait_time() == DAY - 180
    clock.now += DAY - 180
    assert not pacer.cap_reached()


def test_a_new_number_warms_up_from_the_start_figure_to_the_daily_cap():
    config = PacingConfig(daily_cap=100, warmup_days=5, warmup_start=20)
    linked = 10 * DAY
    assert [daily_limit(config, linked, linked + d * DAY + 1) for d in range(7)] == [20, 36, 52, 68, 84, 100, 100]
    # A number linked before the bridge kept the date is treated as warmed up.
    assert daily_limit(config, None) == 100
