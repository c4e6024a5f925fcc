"""Follow the public table topics and aggregate's release markers; hand over each complete release.

One consumer, no group, every partition of the three public topics and of the release-state topic,
from the beginning, read_committed (never an aborted or open release). The topics are compacted, so
the start is their current state plus what compaction has not yet removed; deliver's own state says
which releases each endpoint has already had (`ledger.py`), and the assembler keeps nothing older.

When is release R complete? Aggregate commits R's public messages and the marker `__last_release__`
= R in one transaction, so once the marker is read, every message of R is committed, but this
consumer may not have fetched it yet from the other partitions. So at the marker the follower takes
the table partitions' high watermarks (past every record written so far, R's included) and calls R
complete only once it has read every table partition to them. A marker that was already in the topic
at start-up uses the start's high watermarks, which are past it too (no request per old release).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.exchange.aggregates import LAST_RELEASE_KEY, RELEASE_STATE_TOPIC, TABLES, ReleaseMarker, topic_of
from services.compacted import from_the_start, high_watermarks, partitions_once_created

from .assembly import CompleteRelease, ReleaseAssembler
from .metrics import DeliverMetrics
from .settings import DeliverSettings

log = logging.getLogger("sx.deliver.follow")

Targets = dict[TopicPartition, int]


class ReleaseFollower:
    def __init__(
        self,
        settings: DeliverSettings,
        assembler: ReleaseAssembler,
        on_complete: Callable[[CompleteRelease], None],
        metrics: DeliverMetrics,
    ) -> None:
        self.settings = settings
        self.assembler = assembler
        self.on_complete = on_complete
        self.metrics = metrics
        self.caught_up = asyncio.Event()
        self.tables = {settings.input_topic(topic_of(t)): t for t in TABLES}
        self.markers = settings.input_topic(RELEASE_STATE_TOPIC)

    async def run(self) -> None:
        topics = [*self.tables, self.markers]  # aggregate creates them
        tps = await partitions_once_created(self.settings.bootstrap_servers, topics, "aggregate", log)
        table_tps = [tp for tp in tps if tp.topic in self.tables]
        async with from_the_start(self.settings.bootstrap_servers, tps) as (consumer, at_start):
            started = time.monotonic()
            sealed: list[tuple[datetime, Targets]] = []  # markers read, waiting for their messages
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for tp, records in batches.items():
                    for record in records:
                        if record.topic == self.markers:
                            release_id = self._marker(record.key, record.value, tp, record.offset)
                            if release_id is not None:
                                targets = await self._targets(tp, record.offset, at_start, table_tps)
                                sealed.append((release_id, targets))
                        elif record.key is not None and record.value is not None:
                            self._add(record.topic, record.key, record.value, record.partition, record.offset)
                while sealed and await _reached(consumer, sealed[0][1]):
                    release_id, _ = sealed.pop(0)
                    complete = self.assembler.complete(release_id)
                    if complete is not None:
                        self.on_complete(complete)
                if not self.caught_up.is_set() and not sealed and await _reached(consumer, at_start):
                    self.caught_up.set()
                    seconds = time.monotonic() - started
                    log.info("caught up with %d partitions in %.1f s; following", len(tps), seconds)

    async def _targets(
        self, tp: TopicPartition, offset: int, at_start: Targets, table_tps: list[TopicPartition]
    ) -> Targets:
        if offset < at_start[tp]:
            return {t: at_start[t] for t in table_tps}
        return await high_watermarks(self.settings.bootstrap_servers, table_tps)

    def _marker(
        self, key: bytes | None, value: bytes | None, tp: TopicPartition, offset: int
    ) -> datetime | None:
        """The release a record of the release-state topic marks as committed; None for every other
        record of that topic (aggregate's own state, which deliver does not read)."""
        if key != LAST_RELEASE_KEY or value is None:
            return None
        try:
            return ReleaseMarker.model_validate_json(value).release_id
        except ValidationError:  # never expected; counted, never a crash
            log.error("unreadable release marker at %s[%d]@%d", tp.topic, tp.partition, offset)
            self.metrics.invalid.inc()
            return None

    def _add(self, topic: str, key: bytes, value: bytes, partition: int, offset: int) -> None:
        try:
            self.assembler.add(self.tables[topic], key, value)
        except (ValidationError, ValueError):  # never expected from aggregate; counted, never a crash
            log.error("unreadable public message at %s[%d]@%d", topic, partition, offset)
            self.metrics.invalid.inc()


async def _reached(consumer: AIOKafkaConsumer, targets: Targets) -> bool:
    for tp, end in targets.items():
        if await consumer.position(tp) < end:
            return False
    return True
