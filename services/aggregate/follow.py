"""Follow normalize's compacted topics into `NormalizedState`: every partition, from the beginning.

Every aggregate instance holds the *whole* normalised state, the way a faust GlobalTable would: the
disclosure rules look at whole periods across every country and sector (residuals, the recovery LP),
so a release cannot be planned from a share of the partitions. The follower therefore uses no
consumer group and commits no offsets. It assigns itself every partition of the five input topics,
reads them from the start (they are compacted, so that is their current state) and keeps following.
Restoring after a restart and following afterwards are one read, so a restarted instance never
re-applies older records over newer ones, and a consumer-group rebalance cannot take state away
from an instance (there is none for the inputs; the release lease is a separate group, `lease.py`).

`caught_up` is set once every partition has been read to the end offset it had when the follower
started: before that the state is a partial past, and nothing may be released from it.

`positions` is what `sx_consumer_lag_messages` reads (`services/consumer_lag.py`), as for ingest and
normalize: how far this instance is behind its inputs. A partition counts from its start until its first
record is read, so a restoring instance shows its whole backlog. Aggregate's records-consumed counter
cannot say it: the inputs are compacted, and a record superseded before this instance read it is
never read at all (the cleaner may already have removed it), so "consumed as many as normalize
produced" need never come true, while a lag of 0 does.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.compacted import from_the_start, partitions_once_created
from services.consumer_lag import ReadPositions

from .metrics import AggregateMetrics
from .population import INPUT_KINDS, INPUT_TOPICS, NormalizedState
from .settings import AggregateSettings

log = logging.getLogger("sx.aggregate.follow")


class InputFollower:
    def __init__(
        self, settings: AggregateSettings, state: NormalizedState, metrics: AggregateMetrics
    ) -> None:
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self.caught_up = asyncio.Event()
        self.positions = ReadPositions()
        self._canonical = {settings.input_topic(t): t for t in INPUT_TOPICS}

    async def run(self) -> None:
        """Read and apply until cancelled. A record that cannot be read is counted and skipped."""
        # Every partition of the five input topics, once all five exist (normalize creates them).
        tps = await partitions_once_created(
            self.settings.bootstrap_servers, self._canonical, "normalize", log
        )
        # A key rotation rewrites normalize's topics in one transaction: `from_the_start` reads
        # committed records only, so an aborted one is never seen.
        async with from_the_start(self.settings.bootstrap_servers, tps) as (consumer, targets):
            started = time.monotonic()
            read = self.positions.read_offsets
            read.update(dict.fromkeys(targets, -1))  # nothing read yet: behind by the whole partition
            self.positions.consumer = consumer
            try:
                await self._caught_up_if_at(consumer, targets, started)
                while True:
                    batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                    for tp, records in batches.items():
                        for record in records:
                            self._apply(
                                record.topic, record.partition, record.offset, record.key, record.value
                            )
                        read[tp] = records[-1].offset
                    if batches:
                        self.metrics.set_state_sizes(self.state)
                    if not self.caught_up.is_set():
                        await self._caught_up_if_at(consumer, targets, started)
            finally:
                self.positions.consumer = None

    async def _caught_up_if_at(
        self, consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int], started: float
    ) -> None:
        for tp, end in targets.items():
            if await consumer.position(tp) < end:
                return
        self.caught_up.set()
        self.metrics.set_state_sizes(self.state)
        log.info(
            "state restored from %d partitions in %.1f s; following", len(targets), time.monotonic() - started
        )

    def _apply(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> None:
        canonical = self._canonical[topic]
        kind = INPUT_KINDS[canonical]
        try:
            retracted = self.state.apply(canonical, (key or b"").decode(), value)
        except Exception:  # a poison record must never stop the service; it is counted
            log.exception("unreadable record at %s[%d]@%d", topic, partition, offset)
            self.metrics.invalid.labels(kind).inc()
            return
        self.metrics.consumed.labels(kind).inc()
        if retracted:
            self.metrics.retracted.labels(kind).inc()
