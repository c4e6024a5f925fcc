"""services.transaction against the real broker: a transaction whose record the broker refuses fails
and shows nothing, where aiokafka's own `producer.transaction()` commits "successfully" with the
refused batch silently missing (the control, which shows what the protection is for).

The refusal used is the one a release met: a record stamped more than an hour ahead of the broker's
clock (Kafka's default `log.message.timestamp.after.max.ms`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.kafka_auth import client_options
from services.topics import delete_topics
from services.transaction import transaction
from tests.support.kafka import create_topics, read_topic, unique

pytestmark = pytest.mark.broker
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=unique("sx-test-txn"),
        enable_idempotence=True,
        **client_options(),
    )
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def test_a_refused_record_fails_the_transaction_and_nothing_is_shown(
    bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic = unique("txn-refused")
    await create_topics(bootstrap, [topic], partitions=2)
    try:
        now = int(time.time() * 1000)
        with pytest.raises(KafkaError):
            async with transaction(producer) as tx:
                await tx.send(topic, b"fine", partition=0, timestamp_ms=now)
                await tx.send(topic, b"from tomorrow", partition=1, timestamp_ms=now + DAY_MS)
        assert await read_topic(bootstrap, topic) == []
    finally:
        await delete_topics(bootstrap, [topic])


async def test_an_accepted_transaction_commits_every_record(
    bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic = unique("txn-accepted")
    await create_topics(bootstrap, [topic], partitions=2)
    try:
        async with transaction(producer) as tx:
            for i in range(10):
                await tx.send(topic, str(i).encode(), partition=i % 2)
        values = sorted(r.value or b"" for r in await read_topic(bootstrap, topic))
        assert values == [str(i).encode() for i in range(10)]
    finally:
        await delete_topics(bootstrap, [topic])


async def test_without_the_protection_the_refused_batch_is_lost_and_the_commit_succeeds(
    bootstrap: str, producer: AIOKafkaProducer
) -> None:
    """What aiokafka does on its own: the commit raises nothing, the refused record's partition shows
    nothing, and only the record's future knows. If this ever fails, aiokafka has started to abort such
    transactions itself, and services.transaction is belt and braces."""
    topic = unique("txn-control")
    await create_topics(bootstrap, [topic], partitions=2)
    try:
        now = int(time.time() * 1000)
        async with producer.transaction():
            fine = await producer.send(topic, b"fine", partition=0, timestamp_ms=now)
            refused = await producer.send(topic, b"from tomorrow", partition=1, timestamp_ms=now + DAY_MS)
        await fine
        with pytest.raises(KafkaError):
            await refused
        assert [r.value for r in await read_topic(bootstrap, topic)] == [b"fine"]
    finally:
        await delete_topics(bootstrap, [topic])
