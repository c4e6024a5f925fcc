"""Publish a feed to Kafka in feed order, as fast as the client allows.

Delivery is awaited for every message (acks=all, idempotent producer) because a demo or load test
that silently lost messages would measure the wrong thing. A window of messages is handed to the
producer as whole record batches, one per partition (`services.record_batches`, the services' own
writer: the key's murmur2 partition, as `send()` chooses it, every key of the window hashed at once),
and their deliveries are awaited together: per-record `send()` calls cost the publisher half a core
in the year's back-fill (`python -m bench.backfill`), CPU the services under test then lacked on a
two-core machine. The idempotent producer keeps the order of each partition.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaProducer

from services.record_batches import Output, deliver_as_batches
from simulator.feed import Feed
from simulator.message import FeedMessage

# Big enough for the too_large messages (just over 1 MiB), which must reach ingest to be rejected there.
MAX_REQUEST_SIZE = 4 * 1024 * 1024


async def publish(
    feed: Feed | Iterable[FeedMessage],
    bootstrap: str,
    linger_ms: int = 5,
    *,
    topics: Mapping[str, str] | None = None,
    window: int = 20_000,
    max_batch_size: int = 512 * 1024,
    max_request_size: int = MAX_REQUEST_SIZE,
    client_id: str = "sourcing-exchange-simulator",
    security: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Send every message of ``feed`` and wait until each is acknowledged by all in-sync replicas.

    ``topics`` maps the feed's topic names to the ones to write to (tests use fresh topics); names
    not in it are used as they are. ``security`` is the producer's SASL options (the caller's
    `services.kafka_auth.client_options()`; the simulator stands for the platforms and does not read
    the exchange's settings). Returns ``{"sent", "bytes", "by_topic", "seconds", "per_second"}``.
    """
    messages = feed.messages if isinstance(feed, Feed) else feed
    rename = dict(topics or {})
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        compression_type=None,
        max_batch_size=max_batch_size,
        max_request_size=max_request_size,
        request_timeout_ms=60_000,
        **dict(security or {}),
    )
    by_topic: Counter[str] = Counter()
    sent = size = 0
    started = time.perf_counter()
    await producer.start()
    try:
        chunk: list[Output] = []
        for m in messages:
            topic = rename.get(m.topic, m.topic)
            chunk.append(Output(topic, m.key, m.value, list(m.headers)))
            by_topic[topic] += 1
            sent += 1
            size += len(m.value)
            if len(chunk) >= window:
                await deliver_as_batches(producer, chunk)
                chunk = []
        await deliver_as_batches(producer, chunk)
    finally:
        await producer.stop()
    seconds = time.perf_counter() - started
    return {
        "sent": sent,
        "bytes": size,
        "by_topic": dict(sorted(by_topic.items())),
        "seconds": round(seconds, 3),
        "per_second": round(sent / seconds) if seconds > 0 else 0,
    }
