"""The scripted history of `test_history_attacks` (24 releases, every kind of change) through the real
broker: the crafted world's state is written to normalize's compacted topics step by step (tombstones
for what leaves), aggregate's follower reads it and its releaser publishes on the schedule, and the
attacker reads what a subscriber reads (`read_committed`). Nothing may leak, and every release must be
byte for byte what the in-process run of the same script publishes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaProducer

from schemas.exchange.aggregates import format_release_time
from services.aggregate.__main__ import topic_specs
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.follow import InputFollower
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.population import INPUT_TABLES, INPUT_TOPICS, NormalizedState
from services.aggregate.releaser import Releaser
from services.aggregate.schedule import ManualClock
from services.aggregate.settings import AggregateSettings
from services.kafka_auth import client_options
from services.topics import delete_topics, ensure_topics
from tests.services.aggregate.crafted import FIRST_Q1_RELEASE, Releases
from tests.services.aggregate.insider import Record, Release, Snapshot, attack, attackers, summary
from tests.services.aggregate.test_history_attacks import RELEASES, Script
from tests.support.kafka import create_topics, eventually, read_topic, unique

pytestmark = pytest.mark.broker


def rendered(state: NormalizedState) -> dict[str, dict[str, bytes]]:
    """topic -> key -> value, as normalize's compacted topics would hold the state."""
    return {
        topic: {
            key: model.model_validate(dataclasses.asdict(held)).model_dump_json().encode()
            for key, held in getattr(state, attr).items()
        }
        for topic, (attr, model) in INPUT_TABLES.items()
    }


async def write_changes(
    producer: AIOKafkaProducer,
    prefix: str,
    before: Mapping[str, Mapping[str, bytes]],
    after: Mapping[str, Mapping[str, bytes]],
) -> None:
    for topic in INPUT_TOPICS:
        old, new = before.get(topic, {}), after.get(topic, {})
        for key in sorted(old.keys() - new.keys()):
            await producer.send(prefix + topic, None, key=key.encode())
        for key in sorted(new):
            if old.get(key) != new[key]:
                await producer.send(prefix + topic, new[key], key=key.encode())
    await producer.flush()


async def test_the_scripted_history_through_the_broker_leaks_nothing(bootstrap: str) -> None:
    prefix = f"{unique('hist')}."
    settings = AggregateSettings(
        bootstrap_servers=bootstrap, input_prefix=prefix, topic_prefix=prefix, app_id=unique("agg")
    )
    inputs = [prefix + t for t in INPUT_TOPICS]
    await create_topics(bootstrap, inputs, partitions=3, cleanup_policy="compact")
    specs = topic_specs(settings)
    await ensure_topics(bootstrap, specs)
    public = [s.name for s in specs if ".aggregates." in s.name]

    script, local = Script(), Releases()
    state = NormalizedState()
    follower = InputFollower(settings, state, AggregateMetrics())
    releaser = Releaser(
        settings, state, ManualClock(FIRST_Q1_RELEASE), AggregateMetrics(), DisclosureParams()
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_options(), acks="all", enable_idempotence=True
    )
    await producer.start()
    task = asyncio.ensure_future(follower.run())
    truths: list[tuple[str, Snapshot]] = []
    written: dict[str, dict[str, bytes]] = {}
    try:
        for k in range(RELEASES):
            if k:
                script.step(k)
            target = script.world.state()
            now = rendered(target)
            await write_changes(producer, prefix, written, now)
            written = now

            async def followed(target: NormalizedState = target) -> bool:
                return state == target

            await eventually(followed, 60, f"the follower to hold the state of step {k}")
            at = FIRST_Q1_RELEASE + timedelta(hours=k)
            await releaser.release(at)
            local.release(script.world)
            truths.append((format_release_time(at), script.world.snapshot(format_release_time(at))))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await releaser.stop()
        await producer.stop()

    try:
        by_release: defaultdict[str, list[Record]] = defaultdict(list)
        for topic in public:
            for r in await read_topic(bootstrap, topic):
                assert r.value is not None
                canonical = topic.removeprefix(prefix)
                assert r.key is not None
                headers = [(name, value) for name, value in r.headers]
                by_release[json.loads(r.value)["release_id"]].append((canonical, r.key, r.value, headers))
        history = [Release(at, snapshot, by_release.get(at, [])) for at, snapshot in truths]
        for mine, theirs in zip(history, local.history, strict=True):  # the same bytes as in-process
            assert sorted((t, k, v) for t, k, v, _ in mine.records) == sorted(
                (t, k, v) for t, k, v, _ in theirs.records
            )
        assert sum(len(r.records) for r in history[1:]) > 0
        who = attackers(history)
        assert len(who) > 200
        violations = attack(history, who=who)
        assert not violations, summary(violations)
    finally:
        await delete_topics(bootstrap, [*inputs, *(s.name for s in specs)])
