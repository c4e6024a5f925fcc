"""A release is all or nothing, against the real broker: a release that fails half-way leaves nothing a
read_committed subscriber can see, and the next attempt publishes exactly what an uninterrupted
release would have. Two releasers with the same transactional id: the one established last fences
the other, whose release then fails and shows nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.aggregate.disclosure import DisclosureParams
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.planner import plan_release
from services.aggregate.population import NormalizedState
from services.aggregate.release import ReleaseLog
from services.aggregate.releaser import Releaser
from services.aggregate.schedule import ManualClock
from services.aggregate.settings import AggregateSettings
from services.topics import delete_topics
from tests.services.aggregate.crash import Crash, crash_on_public_send, crash_on_send
from tests.services.aggregate.release_setup import feed_state, release_topics
from tests.support.kafka import eventually, read_topic

pytestmark = pytest.mark.broker
AT = datetime(2026, 6, 1, tzinfo=UTC)


async def test_a_failed_release_shows_nothing_and_the_retry_equals_an_uninterrupted_one(
    bootstrap: str,
) -> None:
    state = feed_state()
    topics = await release_topics(bootstrap, "r")
    settings, public = topics.settings, topics.public
    releaser = Releaser(settings, state, ManualClock(AT), AggregateMetrics(), DisclosureParams())
    await releaser.establish()
    try:
        crash_on_send(releaser, 200, public_only=False)  # half-way through the release's records
        with pytest.raises(Crash):
            await releaser.release(AT)
        # The failed producer is dropped: the next release starts from what the topic says.
        assert not releaser.established
        assert releaser.last_release is None and len(releaser.log) == 0
        assert [await read_topic(bootstrap, t) for t in public] == [[] for _ in public]

        plan = await releaser.release(AT)
        assert plan.sent > 0
        assert await published(bootstrap, public) == uninterrupted(state, settings)
    finally:
        await releaser.stop()
        await delete_topics(bootstrap, topics.names)


async def published(bootstrap: str, public: list[str]) -> list[tuple[str, bytes | None, bytes | None]]:
    records = []
    for topic in public:
        records += await read_topic(bootstrap, topic)
    return sorted((r.topic, r.key, r.value) for r in records)


def uninterrupted(
    state: NormalizedState, settings: AggregateSettings, at: datetime = AT
) -> list[tuple[str, bytes, bytes]]:
    plan = plan_release(state, ReleaseLog(), DisclosureParams(), at)
    return sorted(
        (settings.topic(t), k, v) for t, k, v, _ in plan.records if t.startswith("exchange.aggregates.")
    )


async def test_a_release_that_fails_while_publishing_is_published_as_recorded(bootstrap: str) -> None:
    """The release state commits first (with the pending marker), then the public messages. A publish
    that aborts leaves its records to read_uncommitted readers; if the state moved on before the retry
    (here: one audit withdrawn), a fresh plan would differ, and such a reader would see two versions of
    one release, a difference of one site. The retry, by this process or a restarted one, publishes
    what was recorded, so every record any reader can see of the release is the committed one."""
    # Near the wall clock, as in production: records months old make the broker roll and compact their
    # segments at once, and compaction removes the aborted attempt this test reads back.
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    state = feed_state()
    topics = await release_topics(bootstrap, "p")
    settings, public = topics.settings, topics.public
    expected = uninterrupted(state, settings, at)
    releaser = Releaser(settings, state, ManualClock(at), AggregateMetrics(), DisclosureParams())
    await releaser.establish()
    try:
        crash_on_public_send(releaser, 150)  # half-way through publishing
        with pytest.raises(Crash):
            await releaser.release(at)
        assert await published(bootstrap, public) == []
        state.audits.pop(min(state.audits))  # the inputs move on before anyone retries
    finally:
        await releaser.stop()

    restarted = Releaser(settings, state, ManualClock(at), AggregateMetrics(), DisclosureParams())
    try:
        await restarted.establish()
        assert restarted.last_release is None  # recorded, not published
        restarted.lead(True)
        await restarted.tick()
        assert restarted.last_release == at
        assert await published(bootstrap, public) == expected  # what was recorded, not a fresh plan
        committed = {(r.topic, r.key): r.value for t in public for r in await read_topic(bootstrap, t)}
        uncommitted = [
            r for t in public for r in await read_topic(bootstrap, t, isolation="read_uncommitted")
        ]
        assert len(uncommitted) > len(committed)
        assert all(committed[(r.topic, r.key)] == r.value for r in uncommitted)
    finally:
        await restarted.stop()
        await delete_topics(bootstrap, topics.names)


async def test_a_release_the_broker_refuses_is_not_believed_published(bootstrap: str) -> None:
    """The broker refuses records stamped more than an hour ahead of its clock, and a release's
    records carry the release time. aiokafka would commit such a transaction without a word, with the
    refused batches missing; the release must fail instead, believed neither recorded nor published,
    and be retried like any other failed release."""
    ahead = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    state = feed_state()
    topics = await release_topics(bootstrap, "t")
    settings, public = topics.settings, topics.public
    metrics = AggregateMetrics()
    releaser = Releaser(settings, state, ManualClock(ahead), metrics, DisclosureParams())
    try:
        await releaser.establish()
        releaser.lead(True)
        assert await releaser.tick() is None
        assert metrics.release_failures.labels("kafka")._value.get() == 1
        assert releaser.last_release is None and len(releaser.log) == 0
        assert await published(bootstrap, public) == []
    finally:
        await releaser.stop()
        await delete_topics(bootstrap, topics.names)


async def test_the_newest_releaser_fences_the_older_one(bootstrap: str) -> None:
    state = feed_state()
    topics = await release_topics(bootstrap, "f", tick_seconds=0.05)
    settings, public = topics.settings, topics.public
    old_metrics = AggregateMetrics()
    old = Releaser(settings, state, ManualClock(AT), old_metrics, DisclosureParams())
    new = Releaser(settings, state, ManualClock(AT), AggregateMetrics(), DisclosureParams())
    try:
        await old.establish()
        await new.establish()  # same transactional id: the old producer's epoch is over
        old.lead(True)  # the old one still believes it leads (it stalled through a rebalance)
        assert await old.tick() is None
        assert old_metrics.release_failures.labels("fenced")._value.get() == 1
        assert not old.established and old.last_release is None
        assert await published(bootstrap, public) == []

        plan = await new.release(AT)
        assert plan.sent > 0 and new.last_release == AT
        assert await published(bootstrap, public) == uninterrupted(state, settings)

        # After a back-off the old one re-establishes (fencing the new one in turn: whoever established
        # last may write), reads the new one's release and finds nothing due at AT.
        async def reestablished() -> bool:
            return await old.tick() is None and old.established

        await eventually(reestablished, 10, "the fenced releaser to re-establish after its back-off")
        assert old.last_release == AT and len(old.log) == len(new.log)
        assert old_metrics.release_failures.labels("fenced")._value.get() == 1
    finally:
        await old.stop()
        await new.stop()
        await delete_topics(bootstrap, topics.names)
