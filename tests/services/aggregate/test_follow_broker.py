"""The follower and the lease, in-process against the real broker.

* The follower reads every partition of the five input topics without a group: the state equals the
  topics' compacted contents; `caught_up` waits for the start-up end offsets; an unreadable record is
  counted and skipped, and the follower keeps going (a later tombstone still applies).
* The lease: of two members of one lease group exactly one holds it; when the holder leaves, the
  other is handed it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from schemas.shared.models import Audit
from schemas.topics import AGGREGATE_LEASE_TOPIC
from services.aggregate.follow import InputFollower
from services.aggregate.lease import Lease
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.population import INPUT_KINDS, INPUT_TOPICS, NormalizedState
from services.aggregate.settings import AggregateSettings
from services.consumer_lag import lag_by_topic
from services.kafka_auth import client_options
from services.topics import TopicSpec, delete_topics, ensure_topics
from tests.services.normalize.test_engine import accepted_feed, run
from tests.support.kafka import create_topics, eventually, send_state, unique

pytestmark = pytest.mark.broker


@contextlib.asynccontextmanager
async def running(coroutine: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_follower_holds_what_the_topics_hold_and_survives_a_poison_record(bootstrap: str) -> None:
    normalized = run([e for _, e in accepted_feed(seed=5)])
    prefix = f"{unique('fw')}."
    topics = [prefix + t for t in INPUT_TOPICS]
    await create_topics(bootstrap, topics, partitions=3, cleanup_policy="compact")
    settings = AggregateSettings(bootstrap_servers=bootstrap, input_prefix=prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
    await producer.start()
    try:
        await send_state(producer, prefix, normalized, INPUT_TOPICS)
        poison_key = b"not-an-audit"
        await producer.send(prefix + Audit.TOPIC, b'{"this is": "not an audit"}', key=poison_key)
        await producer.flush()

        state, metrics = NormalizedState(), AggregateMetrics()
        follower = InputFollower(settings, state, metrics)
        async with running(follower.run()) as task:
            await asyncio.wait_for(follower.caught_up.wait(), 60)
            assert not task.done()
            assert state == NormalizedState.from_topics(normalized)
            # sx_consumer_lag_messages: every partition of the five topics known, none behind
            assert set(follower.positions.read_offsets) == set(follower.positions.assignment())
            assert len(follower.positions.assignment()) == 3 * len(INPUT_TOPICS)
            assert lag_by_topic(follower.positions) == {}.fromkeys(topics, 0)
            assert metrics.invalid.labels("audit")._value.get() == 1
            for topic, kind in INPUT_KINDS.items():  # every record once, the poison one not as consumed
                assert metrics.consumed.labels(kind)._value.get() == len(normalized.get(topic, {}))

            # Still following after the poison record: a tombstone for a held audit retracts it.
            audit_id = min(state.audits)
            await producer.send_and_wait(prefix + Audit.TOPIC, None, key=audit_id.encode())

            async def retracted() -> bool:
                return audit_id not in state.audits

            await eventually(retracted, 30, "the tombstone to reach the follower")
            assert metrics.retracted.labels("audit")._value.get() == 1
            assert sum(lag_by_topic(follower.positions).values()) == 0
    finally:
        await producer.stop()
        await delete_topics(bootstrap, topics)


async def test_exactly_one_member_holds_the_lease_and_it_moves_when_its_holder_leaves(
    bootstrap: str,
) -> None:
    """(Which member keeps the lease when another joins is the sticky assignor's business; aiokafka
    keeps its sticky state per process, so two members in one process say nothing about it.)"""
    settings = AggregateSettings(
        bootstrap_servers=bootstrap, app_id=unique("lease"), topic_prefix=f"{unique('ls')}."
    )
    topic = settings.topic(AGGREGATE_LEASE_TOPIC)
    await create_topics(bootstrap, [topic], partitions=1)
    changes: dict[str, list[bool]] = {"a": [], "b": []}
    leases = {"a": Lease(settings, changes["a"].append), "b": Lease(settings, changes["b"].append)}
    try:
        async with running(leases["a"].run()) as a_task, running(leases["b"].run()) as b_task:

            async def settled() -> bool:  # both were assigned (with or without the lease); one holds it
                return bool(changes["a"] and changes["b"]) and leases["a"].held != leases["b"].held

            await eventually(settled, 30, "both members to join and one of them to hold the lease")
            holder, other = ("a", "b") if leases["a"].held else ("b", "a")
            (a_task if holder == "a" else b_task).cancel()  # the holder stops: its consumer leaves

            async def moved() -> bool:
                return leases[other].held

            await eventually(moved, 30, "the lease to move to the remaining member")
            assert changes[holder][-1] is False and not leases[holder].held
    finally:
        await delete_topics(bootstrap, [topic])


async def test_a_lease_on_a_topic_created_a_moment_ago_is_held_within_seconds(bootstrap: str) -> None:
    """A fresh broker, all services started at once: the lease topic is created just before the lease
    consumer subscribes. Metadata of a topic that new may not name its partition yet, and a group
    assigned from it gives the lease to nobody until the next metadata refresh (five minutes by
    default), so a release due meanwhile waited (issue 14, defect 3)."""
    settings = AggregateSettings(
        bootstrap_servers=bootstrap, app_id=unique("lease"), topic_prefix=f"{unique('lf')}."
    )
    topic = settings.topic(AGGREGATE_LEASE_TOPIC)
    changes: list[bool] = []
    lease = Lease(settings, changes.append)
    try:
        async with running(lease.run()):
            await ensure_topics(bootstrap, (TopicSpec(topic, 1),))

            async def held() -> bool:
                return lease.held

            await eventually(held, 30, "the only member to hold the lease")
    finally:
        await delete_topics(bootstrap, [topic])
