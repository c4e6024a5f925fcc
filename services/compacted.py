"""Read a compacted topic's current state: the last value per key, tombstones applied.

The services keep their own state in compacted topics (not faust tables, see docs/ingest.md) and read
it back in full when they start, before they consume anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.kafka_auth import client_options


async def high_watermarks(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """End offsets as a read_uncommitted client sees them: past every record, committed or not.

    A read_committed client's end offset is the last stable offset, which lags a committed
    transaction until the coordinator has written its markers (asynchronously, after the commit
    returns): read to it, and a reader can stop before records that are already committed.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await stop_quietly(consumer)


@asynccontextmanager
async def from_the_start(
    bootstrap: str, tps: list[TopicPartition]
) -> AsyncIterator[tuple[AIOKafkaConsumer, dict[TopicPartition, int]]]:
    """A `read_committed` consumer assigned to `tps` at their beginnings (no group: every reader of the
    exchange's own topics reads them whole), and the partitions' high watermarks when it started, which
    mark how far "caught up" is. Never an aborted transaction's records (a key rotation's, a release's)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **client_options(),
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        yield consumer, await high_watermarks(bootstrap, tps)
    finally:
        await stop_quietly(consumer)


async def stop_quietly(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer, absorbing aiokafka 0.14's stray CancelledError from a group-less consumer.

    `NoGroupCoordinator.close()` cancels its reset task and awaits it; if the task had not started
    yet, the await raises CancelledError although nobody cancelled *us*. Re-raise a real cancellation.
    """
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


async def partitions(bootstrap: str, topics: Iterable[str]) -> dict[str, list[TopicPartition]]:
    """Every partition of each topic, asked of the broker (a consumer knows only the topics it
    subscribed to); a topic that does not exist has none."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return {
        d["topic"]: [TopicPartition(d["topic"], p) for p in sorted(x["partition"] for x in d["partitions"])]
        for d in described
    }


async def partitions_once_created(
    bootstrap: str, topics: Iterable[str], creator: str, log: logging.Logger
) -> list[TopicPartition]:
    """Every partition of `topics`, once all of them exist: a follower started before the service that
    creates its inputs waits (reporting "restoring") rather than follow a subset for ever. Says once,
    in `log`, which topics it waits for from `creator`."""
    waited = False
    while True:
        found = await partitions(bootstrap, topics)
        missing = sorted(topic for topic, tps in found.items() if not tps)
        if not missing:
            return [tp for tps in found.values() for tp in tps]
        if not waited:
            log.info("waiting for %s's topics: %s", creator, ", ".join(missing))
            waited = True
        await asyncio.sleep(1.0)  # polls the broker's metadata until the creator has made the topics


async def read_compacted(bootstrap: str, topic: str, timeout_s: float = 300.0) -> dict[str, bytes]:
    """From the start to the end offsets the topic has now; a missing topic is empty.

    Committed records only; reads past the markers of transactions committed before the call.
    """
    tps = (await partitions(bootstrap, [topic]))[topic]
    by_partition = await read_compacted_partitions(bootstrap, tps, timeout_s)
    return {key: value for state in by_partition.values() for key, value in state.items()}


async def read_compacted_partitions(
    bootstrap: str, tps: list[TopicPartition], timeout_s: float = 300.0
) -> dict[TopicPartition, dict[str, bytes]]:
    """`read_compacted` of some partitions only, each partition's state apart (ingest's dedup state is
    per partition, co-partitioned with its input)."""
    states: dict[TopicPartition, dict[str, bytes]] = {tp: {} for tp in tps}
    if not tps:
        return states
    async with from_the_start(bootstrap, tps) as (consumer, ends):
        deadline = time.monotonic() + timeout_s
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {sorted(map(str, tps))} to its end in {timeout_s}s")
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).items():
                state = states[tp]
                for r in records:
                    if r.key is None:
                        continue
                    if r.value is None:
                        state.pop(r.key.decode(), None)
                    else:
                        state[r.key.decode()] = r.value
    return states
