"""`batches.BatchLoop.handle`: a batch's offset commit is in flight while the next batch is settled and
sent, and never overtakes a delivery or the commit before it (docs/normalize.md, "The commit in the
background").

The broker tests pin what a crash leaves (test_crash_batch_broker, test_refused_delivery_broker); this
one pins the order of the loop's calls, with a producer that acknowledges at once and a consumer whose
commits the test completes itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from aiokafka import TopicPartition
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import ConsumerRecord

from services.normalize.batches import Batches, BatchLoop
from services.normalize.engine import MappedEvent, Normalizer, Rejected, map_value
from services.normalize.keys import load_key
from services.normalize.mapping import MappingContext
from services.normalize.metrics import NormalizeMetrics
from services.normalize.settings import NormalizeSettings
from tests.services.normalize.test_step import accepted

CTX = MappingContext.from_keys(load_key({"NORMALIZE_DEMO_MODE": "1"}))
TP = TopicPartition("exchange.ingest.accepted.v1", 0)


class Producer:
    """Acknowledges every record batch at once, and notes each send in `calls`."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(16384, 0)  # what AIOKafkaProducer.create_batch makes with its defaults

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    async def send_batch(self, batch: object, topic: str, *, partition: int) -> asyncio.Future[None]:
        self.calls.append(f"send {topic}")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class Consumer:
    """Each commit waits until the test completes it (`release`), or fails it (`fail`)."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.pending: list[asyncio.Future[None]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.calls.append(f"commit {offsets[TP]}")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(done)
        await done
        self.calls.append(f"committed {offsets[TP]}")

    def release(self) -> None:
        self.pending.pop(0).set_result(None)

    def fail(self, error: Exception) -> None:
        self.pending.pop(0).set_exception(error)


def batch(first_offset: int, values: Sequence[bytes]) -> Batches:
    return {
        TP: [
            ConsumerRecord(TP.topic, 0, first_offset + i, 0, 0, b"k", v, None, 1, len(v), [])
            for i, v in enumerate(values)
        ]
    }


def mapped(b: Batches) -> list[MappedEvent | Rejected]:
    return [map_value(CTX, m.value) for records in b.values() for m in records]


async def until(condition: Callable[[], bool], what: str) -> None:
    """Let the event loop run until `condition()` holds (no clock: a bounded number of turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never: {what}")


@pytest.fixture
async def loop_parts() -> tuple[BatchLoop, Producer, Consumer, list[str]]:
    calls: list[str] = []
    settings = NormalizeSettings(mapper_processes=0)
    loop = BatchLoop(settings, Normalizer.fresh(CTX), NormalizeMetrics())
    return loop, Producer(calls), Consumer(calls), calls


async def first_batch_handled(
    loop: BatchLoop, producer: Producer, consumer: Consumer, calls: list[str]
) -> Batches:
    """Hand the loop a first batch: it returns once its records are delivered and its commit is issued,
    not done. Returns a second batch to hand it next."""
    first, second = batch(0, [accepted("sedex")]), batch(1, [accepted("amfori")])
    first_done = asyncio.create_task(loop.handle(consumer, producer, first, mapped(first)))
    await until(first_done.done, "the first batch handled before its commit is done")
    await until(lambda: "commit 1" in calls, "the first batch's commit issued")
    assert "committed 1" not in calls
    return second


async def test_the_next_batch_is_sent_while_the_last_commit_is_in_flight(
    loop_parts: tuple[BatchLoop, Producer, Consumer, list[str]],
) -> None:
    loop, producer, consumer, calls = loop_parts
    second = await first_batch_handled(loop, producer, consumer, calls)

    # The second batch is settled and sent meanwhile, and its commit waits for the first one's.
    second_done = asyncio.create_task(loop.handle(consumer, producer, second, mapped(second)))
    await until(lambda: sum(c.startswith("send") for c in calls) > calls.index("commit 1"), "second sends")
    for _ in range(100):  # however long the first commit takes, the second waits for it
        await asyncio.sleep(0)
    assert not second_done.done() and "commit 2" not in calls
    consumer.release()
    await second_done
    await until(lambda: "commit 2" in calls, "the second batch's commit issued")
    assert calls.index("committed 1") < calls.index("commit 2")
    consumer.release()
    await loop._committing()
    # Every send of a batch comes before that batch's commit.
    last_send = max(i for i, c in enumerate(calls) if c.startswith("send"))
    assert last_send < calls.index("commit 2")
    assert loop.positions.read_offsets[TP] == 1


async def test_a_failed_commit_stops_the_loop_at_the_next_batch_with_that_batch_uncommitted(
    loop_parts: tuple[BatchLoop, Producer, Consumer, list[str]],
) -> None:
    loop, producer, consumer, calls = loop_parts
    second = await first_batch_handled(loop, producer, consumer, calls)
    consumer.fail(RuntimeError("coordinator refused the commit"))
    with pytest.raises(RuntimeError, match="refused the commit"):
        await loop.handle(consumer, producer, second, mapped(second))
    assert "commit 2" not in calls
    assert TP not in loop.positions.read_offsets
    await loop._committing()  # reported once: the loop's way out does not meet the failure again
