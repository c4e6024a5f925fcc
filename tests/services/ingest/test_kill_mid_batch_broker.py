"""SIGKILL in the middle of a batch (issue 12): ingest commits each batch's outputs (accepted, dead
letters, seen records) and its input offsets in one Kafka transaction, so a process killed while a
batch is in flight leaves nothing a `read_committed` reader sees twice, and loses nothing.

Two ways to land the kill inside a batch:

* the crash-test hook `INGEST_HOLD_TRANSACTION_SECONDS` keeps every transaction open after its records
  and offsets are sent: the test waits until the records of the open transaction are on the topic
  (read_uncommitted sees more than read_committed), then kills the process;
* no hook, a feed at full speed in batches of 100, killed as soon as one has been counted.

After a restart (the same transactional id: the restart fences the killed transaction), the outputs are
compared with an expectation computed from the feed's own labels, not from ingest: every valid or stale
event accepted exactly once, every invalid message dead-lettered exactly once with its reason class,
every redelivery recorded in the seen topic and not forwarded; and the group's offsets at the end.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from aiokafka.partitioner import murmur2

from services.kafka_auth import client_options
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.message import FeedMessage
from simulator.publish import publish
from tests.support.kafka import (
    Record,
    committed_offsets,
    create_topics,
    end_offsets,
    eventually,
    read_topic,
    unique,
)
from tests.support.service import IngestUnderTest, ingest_under_test

pytestmark = pytest.mark.broker

CONSUMED = "sx_ingest_messages_consumed_total"
HOLD = "INGEST_HOLD_TRANSACTION_SECONDS"
PARTITIONS = 6  # create_topics' default


def feed(seed: int, sites: int) -> list[FeedMessage]:
    messages = generate_feed(
        seed=seed, sites_per_platform=sites, start=date(2026, 1, 1), months=6, redelivery_rate=0.2
    ).messages
    # The one oversized message needs larger client buffers than publish's; it has a test of its own.
    return [m for m in messages if len(m.value) < 1_000_000]


async def all_committed(bootstrap: str, ingest: IngestUnderTest, timeout: float) -> None:
    for source in ingest.platform_topics.values():
        ends = await end_offsets(bootstrap, source)

        async def committed(source: str = source, ends: dict[int, int] = ends) -> bool:
            return await committed_offsets(bootstrap, ingest.app_id, source) == ends

        await eventually(committed, timeout, f"the offsets of {source} committed to its end")


async def check_exactly_once(bootstrap: str, ingest: IngestUnderTest, messages: list[FeedMessage]) -> None:
    """The committed outputs against what the feed's labels say each message must become."""
    accepted = await read_topic(bootstrap, ingest.accepted)
    dead = await read_topic(bootstrap, ingest.dlq)
    seen = await read_topic(bootstrap, ingest.seen)

    expected_ids = Counter(
        f"{'sedex' if m.topic.startswith('sedex') else 'amfori'}:{_event_id(m.value)}"
        for m in messages
        if m.expect in ("valid", "stale")
    )
    assert max(expected_ids.values()) == 1  # the feed's events have distinct ids
    got_ids = Counter((r.header("ce_id") or b"").decode() for r in accepted)
    doubled = [ce_id for ce_id, n in got_ids.items() if n > 1]
    assert not doubled, f"{len(doubled)} events accepted more than once, e.g. {doubled[:3]}"
    assert got_ids == expected_ids, (len(got_ids), len(expected_ids))

    expected_dead = Counter(
        (m.value, m.expect.removeprefix("invalid:")) for m in messages if m.expect.startswith("invalid:")
    )
    got_dead = Counter((r.value, (r.header("dlq_reason_class") or b"").decode()) for r in dead)
    assert got_dead == expected_dead
    assert all(r.header("dlq_reason") for r in dead)

    latest: dict[bytes | None, Record] = {r.key: r for r in seen}
    redeliveries = sum(len(json.loads(r.value or b"[]")) - 1 for r in latest.values())
    assert redeliveries == sum(1 for m in messages if m.expect == "redelivery")
    assert len(latest) == len(expected_ids)  # one entry per forwarded event

    # The records went where the producer's key partitioner puts them (as before record batches).
    for r in accepted[:500]:
        assert r.partition == (murmur2(r.key or b"") & 0x7FFFFFFF) % PARTITIONS


