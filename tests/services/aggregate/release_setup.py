"""What a release broker test starts from: normalize's state of a simulated feed, and the aggregate's
topics on a prefix of their own (created here; the test deletes them when done)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.aggregate.__main__ import topic_specs
from services.aggregate.population import NormalizedState
from services.aggregate.settings import AggregateSettings
from services.topics import TopicSpec, ensure_topics
from tests.services.normalize.test_engine import accepted_feed, run
from tests.support.kafka import unique


def feed_state(seed: int = 5) -> NormalizedState:
    return NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=seed)]))


@dataclass(frozen=True)
class ReleaseTopics:
    settings: AggregateSettings
    specs: tuple[TopicSpec, ...]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def public(self) -> list[str]:
        return [s.name for s in self.specs if ".aggregates." in s.name]


async def release_topics(bootstrap: str, prefix: str, **settings: Any) -> ReleaseTopics:
    """Settings on the prefix `unique(prefix)` with an app id of their own, and their topics created."""
    aggregate = AggregateSettings(
        bootstrap_servers=bootstrap, topic_prefix=f"{unique(prefix)}.", app_id=unique("agg"), **settings
    )
    specs = topic_specs(aggregate)
    await ensure_topics(bootstrap, specs)
    return ReleaseTopics(aggregate, specs)
