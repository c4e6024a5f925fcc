"""normalize's consume-map-produce loop: batches of accepted events, not one event at a time.

A plain aiokafka consumer in normalize's consumer group (`NORMALIZE_APP_ID`, the group the standby,
`repair-entity` and the key rotation look at) reads a batch (`getmany`); stage 1 of the engine maps it
(`mappers`: parse the raw bytes once, map, pseudonymise, serialise; in mapper processes by default),
then stage 2 settles each event in order (`Normalizer.settle`: versions, resolution). The loop is a
pipeline of two: the next batch is fetched and handed to the mappers before the current one is
settled, written and committed, so the mappers work while this process settles and waits for the
broker. Only the current batch's offsets are ever committed; the next one is merely read ahead, and a
crash reads it again. The batch's output records go to an
idempotent `acks=all` producer as whole record batches, one per partition (`record_batches`: one
delivery per record batch, not a future per record); then every delivery of the batch is awaited and
only then are the batch's input offsets committed; that commit completes while the next batch is
mapped and settled, and the next commit waits for it. faust stays the application around it (web
server, `/health`, `/metrics`, tasks): its per-event stream, its producer and its consumer are what
this loop replaces (docs/normalize.md, "Performance", says why).

Nothing lost: an offset is committed only after every record its event produced (outputs, versions,
dead letters) was acknowledged by the broker. Nothing doubled in the state: a crash between the
deliveries and the commit replays the batch, and the engine produces a replayed event's records
again byte for byte, under the same keys, so the compacted topics end exactly as without the crash
(a replayed dead letter is the same pointer again). The producer is idempotent, so a record's retries
never reorder or repeat it within a partition.

`hold_batch_seconds` (with `hold_after_events`) is a fault hook for tests only: the first batch
starting after that many events is held half-way, with the first half of its records delivered and
no offset committed, so a test can SIGKILL the process with a batch in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC, SiteResolution
from services.consumer_lag import ReadPositions
from services.kafka_auth import client_options
from services.record_batches import Output, deliver_as_batches, send_as_batches
from services.transaction import Sends

from .dead_letter import dead_letter_record
from .engine import MappedEvent, Normalizer, Record, Rejected
from .mappers import InProcess, Mappers
from .mapping import OutputKind
from .metrics import NormalizeMetrics
from .settings import NormalizeSettings

log = logging.getLogger("sx.normalize")

Batches = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]

# The metric label of every output topic: the mapping's record kinds, then the resolver's two.
KIND_OF_TOPIC = {
    **{kind.topic: kind.value for kind in OutputKind},
    SITE_RESOLUTION_TOPIC: "site-resolution",
    RESOLVED_SITES_TOPIC: "resolved-site",
}


class BatchLoop:
    """Reads, maps and writes batches until cancelled."""

    def __init__(
        self,
        settings: NormalizeSettings,
        normalizer: Normalizer,
        metrics: NormalizeMetrics,
        catch_up: Sequence[Record] = (),
        mappers: Mappers | None = None,
    ) -> None:
        self.settings = settings
        self.normalizer = normalizer
        self.metrics = metrics
        self.mappers = mappers or InProcess(normalizer.ctx)
        self.catch_up = list(catch_up)
        self.producer: AIOKafkaProducer | None = None
        # The consumer once started, and the offset of the last record handled and acknowledged per
        # partition (sx_consumer_lag_messages).
        self.positions = ReadPositions()
        # partition -> the offset last committed by this loop (or found committed when first needed)
        self._committed: dict[TopicPartition, int] = {}
        self.events = 0  # events handled since start (the fault hook counts them)
        self._held = False
        # The last batch's offset commit, still in flight while the next batch is mapped and settled.
        self._commit: asyncio.Task[None] | None = None
        self._topics = {t: settings.topic(t) for t in KIND_OF_TOPIC}
        # Label children resolved once: a labels() lookup per record costs more than the increment.
        self._records_out = {k: metrics.records_out.labels(k) for k in KIND_OF_TOPIC.values()}
        self._tombstones = {k: metrics.tombstones.labels(k) for k in KIND_OF_TOPIC.values()}
        self._resolution = {c: metrics.resolution.labels(c) for c in ("assigned", "moved", "retracted")}

    async def run(self) -> None:
        s = self.settings
        producer = AIOKafkaProducer(
            bootstrap_servers=s.bootstrap_servers,
            **client_options(),
            acks="all",
            enable_idempotence=True,
            max_batch_size=256 * 1024,
        )
        consumer = AIOKafkaConsumer(
            s.accepted_topic,
            bootstrap_servers=s.bootstrap_servers,
            **client_options(),
            group_id=s.app_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=int(s.session_timeout_seconds * 1000),
            heartbeat_interval_ms=int(s.session_timeout_seconds * 1000 / 3),
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await producer.start()
        self.producer = producer
        try:
            if self.catch_up:  # level the resolution topics with the restored state before reading on
                await deliver_as_batches(producer, [self._output(r) for r in self.catch_up])
                self._count_records(self.catch_up)
                log.info("produced %d resolution records a crash had left behind", len(self.catch_up))
                self.catch_up = []
            await self.mappers.warm()  # before joining the group: no batch waits for a worker to start
            await consumer.start()
            self.positions.consumer = consumer
            # The batch read ahead, its mapping under way: settled after the current one.
            ahead: tuple[Batches, asyncio.Task[list[MappedEvent | Rejected]]] | None = None
            try:
                while True:
                    # With a batch read ahead, take only what is already fetched: it must not wait.
                    batches = await consumer.getmany(timeout_ms=0 if ahead else 100, max_records=s.max_batch)
                    current, ahead = ahead, None
                    if batches:
                        # With no batch in front of it, this process would only wait for the mapping.
                        mapping = self._map(batches, share=current is None)
                        ahead = (batches, asyncio.create_task(mapping))
                    if current is not None:
                        await self.handle(consumer, producer, current[0], await current[1])
                    elif not batches:
                        await self._commit_past_markers(consumer)
            finally:
                if ahead is not None:
                    ahead[1].cancel()
                    await asyncio.gather(ahead[1], return_exceptions=True)
                try:
                    await self._committing()
                except Exception:  # whatever stops the loop is raised; the batch is read again at restart
                    log.exception("the last batch's offset commit failed as the loop stopped")
        finally:
            self.positions.consumer = None
            await consumer.stop()
            await producer.stop()
            self.mappers.close()

    async def _map(self, batches: Batches, *, share: bool) -> list[MappedEvent | Rejected]:
        """Stage 1 of every event of the batch, in the order `handle` reads them; `share`: this
        process maps a share of it too (`Mappers.map`)."""
        started = time.perf_counter()
        values = [m.value for records in batches.values() for m in records]
        mapped = await self.mappers.map(values, share=share)
        self.metrics.mapping.observe(time.perf_counter() - started)
        return mapped

    async def _commit_past_markers(self, consumer: AIOKafkaConsumer) -> None:
        """Commit the positions that moved past transaction markers alone.

        Ingest writes the accepted topic in transactions, and each commit leaves a marker that takes an
        offset after the batch's last record. A batch's commit stops before it; the marker is skipped
        by a later fetch that returns no record. Nothing is buffered when a poll returns nothing, so
        every offset below the position then was handled or was a marker: committing it makes a
        caught-up group's offsets equal the end offsets (what operators, `sx_consumer_lag_messages`
        and the tests read as "done") instead of one short per partition for ever."""
        await self._committing()
        moved: dict[TopicPartition, int] = {}
        for tp in consumer.assignment():
            position = await consumer.position(tp)
            last = self._committed.get(tp)
            if last is None:
                last = self._committed[tp] = await consumer.committed(tp) or 0
            if position > last:
                moved[tp] = position
        if moved:
            await consumer.commit(moved)
            self._committed.update(moved)
            for tp, position in moved.items():
                self.positions.read_offsets[tp] = position - 1

    async def handle(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batches: Batches,
        mapped: Sequence[MappedEvent | Rejected],
    ) -> None:
        """One mapped batch: settle every event, send every record, await every delivery, commit the
        offsets. `mapped` is stage 1 of the batch's events, in order."""
        size = sum(len(r) for r in batches.values())
        if len(mapped) != size:
            raise RuntimeError("the mappers returned a verdict count that is not the batch's")
        normalizer, metrics = self.normalizer, self.metrics
        observe = metrics.processing.observe
        sends = Sends(producer)
        outputs: list[Output] = []
        produced: list[Record] = []
        consumed: Counter[str] = Counter()
        stale: Counter[str] = Counter()
        jumps: Counter[str] = Counter()
        replays: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        changes: Counter[str] = Counter()
        hold_at = self._hold_at(size)
        handled = 0
        settle = normalizer.settle
        for records in batches.values():
            for message in records:
                if handled == hold_at:
                    await self._hold(sends, outputs)
                    outputs = []
                started = time.perf_counter()
                done = settle(mapped[handled])
                handled += 1
                if done.platform is not None:
                    consumed[done.platform] += 1
                outcome = done.result
                if isinstance(outcome, Rejected):
                    outputs.append(self._dead_letter(message, outcome))
                    failures[outcome.reason_class] += 1
                    continue
                outputs.extend(self._output(r) for r in outcome.records)
                produced.extend(outcome.records)
                platform = done.platform or ""
                stale[platform] += outcome.stale
                jumps[platform] += outcome.jumps
                replays[platform] += outcome.replayed
                for change in outcome.resolution_changes:
                    if change.topic == SITE_RESOLUTION_TOPIC:
                        if not isinstance(change.value, SiteResolution):
                            changes["retracted"] += 1
                        else:
                            changes["assigned" if change.previous is None else "moved"] += 1
                observe(time.perf_counter() - started)
        await send_as_batches(sends, outputs)
        await sends.delivered()
        # Every record of the batch is on the broker: only now may its input offsets be committed.
        offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
        await self._committing()
        self._commit = asyncio.create_task(self._commit_batch(consumer, offsets))
        self.events += handled
        self._count_records(produced)
        for platform, n in consumed.items():
            metrics.events_in.labels(platform).inc(n)
        per_platform = ((metrics.stale, stale), (metrics.version_jumps, jumps), (metrics.replays, replays))
        for counter, counts in per_platform:
            for platform, n in counts.items():
                if n:
                    counter.labels(platform).inc(n)
        for reason, n in failures.items():
            metrics.failures.labels(reason).inc(n)
        for how, n in changes.items():
            self._resolution[how].inc(n)
        metrics.resolved_sites.set(normalizer.resolver.resolved_site_count)

    async def _commit_batch(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """A handled batch's input offsets, committed while the next batch is mapped and settled.

        Why not awaited in `handle`: at a moderate flow the commit's round trip was a fifth of a batch's
        cycle, and every event of the next batch waited for it. Its order is kept: `handle` awaits it
        before it commits the next batch, and only after that batch's deliveries. A crash while it is in
        flight reads the batch again, as a crash before it did (docs/normalize.md, "The commit in the
        background")."""
        await consumer.commit(offsets)
        self._committed.update(offsets)
        for tp, offset in offsets.items():
            self.positions.read_offsets[tp] = offset - 1

    async def _committing(self) -> None:
        """Wait for the last batch's commit: a failed commit raises here, at the next batch, before that
        batch's own commit, and once only (the loop's way out does not report it again). Shielded: a
        loop cancelled meanwhile lets the commit finish, and waits for it again as it stops."""
        commit = self._commit
        if commit is None:
            return
        try:
            await asyncio.shield(commit)
        finally:
            if commit.done():  # committed or failed: nothing left to wait for
                self._commit = None

    def _output(self, r: Record) -> Output:
        return Output(
            self._topics.get(r.topic) or self.settings.topic(r.topic),
            r.key.encode(),
            r.value,
            list(r.headers),
        )

    def _dead_letter(self, message: ConsumerRecord[bytes, bytes], rejected: Rejected) -> Output:
        """A pointer, not a copy (see schemas.exchange.dead_letter)."""
        if rejected.error is not None:
            log.error(
                "normalize failed at %s[%d]@%d",
                message.topic,
                message.partition,
                message.offset,
                exc_info=rejected.error,
            )
        log.warning(
            "dead-lettered at %s[%d]@%d: %s",
            message.topic,
            message.partition,
            message.offset,
            rejected.reason_class,
        )
        value, headers = dead_letter_record(
            message.topic, message.partition, message.offset, rejected.reason_class, rejected.reason
        )
        return Output(self.settings.dlq_topic, None, value, headers)

    def _count_records(self, records: Iterable[Record]) -> None:
        out: Counter[str] = Counter()
        tombstones: Counter[str] = Counter()
        for r in records:
            kind = KIND_OF_TOPIC.get(r.topic)
            if kind is not None:
                out[kind] += 1
                if r.value is None:
                    tombstones[kind] += 1
        for kind, n in out.items():
            self._records_out[kind].inc(n)
        for kind, n in tombstones.items():
            self._tombstones[kind].inc(n)

    def _hold_at(self, size: int) -> int:
        """The position in this batch at which the fault hook holds it; -1: not this batch."""
        s = self.settings
        if s.hold_batch_seconds <= 0 or self._held or self.events < s.hold_after_events or size < 2:
            return -1
        return size // 2

    async def _hold(self, sends: Sends, outputs: list[Output]) -> None:
        self._held = True
        await send_as_batches(sends, outputs)
        await sends.delivered()  # the first half of the batch is on the broker
        delivered = len(outputs)
        log.warning(
            "fault hook: holding a batch half-way for %.0f s, %d of its records delivered, none of its "
            "offsets committed",
            self.settings.hold_batch_seconds,
            delivered,
        )
        await asyncio.sleep(self.settings.hold_batch_seconds)
