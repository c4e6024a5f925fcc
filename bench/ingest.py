"""Ingest throughput and latency against the real broker, beside the aiokafka pass-through baseline.

Both run in the same invocation on the same input values (the simulator's feed of both platforms,
with its redeliveries, stale versions and malformed messages), so the ratio between the rows is the
cost of ingest itself: validation into the platform models, dedup table and its changelog, the
envelope and CloudEvents headers, faust's machinery.

Latency of a record is its arrival at a reader minus its input's CreateTime: ingest keeps the input
timestamp on its outputs, so no header has to survive. The ingest service runs as it does in
production (`python -m services.ingest`), in its own process, whose peak RSS is reported.

    python -m bench.ingest --events 200000 [--rate 10000]
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from aiokafka import TopicPartition

from bench import command
from bench.harness import Result, produce_values, rss_mib, unique_topic_names, warmup_of
from bench.ingest_service import IngestTopics
from bench.output import read_output, send_and_read
from bench.passthrough import run_passthrough
from bench.service import stop, under_test
from services.compacted import from_the_start
from services.kafka_auth import client_options
from simulator.feed import generate_feed
from simulator.message import FeedMessage
from simulator.publish import publish

PARTITIONS = 6
EVENTS_PER_SITE_YEAR = 7  # roughly what the simulator produces per platform site and year


def feed_messages(events: int, seed: int = 42) -> list[FeedMessage]:
    """`events` messages of a realistic feed (both platforms, a year).

    The feed's one oversized message (> 1 MiB, dead-lettered by ingest) is left out: the baseline's
    default-configured clients cannot carry it, and one message does not move a throughput figure.
    """
    sites = max(20, events // (2 * EVENTS_PER_SITE_YEAR))
    while True:
        messages = [m for m in generate_feed(seed, sites).messages if len(m.value) < 1_000_000]
        if len(messages) >= events:
            return messages[:events]
        sites = int(sites * 1.5 * events / max(1, len(messages))) + 1


async def _send(
    bootstrap: str, messages: list[FeedMessage], topics: dict[str, str], rate: float | None
) -> None:
    if rate is None:
        await publish(messages, bootstrap, topics=topics, security=client_options())
        return
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for m in messages:
        by_topic.setdefault(topics[m.topic], []).append((m.key, m.value))
    total = len(messages)
    await asyncio.gather(
        *(
            produce_values(bootstrap, topic, values, rate_per_s=rate * len(values) / total)
            for topic, values in by_topic.items()
        )
    )


async def run_ingest(
    bootstrap: str, messages: list[FeedMessage], *, rate_per_s: float | None = None
) -> Result:
    """One run of the real ingest service on fresh topics, deleted afterwards.

    Raises unless the accepted and dead-letter topics hold exactly what the feed's labels predict,
    because a figure from a run that lost or duplicated data would be meaningless.
    """
    topics = IngestTopics(*unique_topic_names("ingest", "sedex", "amfori", "accepted", "dlq", "seen"))
    expects = Counter(m.expect.split(":")[0] for m in messages)
    n_accepted = expects["valid"] + expects["stale"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120 + len(messages) / 1_000
    async with under_test(
        "ingest",
        bootstrap,
        f"bench-ingest-{uuid.uuid4().hex[:10]}",
        {**topics.env(), "INGEST_LOG_LEVEL": "warning"},
        lambda r: r.get("assigned_partitions", 0) >= 2 * PARTITIONS,
        create=topics.created,
        partitions=PARTITIONS,
        delete=topics.all,
    ) as ingest:
        latencies, seconds = await send_and_read(
            read_output(
                bootstrap,
                topics.accepted,
                PARTITIONS,
                n_accepted,
                deadline,
                ingest.worker,
                stamp_ns=_create_time_ns,
                isolation_level="read_committed",
            ),
            _send(bootstrap, messages, topics.platform, rate_per_s),
        )
        peak = rss_mib(ingest.worker.pid).peak
        await stop(ingest.worker, "ingest")
        # Read, not end offsets: ingest writes in transactions, whose commit markers take offsets too.
        stored = await committed_records(bootstrap, topics.accepted)
        dead = await committed_records(bootstrap, topics.dlq)
        if stored != n_accepted or dead != expects["invalid"]:
            raise RuntimeError(
                f"accepted {stored} (expected {n_accepted}), dead-lettered {dead} (expected "
                f"{expects['invalid']})"
            )
    return Result.measure("ingest (service)", len(messages), seconds, latencies, peak, warmup_of(rate_per_s))


async def committed_records(bootstrap: str, topic: str) -> int:
    """How many records a read_committed reader finds in `topic` (each partition to its end)."""
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    async with from_the_start(bootstrap, tps) as (consumer, ends):
        count = 0
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                count += len(records)
        return count


def _create_time_ns(record: Any) -> int:
    return int(record.timestamp) * 1_000_000


async def compare(bootstrap: str, events: int, rate_per_s: float | None) -> list[Result]:
    messages = feed_messages(events)
    values = [m.value for m in messages]
    baseline = await run_passthrough(bootstrap, len(values), values.__getitem__, rate_per_s=rate_per_s)
    return [baseline, await run_ingest(bootstrap, messages, rate_per_s=rate_per_s)]


def main(argv: list[str] | None = None) -> None:
    command.beside_baseline(argv, "python -m bench.ingest", __doc__, "ingest", compare, events=100_000)


if __name__ == "__main__":
    main()
