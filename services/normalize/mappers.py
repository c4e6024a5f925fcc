"""Stage 1 of the engine (parse, map, pseudonymise, serialise: `engine.map_value`) for a batch, in this
process or in worker processes.

Stage 1 is per event and stateless; stage 2 (the version rule, resolution) is global and stays in the
service's process. A profile of the back-fill on two cores (docs/normalize.md, "Performance") showed
normalize using one core while the other sat idle once ingest had caught up: stage 1 is most of the
engine, so handing it to another process lets the batch loop settle one batch while the next is mapped.

Worker processes are spawned, not forked: the service runs threads (the standby's lease) and an event
loop that a fork would copy half-way. Each worker builds its own `MappingContext` from the key material
handed to it at start, so its pseudonyms are the service's. A worker dies with the service
(`PR_SET_PDEATHSIG`): a SIGKILLed normalize leaves no mapper behind. A worker that dies on its own
breaks the pool: the batch in flight fails, nothing of it is committed, and the service stops to be
restarted (as for a refused delivery).

A batch smaller than `min_batch` is mapped in the service's own process instead: handing a batch over
costs a fixed delay (two threads and a pipe each way, each waiting for the interpreter lock the event
loop holds), which a steady, moderate flow of small batches pays on every batch in latency, while a
back-fill's full batches are where the second core pays off (docs/normalize.md, "Performance").

A batch with nothing in front of it (no batch read before it still to settle) is shared: the
service's process would only wait for the workers, so it maps the first chunk itself while they map
the rest (`share`). At a moderate flow that is every batch, and it halves the wait; in a back-fill the
pipeline is full and the batches go to the workers whole, this process settling the one before.
The workers are started when the service starts (`warm`), not on the first batch handed over.

What comes back is plain data (`Mapped`: strings, bytes, the resolution facts). An unexpected
exception in a worker comes back as `MapperError` holding its formatted traceback, since an arbitrary
exception need not survive pickling.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from typing import Protocol

from services.collector import tune_for_streaming

from .engine import MappedEvent, Rejected, map_value
from .keys import KeyMaterial
from .mapping import Crosswalk, MappingContext

_PR_SET_PDEATHSIG = 1  # prctl(2)

_context: MappingContext | None = None  # a worker's own, made by _start


class MapperError(Exception):
    """An unexpected failure in a mapper process; its message is the failure's formatted traceback."""


class Mappers(Protocol):
    processes: int  # worker processes; 0: stage 1 runs in the service's process

    async def map(
        self, values: Sequence[bytes | None], *, share: bool = False
    ) -> list[MappedEvent | Rejected]:
        """Stage 1 of each value, in order. `share`: this process would only wait for the result (no
        batch before this one to settle), so it maps a share of the values itself."""
        ...

    async def warm(self) -> None:
        """Ready to map: worker processes started and their mapping context built."""
        ...

    def close(self) -> None: ...


class InProcess:
    """Stage 1 in the service's own process: what tests and `NORMALIZE_MAPPER_PROCESSES=0` use."""

    processes = 0

    def __init__(self, ctx: MappingContext) -> None:
        self.ctx = ctx

    async def map(
        self, values: Sequence[bytes | None], *, share: bool = False
    ) -> list[MappedEvent | Rejected]:
        return [map_value(self.ctx, v) for v in values]

    async def warm(self) -> None:
        pass

    def close(self) -> None:
        pass


class ProcessPool:
    """Stage 1 in `processes` spawned workers; a batch is split into one contiguous chunk per worker.
    With `here` (stage 1 in this process), a batch of fewer than `min_batch` values is mapped there."""

    def __init__(
        self,
        processes: int,
        keys: KeyMaterial,
        crosswalk: Crosswalk,
        *,
        here: InProcess | None = None,
        min_batch: int = 0,
    ) -> None:
        if processes < 1:
            raise ValueError("a pool needs at least one process")
        if min_batch and here is None:
            raise ValueError("small batches need a mapper in this process")
        self.processes = processes
        self.min_batch = min_batch
        self._here = here
        self.handed_over = 0  # values mapped by the workers so far
        self.started = 0  # distinct workers `warm` heard from
        self._pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=get_context("spawn"),
            initializer=_start,
            initargs=(keys, crosswalk, os.getpid()),
        )

    async def map(
        self, values: Sequence[bytes | None], *, share: bool = False
    ) -> list[MappedEvent | Rejected]:
        here = self._here
        if here is not None and len(values) < self.min_batch:
            return await here.map(values)
        if here is None:
            share = False
        loop = asyncio.get_running_loop()
        parts = self.processes + share
        size = -(-len(values) // parts)  # ceiling: every value in exactly one chunk
        chunks = [list(values[i : i + size]) for i in range(0, len(values), size)]
        mine = chunks.pop(0) if share and len(chunks) > 1 else []
        handed = [loop.run_in_executor(self._pool, _map_chunk, c) for c in chunks]  # submitted now
        self.handed_over += len(values) - len(mine)
        first = await here.map(mine) if here is not None and mine else []  # the workers map meanwhile
        done = await asyncio.gather(*handed)
        return [*first, *(verdict for chunk in done for verdict in chunk)]

    async def warm(self) -> None:
        """Start the workers now rather than on the first batch handed over: spawning one imports the
        service and builds its mapping context, 1-2 s during which that batch, and every event behind
        it, waited (`bench.normalize --rate 5000`: a p99 over a second, 2026-12-04)."""
        loop = asyncio.get_running_loop()
        pids = await asyncio.gather(
            *(loop.run_in_executor(self._pool, _ready) for _ in range(self.processes))
        )
        self.started = len(set(pids))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def start(processes: int, keys: KeyMaterial, ctx: MappingContext, min_batch: int = 0) -> Mappers:
    """`processes` mapper processes mapping as `ctx` does (`ctx` made from `keys`), or none; batches of
    fewer than `min_batch` values are mapped in this process."""
    if not processes:
        return InProcess(ctx)
    return ProcessPool(processes, keys, ctx.crosswalk, here=InProcess(ctx), min_batch=min_batch)


def _start(keys: KeyMaterial, crosswalk: Crosswalk, parent: int) -> None:
    """A worker's initializer: die with the service, then build the mapping context."""
    global _context
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the service died before the line above: nobody to map for
        os._exit(0)
    _context = MappingContext.from_keys(keys, crosswalk)
    tune_for_streaming()  # a chunk of verdicts is tens of thousands of objects, freed once sent back


def _ready() -> int:
    """A worker's pid, once its initializer has run."""
    assert _context is not None, "a mapper process runs _start first"
    return os.getpid()


def _map_chunk(values: list[bytes | None]) -> list[MappedEvent | Rejected]:
    assert _context is not None, "a mapper process runs _start first"
    return [portable(map_value(_context, v)) for v in values]


def portable(verdict: MappedEvent | Rejected) -> MappedEvent | Rejected:
    """The verdict with any exception replaced by a `MapperError` that pickles whatever it was."""
    if isinstance(verdict, Rejected):
        return _portable_rejection(verdict)
    if isinstance(verdict.outputs, Rejected):
        return replace(verdict, outputs=_portable_rejection(verdict.outputs))
    return verdict


def _portable_rejection(rejected: Rejected) -> Rejected:
    if rejected.error is None or isinstance(rejected.error, MapperError):
        return rejected
    return replace(rejected, error=MapperError("".join(traceback.format_exception(rejected.error))))
