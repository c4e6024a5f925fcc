"""Acceptance for ingest, against the real broker and the service run as its own process.

N valid events of both platforms, M invalid ones covering every rejection class and D redeliveries;
ingest is stopped half-way and started again. Afterwards: N accepted exactly once, M dead-lettered
byte-for-byte with the right reason, D duplicates counted, every offset committed, no raw
identifier or name in the service's log.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from services.ingest.reasons import ReasonClass
from services.kafka_auth import client_options
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.publish import publish
from tests.support.kafka import committed_offsets, create_topics, end_offsets, eventually, read_topic, unique
from tests.support.service import ingest_under_test

pytestmark = pytest.mark.broker

CONSUMED = "sx_ingest_messages_consumed_total"
DUPLICATES = "sx_ingest_duplicates_total"


async def test_ingest_accepts_dead_letters_and_deduplicates_across_a_restart(
    bootstrap: str, tmp_path: Path
) -> None:
    feed = generate_feed(seed=11, sites_per_platform=30, start=date(2026, 1, 1), months=6)
    messages = feed.messages
    expects = Counter(m.expect for m in messages)
    invalid_classes = {e.removeprefix("invalid:") for e in expects if e.startswith("invalid:")}
    contract_classes = {c.value for c in ReasonClass} - {"invalid", "internal_error", "unexpected_field"}
    assert contract_classes <= invalid_classes, contract_classes - invalid_classes

    ingest = ingest_under_test(bootstrap, tmp_path, unique("t"))
    topics, service, app_id = ingest.platform_topics, ingest.service, ingest.app_id
    accepted_topic, dlq_topic, seen_topic = ingest.accepted, ingest.dlq, ingest.seen
    await create_topics(bootstrap, [*topics.values(), accepted_topic, dlq_topic])
    half = len(messages) // 2
    try:
        await publish(messages[:half], bootstrap, topics=topics, security=client_options())
        service.start()
        service.wait_healthy()

        async def consumed(n: int) -> bool:
            return service.metric_sum(CONSUMED) >= n

        async def all_committed() -> None:
            for source in topics.values():
                ends = await end_offsets(bootstrap, source)

                async def committed(source: str = source, ends: dict[int, int] = ends) -> bool:
                    return await committed_offsets(bootstrap, app_id, source) == ends

                await eventually(committed, 30, f"offsets of {source} committed")

        await eventually(lambda: consumed(half), 120, "first half consumed")
        await all_committed()
        duplicates_first_run = service.metric_sum(DUPLICATES)
        assert service.stop() == 0, service.log_tail()
        await all_committed()  # a clean stop must not move committed offsets back

        await publish(messages[half:], bootstrap, topics=topics, security=client_options())
        service.start()
        service.wait_healthy()
        # The first run committed everything it read: the second run reads only the second half.
        await eventually(lambda: consumed(len(messages) - half), 120, "second half consumed")
        print("SECOND", service.metric_sum(CONSUMED), len(messages) - half)
        assert service.metric_sum("sx_ingest_replays_total") == 0
        duplicates = duplicates_first_run + service.metric_sum(DUPLICATES)

        await all_committed()
    finally:
        if service.proc is not None:
            service.stop()
        log = service.log_tail(10**7)

    n_valid = expects["valid"] + expects["stale"]
    accepted = await read_topic(bootstrap, accepted_topic)
    dead = await read_topic(bootstrap, dlq_topic)
    await delete_topics(bootstrap, [*topics.values(), accepted_topic, dlq_topic, seen_topic])

    ce_ids = Counter(r.header("ce_id") for r in accepted)
    assert len(accepted) == n_valid and len(ce_ids) == n_valid, (len(accepted), len(ce_ids), n_valid)
    expected_ids = {
        json.loads(m.value).get("eventId") or json.loads(m.value).get("id")
        for m in messages
        if m.expect in ("valid", "stale")
    }
    assert {json.loads(r.value or b"")["event_id"] for r in accepted} == expected_ids
    assert duplicates == expects["redelivery"]

    invalid = [m for m in messages if m.expect.startswith("invalid:")]
    assert len(dead) == len(invalid)
    by_value = {m.value: m for m in invalid}
    for record in dead:
        original = by_value[record.value or b""]  # byte-for-byte: the value is the original
        assert record.key == original.key
        assert list(record.headers[: len(original.headers)]) == list(original.headers)
        assert record.header("dlq_reason_class") == original.expect.removeprefix("invalid:").encode()
        assert record.header("dlq_reason")
        assert record.header("dlq_source_topic") in {t.encode() for t in topics.values()}
        assert int(record.header("dlq_source_offset") or b"-1") >= 0

    leaked = [s for s in feed.confidential_strings() if len(s) >= 6 and s in log]
    assert not leaked, leaked[:5]
