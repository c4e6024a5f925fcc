"""Normalize against the real broker: ingest and normalize as their own processes on a simulated feed.

normalize is stopped half-way and started again. Afterwards: its compacted outputs equal what the
engine computes from the same accepted events in one uninterrupted pass (so the restart, the state
restored from its own topics and faust's delivery changed nothing), and no byte it wrote (topics,
keys, values, headers), logged or exposed as a metric contains a name, address, free text, raw
platform id, or an unkeyed SHA-256/MD5 of a raw id.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from schemas.exchange.accepted import AcceptedEvent
from services.kafka_auth import client_options
from services.normalize.settings import NormalizeSettings
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.publish import publish
from tests.services.normalize.test_engine import CTX, State, apply, resolved_id
from tests.support.kafka import committed_offsets, create_topics, end_offsets, eventually, read_topic, unique
from tests.support.service import ingest_under_test, normalize_under_test

pytestmark = pytest.mark.broker

# Bounded on both sides, so that a stretch of a UUID in faust's log (`...a784-8046354...`) is no match.
ID_PATTERN = re.compile(
    rb"(?<![0-9A-Za-z-])(?:Z[SC][0-9]{6,10}|[0-9]{3}-[0-9]{6,7}(?:-[0-9]{3})?)(?![0-9A-Za-z])"
)


def _compacted(records: list) -> dict[str, bytes]:  # type: ignore[type-arg]
    state: dict[str, bytes] = {}
    for r in records:
        key = (r.key or b"").decode()
        if r.value is None:
            state.pop(key, None)
        else:
            state[key] = r.value
    return state


async def test_normalize_is_private_and_restart_safe(bootstrap: str, tmp_path: Path) -> None:
    from services.normalize.engine import Normalizer
    from services.normalize.resolve import Resolver

    feed = generate_feed(seed=13, sites_per_platform=30, start=date(2025, 1, 1), months=6)
    messages = feed.messages
    suffix = unique("n")
    under_test = ingest_under_test(bootstrap, tmp_path, suffix)
    ingest, topics, accepted_topic = under_test.service, under_test.platform_topics, under_test.accepted
    prefix = f"{suffix}."
    ingest_topics = [*topics.values(), accepted_topic, under_test.dlq, under_test.seen]
    await create_topics(bootstrap, [*topics.values(), accepted_topic])
    settings = NormalizeSettings(topic_prefix=prefix)
    normalize_topics = [settings.topic(n) for n in settings.state_topics] + [settings.dlq_topic]

    normalize = normalize_under_test(
        bootstrap, tmp_path, "normalize", app_id=f"normalize-{suffix}", accepted=accepted_topic, prefix=prefix
    )
    consumed = "sx_normalize_events_consumed_total"
    half = len(messages) // 2
    metrics_text = ""
    try:
        ingest.start()
        ingest.wait_healthy()
        normalize.start()
        normalize.wait_healthy()
        await publish(messages[:half], bootstrap, topics=topics, security=client_options())

        async def caught_up(before: float = 0.0) -> bool:
            accepted = ingest.metric_sum("sx_ingest_messages_accepted_total")
            read = ingest.metric_sum("sx_ingest_messages_consumed_total")
            return read >= target and before + normalize.metric_sum(consumed) >= accepted

        target = half
        await eventually(caught_up, 120, "first half through ingest and normalize")
        first_run = normalize.metric_sum(consumed)
        assert normalize.stop() == 0, normalize.log_tail()

        await publish(messages[half:], bootstrap, topics=topics, security=client_options())
        target = len(messages)
        normalize.start()
        normalize.wait_healthy()
        await eventually(lambda: caught_up(first_run), 120, "second half through ingest and normalize")

        # Ingest writes the accepted topic in transactions, whose markers take offsets: caught up means
        # normalize's committed offsets reach the end offsets, not one short per partition for ever.
        async def committed_to_the_end() -> bool:
            committed = await committed_offsets(bootstrap, f"normalize-{suffix}", accepted_topic)
            ends = await end_offsets(bootstrap, accepted_topic)
            return all(committed.get(p, 0) >= end for p, end in ends.items())

        await eventually(
            committed_to_the_end, 60, "normalize's committed offsets at the accepted topic's end"
        )
        metrics_text = normalize.get("/metrics")
        health_text = normalize.get("/health")
    finally:
        for service in (normalize, ingest):
            if service.proc is not None:
                service.stop()
    log = (tmp_path / "normalize.log").read_bytes()

    accepted = [
        AcceptedEvent.model_validate_json(r.value or b"") for r in await read_topic(bootstrap, accepted_topic)
    ]
    written = {name: await read_topic(bootstrap, settings.topic(name)) for name in settings.state_topics}
    dead = await read_topic(bootstrap, settings.dlq_topic)
    await delete_topics(bootstrap, ingest_topics + normalize_topics)

    # The service equals one uninterrupted pass of the engine over the same events, per partition order.
    reference: State = {}
    engine = Normalizer(CTX, Resolver(resolved_id))
    for event in sorted(accepted, key=lambda e: (e.source.topic, e.source.partition, e.source.offset)):
        apply(reference, engine.process(event).records)
    got = {name: _compacted(records) for name, records in written.items()}
    want = {name: reference.get(name, {}) for name in settings.state_topics}
    assert Counter({k: len(v) for k, v in got.items()}) == Counter({k: len(v) for k, v in want.items()})
    assert got == want
    assert got["exchange.normalized.resolved-sites.v1"], "the feed must produce resolved sites"
    assert dead == [], "the simulator's valid events must all map"

    # Privacy: every byte normalize wrote, logged or served.
    blobs = [log, metrics_text.encode(), health_text.encode()]
    for records in [*written.values(), dead]:
        for r in records:
            blobs += [r.key or b"", r.value or b"", *(v for _, v in r.headers)]
    haystack = b"\n".join(blobs)
    confidential = {s for s in feed.confidential_strings() if len(s) >= 6}
    raw_ids = {m.key.decode() for m in messages if m.key} | {
        s for s in confidential if ID_PATTERN.fullmatch(s.encode())
    }
    leaked = [s for s in confidential if s.encode() in haystack]
    assert not leaked, sorted(leaked)[:5]
    assert not ID_PATTERN.search(haystack), ID_PATTERN.search(haystack)
    for raw in raw_ids:
        for scoped in (raw, f"sedex:{raw}", f"amfori:{raw}"):
            for digest in (
                hashlib.sha256(scoped.encode()).hexdigest(),
                hashlib.md5(scoped.encode()).hexdigest(),
            ):
                assert digest.encode() not in haystack and digest[:32].encode() not in haystack, raw
