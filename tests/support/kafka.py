"""Broker helpers for tests: private topics, reading a topic to a count, committed offsets.

Everything waits on a condition with a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.compacted import high_watermarks, partitions, stop_quietly
from services.kafka_auth import client_options
from services.topics import TopicSpec, ensure_topics


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 6, **kw: Any) -> None:
    await ensure_topics(bootstrap, tuple(TopicSpec(n, partitions, **kw) for n in names))


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int = -1  # the record's timestamp (ms since the epoch)

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Record]], bool] | None = None,
    timeout: float = 60.0,
    isolation: str = "read_committed",
    stable: bool = False,
) -> list[Record]:
    """All records of `topic` from the beginning, read until its end offsets (or `until` holds).

    By default what a subscriber sees: never an aborted or open transaction's records, read to the
    high watermarks. With `isolation="read_uncommitted"`, those too (to watch a transaction that has
    not committed). With `stable=True`, to the last stable offsets instead: what a subscriber can
    read *while* a transaction is open (reading to the high watermark would wait for its end)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_options(),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = (
            dict(await consumer.end_offsets(partitions))
            if stable
            else await high_watermarks(bootstrap, partitions)
        )
        while True:
            positions = {tp: await consumer.position(tp) for tp in partitions}
            caught_up = all(positions[tp] >= ends[tp] for tp in partitions)
            if caught_up and (until is None or until(records)):
                return records
            if caught_up:  # `until` wants more: the topic may have grown
                ends = await high_watermarks(bootstrap, partitions)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: {len(records)} records read before the deadline")
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                for m in messages:
                    records.append(
                        Record(
                            m.topic,
                            m.partition,
                            m.offset,
                            m.key,
                            m.value,
                            tuple(m.headers or ()),
                            m.timestamp,
                        )
                    )
    finally:
        await stop_quietly(consumer)


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`; a test's topic must exist."""
    found = (await partitions(bootstrap, [topic]))[topic]
    if not found:
        raise AssertionError(f"topic {topic} has no partitions")
    return found


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, **client_options(), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        out: dict[int, int] = {}
        for tp in await partitions_of(bootstrap, topic):
            committed = await consumer.committed(tp)
            out[tp.partition] = -1 if committed is None else committed
        return out
    finally:
        await stop_quietly(consumer)


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    ends = await high_watermarks(bootstrap, await partitions_of(bootstrap, topic))
    return {tp.partition: offset for tp, offset in ends.items()}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)  # polling interval between checks of a condition, not a wait for Kafka


async def send_state(
    producer: AIOKafkaProducer, prefix: str, state: Mapping[str, Mapping[str, bytes]], topics: Iterable[str]
) -> None:
    """Write a compacted state (topic -> key -> value, as the in-process engines give it) to the
    prefixed topics, and wait until the broker has it all."""
    for topic in topics:
        for key, value in state.get(topic, {}).items():
            await producer.send(prefix + topic, value, key=key.encode())
    await producer.flush()
