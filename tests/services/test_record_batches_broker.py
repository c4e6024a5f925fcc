"""services.record_batches against the real broker: a batch handed over whole is sent at once, not
after the producer's `linger_ms` (which every hop of every event paid before)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer

from services.kafka_auth import client_options
from services.record_batches import Output, send_as_batches
from services.topics import delete_topics
from services.transaction import Sends
from tests.support.kafka import create_topics, read_topic, unique

pytestmark = pytest.mark.broker

A_MINUTE_MS = 60_000


async def test_a_batch_handed_over_whole_is_delivered_without_waiting_out_the_linger(bootstrap: str) -> None:
    """With `linger_ms` a minute, an open batch would sit in the producer for that minute: delivered
    within the deadline, it was sent as soon as it was handed over."""
    topic = unique("sx-test-batches")
    await create_topics(bootstrap, [topic], partitions=2)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_options(), acks="all", linger_ms=A_MINUTE_MS
    )
    await producer.start()
    try:
        sends = Sends(producer)
        outputs = [Output(topic, b"k%d" % i, b"v%d" % i, [], partition=i % 2) for i in range(10)]
        await send_as_batches(sends, outputs)
        await asyncio.wait_for(sends.delivered(), timeout=20)
        values = [r.value or b"" for r in await read_topic(bootstrap, topic)]
        assert sorted(values) == sorted(b"v%d" % i for i in range(10))
    finally:
        await producer.stop()
        await delete_topics(bootstrap, [topic])
