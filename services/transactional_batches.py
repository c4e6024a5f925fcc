"""Consume, transform, produce, batch by batch, each batch in one Kafka transaction with its offsets.

A plain aiokafka loop for a service whose per-event cost in faust's stream machinery is the bottleneck
(ingest: docs/ingest.md, "Performance"). faust stays the service's framework (web server, health,
metrics, the broker probe); this loop runs as one of its tasks, with a consumer group and a
transactional producer of its own.

One batch is what `getmany` returns (at most `max_records`). The service turns it into output records
(`BatchHandler.process`, which does no Kafka I/O of its own) and the loop sends them as record batches
(`record_batches.send_as_batches`) without awaiting each one, then adds the batch's next offsets to the
same transaction (`send_offsets_to_transaction`) and commits through
`services.transaction.transaction`, which awaits every delivery first. So a batch's outputs and its
input offsets become visible together or not at all, and a `read_committed` reader
never sees a record twice or misses one, whatever point a crash hits.

Failure: any error in a batch (a refused record, a broker outage that outlasts the clients' retries, a
fenced producer) ends the session: the transaction is aborted (or left to the coordinator), both
clients are closed, the handler forgets whatever it derived from uncommitted work (`reset`), and a new
session starts from the committed offsets after a back-off. A restart after SIGKILL does the same.

Rebalances: the revocation callback waits for the batch in flight to commit (`_lock`) before the
partitions go, and a batch is cut to the partitions still assigned once the lock is held, so offsets
are never committed for a partition this instance no longer owns.

Fencing: aiokafka implements neither KIP-447's group-metadata fencing nor per-partition producers, so
a zombie (an instance that lost its partitions but still runs) is fenced by time: the transaction
timeout is at most the session timeout, and a transaction is opened only after a batch is fetched.
The transactional id is stable per instance (host and port by default), so a restarted process fences
its predecessor's open transaction at once instead of waiting for the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from services.compacted import stop_quietly
from services.consumer_lag import ReadPositions
from services.kafka_auth import client_options
from services.record_batches import Output, send_as_batches
from services.transaction import transaction, wait_after_concurrent_transactions

Batch = Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]


@dataclass
class Processed:
    """What a batch gives: the records to produce, and what to do once they are committed (counters:
    a batch retried after a failure must not be counted twice)."""

    outputs: list[Output] = field(default_factory=list)
    on_commit: Callable[[], None] = lambda: None


class BatchHandler(Protocol):
    def assigned(self, tps: set[TopicPartition]) -> None:
        """The group gave this instance `tps` (its whole assignment)."""

    def revoked(self, tps: set[TopicPartition]) -> None:
        """`tps` are gone, after the batch in flight committed."""

    async def process(self, batch: Batch) -> Processed:
        """The outputs of `batch`; may read state it needs first, must not produce."""

    def reset(self) -> None:
        """A batch failed: forget everything derived from work that was not committed."""


DEFAULT_RETRY_BACKOFF_MS: Final = 5  # LoopSettings.retry_backoff_ms, and the services' setting's default


@dataclass(frozen=True)
class LoopSettings:
    bootstrap_servers: str
    group_id: str
    topics: tuple[str, ...]
    transactional_id: str
    session_timeout_ms: int
    transaction_timeout_ms: int
    max_records: int  # per batch
    max_partition_fetch_bytes: int  # one maximal message and its framing
    fetch_max_bytes: int  # read ahead of the loop, every partition together
    max_request_size: int
    max_batch_size: int = 256 * 1024  # the producer's record batch per partition
    # The transactional producer's wait before retrying a request the broker answered with a retriable
    # error. aiokafka's default is 100 ms, and Kafka 4.1's group coordinator now and then answers a
    # batch's TxnOffsetCommit with COORDINATOR_NOT_AVAILABLE (about once in 500 transactions at 8,000
    # messages/s, measured): at 100 ms that one retry held a batch 110-130 ms and put ingest's p99 above
    # 100 ms (docs/ingest.md, "Latency"). 20 ms is the wait aiokafka and the Java client already use
    # for the commonest retry of a transaction (KAFKA-5477), and was still one batch in three held
    # 20 ms at 12,000 messages/s, where the coordinator needs a few: 5 ms, used for that retry too
    # (`transaction.wait_after_concurrent_transactions`).
    retry_backoff_ms: int = DEFAULT_RETRY_BACKOFF_MS
    # Crash tests only: keep each transaction open this long after its records and offsets are sent.
    hold_transaction_seconds: float = 0.0


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: TransactionalBatches) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._loop.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._loop.on_assigned(set(assigned))


class TransactionalBatches:
    def __init__(self, settings: LoopSettings, handler: BatchHandler, log: logging.Logger) -> None:
        self.settings = settings
        self.handler = handler
        self.log = log
        self.view = ReadPositions()
        self.rebalancing = True  # until the first assignment
        self.batches_committed = 0
        self._lock = asyncio.Lock()

    @property
    def assigned_partitions(self) -> int:
        return len(self.view.assignment())

    async def run(self) -> None:
        """Sessions until cancelled: a failed one is closed and replaced after a back-off."""
        backoff = 0.5
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except Exception:
                self.log.exception("batch loop failed; restarting from the committed offsets")
            self.handler.reset()
            self.view.read_offsets.clear()
            self.rebalancing = True
            backoff = 0.5 if time.monotonic() - started > 60 else min(backoff * 2, 10.0)
            await asyncio.sleep(backoff)  # back-off before a new session, not a wait for Kafka

    def producer(self) -> AIOKafkaProducer:
        s = self.settings
        wait_after_concurrent_transactions(s.retry_backoff_ms / 1000)
        return AIOKafkaProducer(
            bootstrap_servers=s.bootstrap_servers,
            **client_options(),
            transactional_id=s.transactional_id,
            transaction_timeout_ms=s.transaction_timeout_ms,
            enable_idempotence=True,
            acks="all",
            max_batch_size=s.max_batch_size,
            max_request_size=s.max_request_size,
            retry_backoff_ms=s.retry_backoff_ms,
        )

    def consumer(self) -> AIOKafkaConsumer:
        s = self.settings
        return AIOKafkaConsumer(
            bootstrap_servers=s.bootstrap_servers,
            **client_options(),
            group_id=s.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=max(1000, s.session_timeout_ms // 3),
            max_partition_fetch_bytes=s.max_partition_fetch_bytes,
            fetch_max_bytes=s.fetch_max_bytes,
        )

    async def _session(self) -> None:
        producer = self.producer()
        await producer.start()  # InitProducerId: aborts this id's predecessor's open transaction
        consumer = self.consumer()
        try:
            consumer.subscribe(list(self.settings.topics), listener=_Rebalance(self))
            await consumer.start()
            self.view.consumer = consumer
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=self.settings.max_records)
                if batch:
                    await self._batch(consumer, producer, batch)
        finally:
            self.view.consumer = None
            await stop_quietly(consumer)
            try:
                await producer.stop()
            except Exception:  # a fenced or broken producer may fail to stop cleanly; it is gone
                self.log.warning("the transactional producer did not stop cleanly", exc_info=True)

    async def _batch(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, fetched: Batch) -> None:
        async with self._lock:
            owned = consumer.assignment()
            batch = {tp: records for tp, records in fetched.items() if tp in owned and records}
            if not batch:
                return
            processed = await self.handler.process(batch)
            offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            async with transaction(producer) as tx:
                await send_as_batches(tx, processed.outputs)
                await producer.send_offsets_to_transaction(offsets, self.settings.group_id)
                if self.settings.hold_transaction_seconds:
                    self.log.warning("holding the transaction open (crash-test hook)")
                    await asyncio.sleep(self.settings.hold_transaction_seconds)
            for tp, next_offset in offsets.items():
                self.view.read_offsets[tp] = next_offset - 1
            self.batches_committed += 1
            processed.on_commit()

    async def on_revoked(self, tps: set[TopicPartition]) -> None:
        self.rebalancing = True
        async with self._lock:  # the batch in flight commits first
            self.handler.revoked(tps)
            for tp in tps:
                self.view.read_offsets.pop(tp, None)

    def on_assigned(self, tps: set[TopicPartition]) -> None:
        self.handler.assigned(tps)
        self.rebalancing = False
