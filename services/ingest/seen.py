"""Which platform events ingest has forwarded, kept in a compacted topic of its own.

Why not a faust Table: faust 0.15's table recovery resumes stream partitions before seeking them to
their committed offsets, so after every restart with a non-empty changelog some records are
processed twice and, through faust-streaming#606, one can be skipped for good (our acceptance test
lost about one event in three restarts). Without tables faust takes its fixed recovery path. The
state is the same shape a changelog would hold: key `platform:eventId`, value the positions that
carried it, `[first, *redeliveries]`; it is read back in full before the worker starts.

The topic has the platform topics' partition count and the same keys' partitioner is irrelevant:
every ingest process loads all of it, so a rebalance never leaves a process without the ids of a
partition it is given (the cost: memory for every id within the topic's life, ~100 B per event).
"""

from __future__ import annotations

import json
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class SeenEvents:
    def __init__(self, entries: dict[str, list[str]] | None = None) -> None:
        self._entries: dict[str, list[str]] = entries or {}

    def __len__(self) -> int:
        return len(self._entries)

    def positions(self, key: str) -> list[str]:
        return self._entries.get(key, [])

    def record(self, key: str, positions: list[str]) -> bytes:
        """Updates memory; returns the value to write to the topic."""
        self._entries[key] = positions
        return json.dumps(positions, separators=(",", ":")).encode()

    @classmethod
    async def load(cls, bootstrap: str, topic: str, timeout_s: float = 300.0) -> SeenEvents:
        """Reads the topic from its start to the end offsets it has now; the last value per key wins."""
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            (description,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        tps = [TopicPartition(topic, p["partition"]) for p in description["partitions"]]
        entries: dict[str, list[str]] = {}
        if not tps:
            return cls(entries)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
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
                            entries.pop(r.key.decode(), None)
                        else:
                            entries[r.key.decode()] = json.loads(r.value)
        finally:
            await consumer.stop()
        return cls(entries)
