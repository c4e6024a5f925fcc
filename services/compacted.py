"""Read a compacted topic's current state: the last value per key, tombstones applied.

The services keep their own state in compacted topics (not faust tables, see docs/ingest.md) and read
it back in full when they start, before they consume anything.
"""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def read_compacted(bootstrap: str, topic: str, timeout_s: float = 300.0) -> dict[str, bytes]:
    """From the start to the end offsets the topic has now; a missing topic is empty."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    tps = [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
    state: dict[str, bytes] = {}
    if not tps:
        return state
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout_s}s")
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                for r in records:
                    if r.key is None:
                        continue
                    if r.value is None:
                        state.pop(r.key.decode(), None)
                    else:
                        state[r.key.decode()] = r.value
    finally:
        await consumer.stop()
    return state
