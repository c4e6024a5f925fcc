"""The differential-privacy mode against the real broker: noisy values are stored before anything is
published and never redrawn, so a release that fails half-way and is tried again, and a restarted
service, spend no budget and publish the same values (aggregates.md, "Differential-privacy mode").

Even a `read_uncommitted` reader, which sees the records of the aborted attempt, sees the same values
in it as in the committed retry: two independent draws of one cell would let it average the noise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from services.aggregate.disclosure import DisclosureParams
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.noise import NoiseParams, discrete_gaussian
from services.aggregate.releaser import Releaser
from services.aggregate.schedule import ManualClock
from services.topics import delete_topics
from tests.services.aggregate.crash import Crash, crash_on_public_send
from tests.services.aggregate.release_setup import feed_state, release_topics
from tests.support.kafka import read_topic

pytestmark = pytest.mark.broker
BOTH = NoiseParams(frozenset({"issue-prevalence", "forced-labour"}))


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, values: Sequence[int], scale: float) -> list[int]:
        self.calls += 1
        return discrete_gaussian(values, scale)


async def test_an_aborted_release_and_a_restart_publish_the_stored_draw_and_spend_nothing(
    bootstrap: str,
) -> None:
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # near the wall clock, as in production
    state = feed_state()
    topics = await release_topics(bootstrap, "dp")
    settings, public = topics.settings, topics.public
    sampler = Counting()
    first = Releaser(
        settings, state, ManualClock(at), AggregateMetrics(), DisclosureParams(), noise=BOTH, sampler=sampler
    )
    try:
        await first.establish()
        crash_on_public_send(first, 100)  # half-way through publishing
        with pytest.raises(Crash):
            await first.release(at)
        draws = sampler.calls
        assert draws > 0  # the draws were made, and committed on their own before publishing
        assert [await read_topic(bootstrap, t) for t in public] == [[] for _ in public]

        # The retry: the release was recorded before the publish failed, so it is published as recorded
        # (nothing left to plan for the slot) and nothing is drawn again.
        plan = await first.release(at)
        assert plan.draws == 0 and sampler.calls == draws
    finally:
        await first.stop()

    committed = {(r.topic, r.key): r.value for t in public for r in await read_topic(bootstrap, t)}
    assert committed
    uncommitted = [r for t in public for r in await read_topic(bootstrap, t, isolation="read_uncommitted")]
    assert len(uncommitted) > len(committed)  # the aborted attempt is there for such a reader...
    assert all(committed[(r.topic, r.key)] == r.value for r in uncommitted)  # ...with the same values

    restarted_sampler = Counting()
    restarted = Releaser(
        settings,
        state,
        ManualClock(at),
        AggregateMetrics(),
        DisclosureParams(),
        noise=BOTH,
        sampler=restarted_sampler,
    )
    try:
        await restarted.establish()
        assert {d.record.draws for d in restarted.log.draws.values()} == {1}
        again = await restarted.release(at + timedelta(hours=1))
        assert again.sent == 0 and again.draws == 0 and restarted_sampler.calls == 0
    finally:
        await restarted.stop()
        await delete_topics(bootstrap, topics.names)
