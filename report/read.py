"""Read the public aggregate topics as a subscriber reads them.

Committed records only (`isolation_level="read_committed"`: an aborted release is never seen), from
the beginning of each partition to the end it has when the read starts, every client authenticated
with `services.kafka_auth.client_options()` (the principal of whoever runs the report: a subscriber
may read the public topics and nothing else). Per key, the last value wins and a tombstone removes the
cell, as compaction would; `report.view.latest_per_cell` then keeps each cell's latest revision.

(`services.compacted.read_compacted` does the same but does not take the SASL options yet; the report
does not edit services, so it reads here.)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.exchange.aggregates import TABLES, AnyMessage, parse_message, topic_of
from services.kafka_auth import client_options


async def _partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the topics that exist; a missing topic has none (nothing released yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if not d.get("error_code")
        for p in sorted(d["partitions"], key=lambda p: int(p["partition"]))
    ]


async def _stop(consumer: AIOKafkaConsumer) -> None:
    # aiokafka may raise a stray CancelledError stopping a group-less consumer (services.compacted).
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


async def _high_watermarks(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """Past every record, committed or not: a read_committed consumer's end offset is the last stable
    offset, which lags a just-committed transaction until its markers are written."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options())
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await _stop(consumer)


async def read_values(bootstrap: str, topics: Iterable[str], timeout_s: float = 300.0) -> list[bytes]:
    """The current value of every key of `topics` (last value per key, tombstones applied)."""
    tps = await _partitions(bootstrap, list(topics))
    if not tps:
        return []
    ends = await _high_watermarks(bootstrap, tps)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **client_options(),
    )
    await consumer.start()
    state: dict[tuple[str, bytes], bytes] = {}
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout_s
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read the aggregate topics to their end in {timeout_s}s")
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                for r in records:
                    if r.key is None:
                        continue
                    if r.value is None:
                        state.pop((r.topic, r.key), None)
                    else:
                        state[(r.topic, r.key)] = r.value
    finally:
        await _stop(consumer)
    return [state[k] for k in sorted(state)]


async def read_messages(bootstrap: str, prefix: str = "", tables: Iterable[str] = TABLES) -> list[AnyMessage]:
    """The latest message under every key of the tables' public topics (`prefix` + topic: a test's
    private copies). A value that is no valid message is reported on stderr and left out: the report
    prints only what a valid public message holds."""
    out: list[AnyMessage] = []
    for value in await read_values(bootstrap, [prefix + topic_of(t) for t in tables]):
        try:
            out.append(parse_message(value))
        except ValueError as exc:
            print(f"report: skipped a value that is no aggregate message: {exc}", file=sys.stderr)
    return out
