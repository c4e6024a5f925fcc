"""A release is all or nothing, against the real broker: a release that fails half-way leaves nothing a
read_committed subscriber can see, and the next attempt publishes exactly what an uninterrupted
release would have."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.aggregate.__main__ import topic_specs
from services.aggregate.app import Releaser
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.population import NormalizedState
from services.aggregate.release import ReleaseLog
from services.aggregate.runner import plan_release
from services.aggregate.schedule import ManualClock
from services.aggregate.settings import AggregateSettings
from services.topics import ensure_topics
from tests.services.normalize.test_engine import accepted_feed, run
from tests.support.kafka import delete_topics, read_topic, unique

pytestmark = pytest.mark.broker
AT = datetime(2026, 6, 1, tzinfo=UTC)


class Crash(RuntimeError):
    pass


async def test_a_failed_release_shows_nothing_and_the_retry_equals_an_uninterrupted_one(
    bootstrap: str,
) -> None:
    state = NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))
    settings = AggregateSettings(
        bootstrap_servers=bootstrap, topic_prefix=f"{unique('r')}.", app_id=unique("agg")
    )
    specs = topic_specs(settings)
    await ensure_topics(bootstrap, specs)
    public = [s.name for s in specs if ".aggregates." in s.name]
    releaser = Releaser(
        settings, state, ReleaseLog(), {}, ManualClock(AT), AggregateMetrics(), DisclosureParams()
    )
    await releaser.start()
    try:
        assert releaser._producer is not None
        real_send = releaser._producer.send
        sent = 0

        async def failing_send(*args: Any, **kwargs: Any) -> Any:
            nonlocal sent
            sent += 1
            if sent == 200:  # half-way through the release's records
                raise Crash("the process dies here")
            return await real_send(*args, **kwargs)

        releaser._producer.send = failing_send  # type: ignore[method-assign]
        with pytest.raises(Crash):
            await releaser.release(AT)
        releaser._producer.send = real_send  # type: ignore[method-assign]
        assert releaser.last_release is None and len(releaser.log) == 0
        assert [await read_topic(bootstrap, t) for t in public] == [[], []]

        plan = await releaser.release(AT)
        assert plan.sent > 0
        records = [r for t in public for r in await read_topic(bootstrap, t)]
        got = sorted((r.topic, r.key, r.value) for r in records)
        uninterrupted = plan_release(state, ReleaseLog(), DisclosureParams(), AT)
        want = sorted(
            (settings.topic(t), k, v)
            for t, k, v, _ in uninterrupted.records
            if t.startswith("exchange.aggregates.")
        )
        assert got == want
    finally:
        await releaser.stop()
        await delete_topics(bootstrap, [s.name for s in specs])