def _event_id(value: bytes) -> str:
    obj = json.loads(value)
    return str(obj.get("eventId") or obj.get("id"))


async def test_a_sigkill_while_a_transaction_is_open_leaves_every_message_once(
    bootstrap: str, tmp_path: Path
) -> None:
    messages = feed(seed=31, sites=40)
    ingest = ingest_under_test(bootstrap, tmp_path, unique("kb"))
    topics, service = ingest.platform_topics, ingest.service
    outputs = [ingest.accepted, ingest.dlq]
    await create_topics(bootstrap, [*topics.values(), *outputs])
    try:
        half = await ingest.start_on_first_half(bootstrap, messages)
        await all_committed(bootstrap, ingest, 60)
        assert service.stop() == 0, service.log_tail()
        committed_before = len(await read_topic(bootstrap, ingest.accepted))

        service.env[HOLD] = "60"  # every transaction stays open once its records are sent
        service.start()
        service.wait_healthy()
        await publish(messages[half:], bootstrap, topics=topics, security=client_options())

        async def in_flight() -> bool:
            uncommitted = await read_topic(bootstrap, ingest.accepted, isolation="read_uncommitted")
            return "holding the transaction open" in service.log_tail(10**6) and len(uncommitted) > len(
                await read_topic(bootstrap, ingest.accepted, stable=True)
            )

        await eventually(in_flight, 60, "a batch's records written inside its open transaction")
        assert len(await read_topic(bootstrap, ingest.accepted, stable=True)) == committed_before
        assert service.kill() == -9

        service.env[HOLD] = "0"
        service.start()  # the same transactional id: fences the killed one's transaction at once
        service.wait_healthy()
        await all_committed(bootstrap, ingest, 120)
        assert service.metric_sum(CONSUMED) == len(messages) - half  # the killed batch, read again
        uncommitted = await read_topic(bootstrap, ingest.accepted, isolation="read_uncommitted")
        await check_exactly_once(bootstrap, ingest, messages)
        aborted = len(uncommitted) - len(await read_topic(bootstrap, ingest.accepted))
        assert aborted > 0  # the killed batch's records are on the log, aborted
        print(f"\nkill mid-transaction: {len(messages)} messages, {aborted} accepted records aborted")
    finally:
        if service.proc is not None:
            service.stop()
        await delete_topics(bootstrap, [*topics.values(), *outputs, ingest.seen])


async def test_a_sigkill_at_full_speed_leaves_every_message_once(bootstrap: str, tmp_path: Path) -> None:
    messages = feed(seed=32, sites=300)
    ingest = ingest_under_test(bootstrap, tmp_path, unique("kf"))
    topics, service = ingest.platform_topics, ingest.service
    service.env["INGEST_BATCH_MAX_RECORDS"] = "100"  # many batches: one is always in flight
    outputs = [ingest.accepted, ingest.dlq]
    await create_topics(bootstrap, [*topics.values(), *outputs])
    try:
        await publish(messages, bootstrap, topics=topics, security=client_options())
        service.start()
        service.wait_healthy()

        async def under_way() -> bool:
            return service.metric_sum(CONSUMED) > 0

        await eventually(under_way, 60, "the first batch committed")
        consumed = service.metric_sum(CONSUMED)
        assert service.kill() == -9
        assert consumed < len(messages), "the whole feed went through before the kill"

        service.start()
        service.wait_healthy()
        await all_committed(bootstrap, ingest, 120)
        await check_exactly_once(bootstrap, ingest, messages)
        print(f"\nkill at full speed after {consumed:.0f} of {len(messages)} messages")
    finally:
        if service.proc is not None:
            service.stop()
        await delete_topics(bootstrap, [*topics.values(), *outputs, ingest.seen])
