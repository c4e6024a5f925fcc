"""Python's cyclic garbage collector: paused around a computation that allocates millions of objects
which outlive it and makes no reference cycles (aggregate's plan of a release, `collector_paused`), and
tuned for a service that allocates a batch's objects by the hundred thousand (`tune_for_streaming`).

Why: CPython runs a collection every 700 net allocations of container objects, and each walks the
objects of its generation. A plan allocates millions of objects that survive it (cells, their
contributions, the messages), so the collector walks them again and again as they age into the older
generations, and a full collection walks the state too (about a GiB at a year). Reference counting
frees everything a plan discards, since a plan makes no cycles (`tests/services/test_collector.py`
shows a full collection after a plan finds nothing to free), so the pause costs no memory. Measured on
the saved state of a year (docs/aggregate.md, "Performance"): the plan took 69.7 s with the collector
and 52.6 s with it paused, the same peak.

The pause is process-wide (the collector has no other kind). It is counted: overlapping pauses (a
release in a worker thread, a test in another) switch the collector back on when the last one ends,
and only if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final


class _Pauses:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._was_enabled = False

    def begin(self) -> None:
        with self._lock:
            if self._open == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._open += 1

    def end(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open == 0 and self._was_enabled:
                gc.enable()


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection while the block runs; reference counting frees as always."""
    _PAUSES.begin()
    try:
        yield
    finally:
        _PAUSES.end()


STREAMING_THRESHOLDS: Final = (50_000, 20, 20)
"""The collector's thresholds in a streaming service's processes (CPython's default: 700, 10, 10)."""


def tune_for_streaming() -> None:
    """Collect young objects every 50,000 net allocations instead of every 700, and never walk what the
    process holds at this point (its restored state, its modules): call it once, when start-up is done.

    Why: a batch of a few thousand events makes hundreds of thousands of container objects (consumer
    records, parsed events, verdicts unpickled from the mapper processes, output records), nearly all of
    them freed by reference counting when the batch is done. At the default threshold the collector ran
    every 700 of them, walking the batch's live objects again and again, and pushed them into older
    generations whose collections walk more. py-spy cannot see that time (it is charged to whatever
    Python line allocated); `bench.normalize --events 150000`, the same code with the default thresholds
    and with these, alternating, put normalize at 16-18 % of the pass-through with the default and 26 %
    with these (docs/normalize.md, "The collector"). A service's objects make few cycles (exceptions
    and their tracebacks); those are still collected, a little later. `gc.freeze()` moves everything
    alive now into the permanent generation, which no collection walks: the state restored at start
    is never garbage as a whole, and what leaves it later is freed by reference counting.
    """
    gc.freeze()
    gc.set_threshold(*STREAMING_THRESHOLDS)
