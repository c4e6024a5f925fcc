"""Aggregate's first release planned at scale in this process: `plan_release` timed on a state built
here, with the process's resident memory before the plan and at its peak during it.

The third figure of `bench.aggregate`; the process's high-water mark is reset just before the plan
(`/proc/self/clear_refs`, Linux >= 4.0), so the plan's peak is its own, not the feed generation's.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.harness import rss_mib
from bench.inprocess import build_state, normalized_records, plan
from services.aggregate.planner import ReleasePlan
from services.aggregate.population import NormalizedState


@dataclass(frozen=True)
class ScaleRun:
    events: int
    records: int
    build_seconds: float  # feed, admission, normalize and state, in this process
    plan_seconds: float
    plan: ReleasePlan
    rss_before_mib: float
    plan_peak_mib: float
    run_peak_mib: float  # this process's peak before the plan (feed generation and normalizing)


def _reset_peak_rss() -> bool:
    """Resets this process's VmHWM to its current RSS (Linux >= 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def time_plan(events: int, state: NormalizedState, records: int, build_seconds: float) -> ScaleRun:
    """The first release planned on `state` (built from `records` for `events` accepted events in
    `build_seconds`), timed, with this process's memory."""
    gc.collect()
    run_peak = rss_mib().peak
    before = rss_mib().current
    if not _reset_peak_rss():
        print("note: cannot reset the peak RSS; the plan's peak is the process's", file=sys.stderr)
    started = time.perf_counter()
    p = plan(state)
    seconds = time.perf_counter() - started
    return ScaleRun(events, records, build_seconds, seconds, p, before, rss_mib().peak, run_peak)


def scale_run(events: int) -> ScaleRun:
    """`time_plan` on a state built here from `events` accepted events."""
    started = time.perf_counter()
    state, n = build_state(normalized_records(events))
    return time_plan(events, state, n, time.perf_counter() - started)
