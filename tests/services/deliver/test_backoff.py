"""Backoff: exponential, capped, jittered within [step/2, step)."""

from __future__ import annotations

import random

import pytest

from services.deliver.backoff import backoff_delay


def test_the_step_doubles_then_stops_at_the_cap() -> None:
    lows = [backoff_delay(n, 1.0, 60.0, lambda: 0.0) for n in range(1, 10)]
    assert lows == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    highs = [backoff_delay(n, 1.0, 60.0, lambda: 0.999999) for n in range(1, 4)]
    assert highs == pytest.approx([1.0, 2.0, 4.0], rel=1e-5)


def test_jitter_spreads_endpoints_that_failed_together() -> None:
    rng = random.Random(13)
    delays = [backoff_delay(4, 1.0, 60.0, rng.random) for _ in range(200)]
    assert all(4.0 <= d < 8.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 150


def test_a_huge_attempt_number_stays_at_the_cap() -> None:
    assert backoff_delay(10_000, 1.0, 300.0, lambda: 0.0) == 150.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        backoff_delay(0, 1.0, 60.0)
