"""Stage 1 in mapper processes (`mappers.ProcessPool`) gives what it gives in the service's process,
record for record and byte for byte, over a feed of both platforms with bad values mixed in; an
unexpected failure in a worker comes back as a dead-letter verdict; and a worker dies with the service.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date

import pytest

from bench.harness import descendants
from services.ingest.admit import AMFORI, SEDEX, Admitted, admit
from services.ingest.envelopes import accepted_record
from services.normalize.engine import MappedEvent, Normalizer, Outcome, Rejected, Step
from services.normalize.keys import load_key
from services.normalize.mappers import InProcess, MapperError, ProcessPool, portable
from services.normalize.mapping import MappingContext
from simulator.feed import generate_feed

KEYS = load_key({"NORMALIZE_DEMO_MODE": "1"})
CTX = MappingContext.from_keys(KEYS)
FORMATS = {"sedex.changes.v1": SEDEX, "amfori.changes.v1": AMFORI}


def feed_values() -> list[bytes | None]:
    """The accepted topic's values for a small feed of both platforms, with values no envelope makes."""
    out: list[bytes | None] = []
    for m in generate_feed(7, 30, start=date(2025, 1, 1), months=6).messages:
        result = admit(FORMATS[m.topic], m.key, m.value)
        if isinstance(result, Admitted):
            out.append(accepted_record(result.platform, result.event, m.topic, 0, len(out))[0])
    out[5:5] = [None, b"", b"{not json", b'{"schema": "something else"}']
    return out


def verdicts(steps: list[Step]) -> list[tuple[str | None, object]]:
    """What the batch loop does with each verdict: records produced, or the dead letter's reason."""
    out: list[tuple[str | None, object]] = []
    for s in steps:
        if isinstance(s.result, Rejected):
            out.append((s.platform, (s.result.reason_class, s.result.reason)))
        else:
            assert isinstance(s.result, Outcome)
            records = [(r.topic, r.key, r.value, r.headers) for r in s.result.records]
            out.append((s.platform, (records, s.result.stale, s.result.replayed, s.result.jumps)))
    return out


def settle_all(mapped: list[MappedEvent | Rejected]) -> list[Step]:
    normalizer = Normalizer.fresh(CTX)
    return [normalizer.settle(m) for m in mapped]


def test_mapper_processes_give_the_same_records_as_this_process() -> None:
    values = feed_values()
    here = asyncio.run(InProcess(CTX).map(values))
    pool = ProcessPool(2, KEYS, CTX.crosswalk)
    try:
        there = asyncio.run(pool.map(values))
        odd = asyncio.run(pool.map(values[:7]))  # fewer values than a chunk per worker could hold evenly
    finally:
        pool.close()
    assert len(there) == len(values)
    assert verdicts(settle_all(there)) == verdicts(settle_all(here))
    assert verdicts(settle_all(odd)) == verdicts(settle_all(here[:7]))
    assert sum(isinstance(m, Rejected) for m in there) == 4  # the values no envelope makes
    assert sum(isinstance(s.result, Outcome) and bool(s.result.records) for s in settle_all(there)) > 100


def test_a_batch_below_the_minimum_is_mapped_here_with_the_same_records() -> None:
    """Small batches skip the hand-over (its delay is latency at a moderate flow); larger ones do not."""
    values = feed_values()
    here = asyncio.run(InProcess(CTX).map(values))
    pool = ProcessPool(1, KEYS, CTX.crosswalk, here=InProcess(CTX), min_batch=10)
    try:
        small = asyncio.run(pool.map(values[:9]))
        assert pool.handed_over == 0
        full = asyncio.run(pool.map(values))
        assert pool.handed_over == len(values)
    finally:
        pool.close()
    assert verdicts(settle_all(small)) == verdicts(settle_all(here[:9]))
    assert verdicts(settle_all(full)) == verdicts(settle_all(here))
    with pytest.raises(ValueError, match="small batches need a mapper in this process"):
        ProcessPool(1, KEYS, CTX.crosswalk, min_batch=10)


def _children() -> set[int]:
    return set(descendants(os.getpid()))


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_warming_starts_the_workers_before_any_batch() -> None:
    """The executor spawns its workers on the first batch handed over, and a worker's start (imports,
    mapping context) held that batch 1-2 s; `warm` starts them at once and waits until they are ready."""
    before = _children()
    pool = ProcessPool(1, KEYS, CTX.crosswalk)
    try:
        assert _children() == before  # nothing started yet
        asyncio.run(pool.warm())
        assert pool.started == 1
        (worker,) = _children() - before
        assert _alive(worker)
        assert pool.handed_over == 0
    finally:
        pool.close()


def test_a_shared_batch_is_mapped_partly_here_with_the_same_records() -> None:
    """With nothing else to do until a batch is mapped, the service maps a share of it itself while
    the worker maps the rest; without `share`, or below the minimum, as before."""
    values = feed_values()
    here = asyncio.run(InProcess(CTX).map(values))
    pool = ProcessPool(1, KEYS, CTX.crosswalk, here=InProcess(CTX), min_batch=10)
    try:
        shared = asyncio.run(pool.map(values, share=True))
        assert 0 < pool.handed_over < len(values)
        assert pool.handed_over == len(values) // 2  # the first half stays here
        pool.handed_over = 0
        whole = asyncio.run(pool.map(values))
        assert pool.handed_over == len(values)
        pool.handed_over = 0
        small = asyncio.run(pool.map(values[:9], share=True))
        assert pool.handed_over == 0
    finally:
        pool.close()
    assert verdicts(settle_all(shared)) == verdicts(settle_all(here))
    assert verdicts(settle_all(whole)) == verdicts(settle_all(here))
    assert verdicts(settle_all(small)) == verdicts(settle_all(here[:9]))


class Unpicklable(Exception):
    def __init__(self, a: str, b: str) -> None:  # pickle calls Unpicklable(*args): one argument short
        super().__init__(a)


def test_a_failure_comes_back_as_a_portable_internal_error() -> None:
    failed = Rejected("internal_error", "normalize failed to process this event", Unpicklable("x", "y"))
    event = portable(MappedEvent("sedex", "k1.event.00", failed))
    assert isinstance(event, MappedEvent) and isinstance(event.outputs, Rejected)
    assert isinstance(event.outputs.error, MapperError)
    assert "Unpicklable" in str(event.outputs.error)
    assert event.outputs.reason_class == "internal_error"
    bare = portable(failed)
    assert isinstance(bare, Rejected) and isinstance(bare.error, MapperError)
    plain = Rejected("invalid_envelope", "not an envelope")
    assert portable(plain) is plain


SERVICE = textwrap.dedent(
    """
    import asyncio, sys, time
    from services.normalize.keys import load_key
    from services.normalize.mappers import ProcessPool
    from services.normalize.mapping import MappingContext

    keys = load_key({"NORMALIZE_DEMO_MODE": "1"})
    pool = ProcessPool(2, keys, MappingContext.from_keys(keys).crosswalk)
    asyncio.run(pool.map([None, None, None, None]))
    print(" ".join(str(pid) for pid in pool._pool._processes), flush=True)
    time.sleep(120)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_mapper_processes_die_with_a_killed_service() -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    workers: list[int] = []
    try:
        assert service.stdout is not None
        workers = [int(p) for p in service.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling /proc for the workers' exit, with a deadline
        assert not any(_alive(p) for p in workers), "a mapper process outlived the SIGKILLed service"
    finally:
        service.kill()
        service.wait()
        for pid in workers:  # when the test fails, it leaves no worker behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
