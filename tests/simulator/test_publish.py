"""publish() delivers every message, unchanged and in order per key, to the topics it is told to use.

The test writes to a fresh pair of topics of its own so that it neither depends on nor disturbs what
other tests and the demo put on the real platform topics.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from datetime import date

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.kafka_auth import client_options
from simulator import AMFORI_TOPIC, SEDEX_TOPIC, generate_feed, publish
from simulator.__main__ import main

TWO_MIB = str(2 * 1024 * 1024)


@pytest.mark.broker
async def test_publish_delivers_the_whole_feed_byte_for_byte(bootstrap: str) -> None:
    feed = generate_feed(21, 40, date(2025, 1, 1), 6)
    assert feed.counts["invalid:too_large"] >= 1  # the 1 MiB+ messages must get through too
    suffix = uuid.uuid4().hex[:10]
    topics = {SEDEX_TOPIC: f"test.sim.sedex.{suffix}", AMFORI_TOPIC: f"test.sim.amfori.{suffix}"}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, 6, 1, topic_configs={"max.message.bytes": TWO_MIB}) for t in topics.values()]
        )
        result = await publish(feed, bootstrap, topics=topics, security=client_options())
        assert result["sent"] == len(feed)
        assert result["by_topic"] == dict(sorted(Counter(topics[m.topic] for m in feed.messages).items()))

        received = await _read_all(bootstrap, list(topics.values()), len(feed))
        expected: dict[tuple[str, bytes | None], list[tuple[bytes, list[tuple[str, bytes]]]]] = defaultdict(
            list
        )
        for m in feed.messages:
            expected[(topics[m.topic], m.key)].append((m.value, m.headers))
        # Same key -> same partition, and the idempotent producer keeps order there.
        assert received == expected
    finally:
        await admin.delete_topics(list(topics.values()))
        await admin.close()


async def _read_all(
    bootstrap: str, topics: list[str], count: int, timeout_s: float = 60.0
) -> dict[tuple[str, bytes | None], list[tuple[bytes, list[tuple[str, bytes]]]]]:
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        **client_options(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    out: dict[tuple[str, bytes | None], list[tuple[bytes, list[tuple[str, bytes]]]]] = defaultdict(list)
    got = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while got < count and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    out[(r.topic, r.key)].append((r.value, [(k, bytes(v)) for k, v in r.headers]))
                    got += 1
    finally:
        await consumer.stop()
    assert got == count, f"read {got} of {count} messages before the deadline"
    return out


def test_cli_dry_run_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "7", "--sites", "30", "--months", "3", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "sedex.changes.v1:" in out and "amfori.changes.v1:" in out
    assert "valid=" in out and "dry run" in out


def test_cli_can_leave_out_malformed_messages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "7", "--sites", "30", "--months", "3", "--dry-run", "--no-malformed"]) == 0
    assert "invalid=" not in capsys.readouterr().out
