"""A Kafka transaction that fails when the broker refuses one of its records.

aiokafka's `send` only enqueues a record; whether the broker took it is known from the future it
returns. Its transactional producer commits without looking at those futures: measured against Kafka
4.1, a transaction whose record the broker refused (a timestamp more than an hour ahead, as
`log.message.timestamp.after.max.ms` allows by default) commits "successfully", and a read_committed
reader sees none of the batch that held the refused record. A release would then be believed
published with its cells missing. So every delivery is awaited before the commit: a refusal raises
inside the transaction, which aborts, and the caller's retry logic takes over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from aiokafka import AIOKafkaProducer
from aiokafka.producer import sender as aiokafka_sender


class Sends:
    """Records sent without awaiting each delivery, whose deliveries are then awaited together: before
    a transaction commits (`transaction`), or before a batch's input offsets are committed
    (normalize's at-least-once loop)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._deliveries: list[asyncio.Future[Any]] = []

    def __len__(self) -> int:
        """Deliveries sent and not yet awaited."""
        return len(self._deliveries)

    async def send(self, topic: str, value: bytes | None, **kwargs: Any) -> None:
        """`AIOKafkaProducer.send` (same arguments), remembered."""
        self._deliveries.append(await self.producer.send(topic, value, **kwargs))

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> None:
        """`AIOKafkaProducer.send_batch` (a `create_batch()` builder, filled), remembered: one delivery
        for all its records, refused or acknowledged together."""
        self._deliveries.append(await self.producer.send_batch(batch, topic, partition=partition))

    async def delivered(self) -> None:
        """Wait for every delivery; the first refusal is raised (every future is retrieved, so none
        is reported as an exception never retrieved)."""
        outcomes = await asyncio.gather(*self._deliveries, return_exceptions=True)
        self._deliveries.clear()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome


@asynccontextmanager
async def transaction(producer: AIOKafkaProducer) -> AsyncIterator[Sends]:
    """`async with producer.transaction()`, committed only once every record sent through the
    yielded `Sends` was acknowledged; aborted when one was refused."""
    async with producer.transaction():
        sends = Sends(producer)
        yield sends
        await sends.delivered()


_AIOKAFKA_CONCURRENT_TRANSACTIONS_WAIT: Final[float] = aiokafka_sender.BACKOFF_OVERRIDE


def wait_after_concurrent_transactions(seconds: float) -> None:
    """Set how long a transactional producer waits before it asks again to add a partition to a new
    transaction when the coordinator answered CONCURRENT_TRANSACTIONS (never longer than aiokafka's
    own 20 ms).

    Why: the coordinator writes the previous transaction's commit markers after it has answered
    EndTxn, and refuses the next transaction's AddPartitionsToTxn until they are written. A service
    that commits a small batch every few milliseconds meets that on about every other batch
    (KAFKA-5477). aiokafka then waits a fixed 20 ms (`sender.BACKOFF_OVERRIDE`, a module constant, not
    a setting), while the markers take a few: at 12,000 messages/s the wait was in one batch in three
    and put ingest's p99 above 100 ms (docs/ingest.md, "Both targets met"). The constant is
    process-wide; each service has one transactional producer. `test_transactional_batches` fails if
    aiokafka stops reading it."""
    aiokafka_sender.BACKOFF_OVERRIDE = min(_AIOKAFKA_CONCURRENT_TRANSACTIONS_WAIT, seconds)
