"""The release side of aggregate: schedule, plan, transactional write, fencing, back-off.

`Releaser` is what the timer (`app.py`) and the tests drive: it releases only while it leads
(`lease.py`) and the state has caught up, plans on a snapshot in a worker thread (`planner.py`),
and writes each release in Kafka transactions: new noisy draws first, then the recorded release
(release state and the pending marker), then its public messages and the release marker. A release
that was recorded but not published is published from the log, byte for byte, before anything else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Final

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, ProducerFenced

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC
from services.collector import collector_paused
from services.compacted import read_compacted
from services.kafka_auth import client_options
from services.record_batches import Output, send_as_batches
from services.transaction import transaction

from .disclosure import DisclosureParams
from .metrics import AggregateMetrics
from .noise import NoiseParams, Sampler, discrete_gaussian, spent_ratio
from .planner import ReleasePlan, plan_release
from .population import NormalizedState
from .release import (
    PENDING,
    Entry,
    Record,
    ReleaseLog,
    expand,
    last_release_of,
    owed_records,
    pending_release_of,
    split_phases,
)
from .schedule import Clock, due_releases
from .settings import AggregateSettings

log = logging.getLogger("sx.aggregate")


class Releaser:
    """The release side: schedule, plan, transactional write. Shared by the timer and the tests.

    Releases only while it leads (`lease.py`) and the state has caught up with the inputs. Before its
    first release after gaining the lease, and after any failed release, it *establishes* itself: a
    new transactional producer (which fences every older producer with the same transactional id and
    aborts a transaction a crashed predecessor left open), then the release history read back from
    the release-state topic. A release whose commit fails (fenced, broker gone) is therefore never
    half-believed: the next attempt starts from what the topic says was committed.
    """

    def __init__(
        self,
        settings: AggregateSettings,
        state: NormalizedState,
        clock: Clock,
        metrics: AggregateMetrics,
        params: DisclosureParams,
        ready: Callable[[], bool] = lambda: True,
        noise: NoiseParams | None = None,
        sampler: Sampler = discrete_gaussian,
    ) -> None:
        self.settings = settings
        self.noise = noise or NoiseParams()
        self.sampler = sampler  # OpenDP's discrete Gaussian; tests count its calls
        self.state = state
        self.clock = clock
        self.metrics = metrics
        self.params = params
        self.ready = ready
        self.log = ReleaseLog()
        self.last_release: datetime | None = None
        self.leading = False
        self._producer: AIOKafkaProducer | None = None
        self._releasing = asyncio.Lock()  # one release at a time, whoever calls
        self._failures = 0  # consecutive failed ticks: the retry backs off, up to a minute
        self._retry_at = 0.0
        self._pending: datetime | None = None  # a release recorded but not yet published

    def lead(self, leading: bool) -> None:
        """The lease changed hands (`Lease.on_change`). Takes effect at the next tick."""
        self.leading = leading
        self.metrics.leader.set(1 if leading else 0)

    @property
    def established(self) -> bool:
        return self._producer is not None

    async def establish(self) -> None:
        """Fence every older releaser, then read what was committed."""
        await self._drop_producer()
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            **client_options(),
            transactional_id=f"{self.settings.app_id}-releases",
            enable_idempotence=True,
            acks="all",
            max_request_size=8 * 1024 * 1024,
            # How long a crashed process's open release can block readers if no successor comes (a
            # successor aborts it at once, by fencing); a release of a year takes well under this.
            transaction_timeout_ms=self.settings.transaction_timeout_ms,
        )
        await producer.start()  # InitProducerId: bumps the epoch, aborts a predecessor's open transaction
        try:
            records = await read_compacted(
                self.settings.bootstrap_servers, self.settings.topic(RELEASE_STATE_TOPIC)
            )
            state = {k.encode(): v for k, v in records.items()}
            release_log, last_release = ReleaseLog.from_state(state), last_release_of(state)
            pending = pending_release_of(state)
        except BaseException:
            await producer.stop()
            raise
        self.log, self.last_release, self._pending = release_log, last_release, pending
        self._producer = producer
        # The privacy budget spent is state on the topic, not in this process: a restart reads it back.
        self.metrics.budget_spent.set(spent_ratio(self.log.draws, self.noise))
        log.info(
            "releaser established: %d cells in the release history, last release %s%s",
            len(self.log),
            "none" if self.last_release is None else self.last_release.isoformat(),
            "" if pending is None else f", release {pending.isoformat()} recorded and still to publish",
        )

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception:  # a fenced or broken producer may fail to stop cleanly; it is gone either way
                log.warning("the previous release producer did not stop cleanly", exc_info=True)

    async def stop(self) -> None:
        await self._drop_producer()

    async def tick(self) -> ReleasePlan | None:
        async with self._releasing:
            if not self.leading:
                await self._drop_producer()  # a standby holds no producer, so it fences nobody
                return None
            if not self.ready() or time.monotonic() < self._retry_at:
                return None
            try:
                if not self.established:
                    await self.establish()
                await self._publish_owed()
                due = due_releases(self.last_release, self.clock.now(), self.settings.cadence)
                if not due:
                    return None
                # Missed slots (no leader, or the service was down) collapse into the latest: a release
                # reflects the state at the time it runs, so running older slots now would repeat it.
                plan = await self._release(due[-1])
                self._failures = 0
                return plan
            except Exception as exc:  # never stop the service: count it, start over at the next tick
                self._failures += 1
                backoff = min(60.0, self.settings.tick_seconds * 2**self._failures)
                self._retry_at = time.monotonic() + backoff
                log.error("release failed (%s); re-establishing in %.1f s", type(exc).__name__, backoff)
                self.metrics.release_failures.labels(_failure_kind(exc)).inc()
                await self._drop_producer()
                return None

    async def release(self, at: datetime) -> ReleasePlan:
        """Release the slot `at` now (tests; the timer goes through `tick`)."""
        async with self._releasing:
            if not self.established:
                await self.establish()
            await self._publish_owed()
            return await self._release(at)

    async def _release(self, at: datetime) -> ReleasePlan:
        # The cyclic collector stays off from the plan until the release is committed: a plan makes
        # millions of objects that outlive it and no cycles, and they stay alive while its records
        # are encoded and sent; with the collector back on at the end of the plan, its next collections
        # walked all of them, and the state, again (services/collector.py).
        with collector_paused():
            return await self._release_paused(at)

    async def _release_paused(self, at: datetime) -> ReleasePlan:
        started = time.perf_counter()
        # Plan on a snapshot, in a worker thread: a year of both platforms takes a minute to plan, and
        # the event loop must keep following inputs, holding the lease and answering /health meanwhile.
        state = self.state.snapshot()
        if len(key_ids := state.key_ids()) > 1:
            raise MixedKeys(
                f"the inputs hold key ids {', '.join(sorted(key_ids))}: a key rotation is being applied"
            )

        def plan_it() -> tuple[ReleaseLog, ReleasePlan]:
            snapshot = self.log.copy()
            plan = plan_release(
                state,
                snapshot,
                self.params,
                at,
                granularity=self.settings.granularity,
                grace=self.settings.grace,
                noise=self.noise,
                sampler=self.sampler,
            )
            return snapshot, plan

        snapshot, plan = await asyncio.to_thread(plan_it)
        if plan.draws:
            # Differential-privacy mode: the new draws commit on their own first, so whatever happens to
            # the release below, a retry publishes these values and never draws again.
            await self._commit(plan.draw_records, at)
            self.metrics.observe_draws(plan.draws, spent_ratio(snapshot.draws, self.noise))
            log.info("release %s: %d noisy draws stored before publishing", plan.release_id, plan.draws)
        record, publish = split_phases(plan.entries, at)
        await self._commit(record, at)
        # Recorded: from here on this release is owed, exactly as planned, whatever happens next.
        self.log, self._pending = snapshot, at
        await self._commit(publish, at, hold=plan.sent > 0)
        self._pending, self.last_release = None, at
        self.metrics.observe_release(plan, time.perf_counter() - started)
        log.info(
            "release %s: %d periods, %d cells sent, %d unchanged, %d held by the revision rule",
            plan.release_id,
            len(plan.periods),
            plan.sent,
            plan.unchanged,
            plan.held,
        )
        return plan

    async def _publish_owed(self) -> None:
        """Publish a release that was recorded but not published (a crash or a failed commit between
        the two transactions): the same bytes as its first attempt, rebuilt from the release log."""
        at = self._pending
        if at is None:
            return
        records = owed_records(self.log, at)
        await self._commit(records, at)
        self._pending, self.last_release = None, at
        log.info(
            "release %s: published %d recorded cells owed by an earlier attempt",
            at.isoformat(),
            len(records) - 1,
        )

    async def _commit(self, entries: Sequence[Entry], at: datetime, *, hold: bool = False) -> None:
        """Write records in one transaction; cells' release states are encoded a slice of entries at a
        time, in a worker thread, as they are sent (`encoded_slices`): a plan holds them unencoded, and
        the JSON of a whole release state never has to be in memory at once."""
        producer = self._producer
        assert producer is not None
        try:
            # Hygiene (revision 2): the record timestamp is the release time, never the send time.
            timestamp_ms = int(at.timestamp() * 1000)
            async with transaction(producer) as tx:
                # As record batches, one delivery each: a year's first release is 164,413 records, and
                # a send per record took a sixth of the release at 300,000 events (25.9 -> 21.6 s).
                # Partitions are `send()`'s (murmur2 of the key), in order within each; the transaction
                # still commits all or nothing.
                async for records in encoded_slices(entries):
                    outputs = (
                        Output(self.settings.topic(topic), key, value, headers, timestamp_ms)
                        for topic, key, value, headers in records
                    )
                    await send_as_batches(tx, outputs)
                seconds = self.settings.hold_transaction_seconds if hold else 0.0
                if seconds:  # crash tests only: the cells are on the broker, uncommitted
                    await producer.flush()
                    await asyncio.sleep(seconds)
        except BaseException as exc:
            # Whether or not the broker committed, this process no longer knows: re-read before the next.
            fenced = _is_fenced(producer)
            await self._drop_producer()
            if fenced and isinstance(exc, Exception):
                raise Fenced("another releaser took over") from exc
            raise


ENCODE_SLICE: Final = 1_000
"""Entries a release encodes at a time as it sends them (`encoded_slices`)."""


async def encoded_slices(entries: Sequence[Entry], size: int = ENCODE_SLICE) -> AsyncIterator[list[Record]]:
    """The records of `entries`, `size` entries at a time. A slice that holds cells' release states is
    encoded in a worker thread: a year's first release encodes hundreds of MiB of JSON, and the event
    loop must keep following inputs, holding the lease and answering /health meanwhile."""
    for start in range(0, len(entries), size):
        part = entries[start : start + size]
        if any(isinstance(entry, PENDING) for entry in part):
            yield await asyncio.to_thread(_expanded, part)
        else:
            yield _expanded(part)


def _expanded(entries: Sequence[Entry]) -> list[Record]:
    return list(expand(entries))


class MixedKeys(RuntimeError):
    """The inputs hold records under two pseudonymisation keys: one site would count twice. The release
    waits (and is retried with the usual backoff) until the rotation's tombstones have been read."""


class Fenced(RuntimeError):
    """This releaser's producer was fenced: a newer one with the same transactional id took over."""


def _is_fenced(producer: AIOKafkaProducer) -> bool:
    """Whether the producer's transaction state is fatal, which is how aiokafka records a fence that
    its background sender met (the caller then only sees IllegalOperation on its next send)."""
    manager = getattr(producer, "_txn_manager", None)  # aiokafka internals, read defensively
    return bool(manager is not None and manager.is_fatal_error())


def _failure_kind(exc: BaseException) -> str:
    """A bounded label: fenced (another instance leads now), mixed_keys (a key rotation is being read),
    kafka (any other broker error), other.

    The whole chain of causes is looked at: a fence often surfaces second-hand."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, ProducerFenced | Fenced) for e in chain):
        return "fenced"
    if any(isinstance(e, MixedKeys) for e in chain):
        return "mixed_keys"
    if any(isinstance(e, KafkaError) for e in chain):
        return "kafka"
    return "other"
