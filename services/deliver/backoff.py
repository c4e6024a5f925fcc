"""How long to wait before the next attempt: exponential, capped, with jitter.

Without jitter, every endpoint that failed together (a receiver's outage) would be retried together,
in lockstep, at every step. "Equal jitter" keeps half of the exponential step and draws the other
half, so the waits still grow (a receiver that is down gets fewer requests) but spread out.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(attempt: int, base: float, cap: float, draw: Callable[[], float] = random.random) -> float:
    """The wait after failed attempt `attempt` (1 = the first): with step = min(cap, base * 2^(attempt-1)),
    a value in [step/2, step). `draw` gives a uniform number in [0, 1)."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    step = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return step / 2 + step / 2 * draw()
