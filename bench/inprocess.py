"""Aggregate's first release computed in this process, no broker: what normalize writes for the
simulator's feed (its engine with the demo key, as the benches run the service), the state aggregate
builds from it, and the release it plans.

The input of `bench.aggregate` (whose service run must publish what `plan` gives here), `bench.utility`
and `bench.noise`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from bench.accepted import accepted_envelopes
from schemas.exchange.accepted import parse_accepted
from schemas.exchange.aggregates import TABLES, topic_of
from services.aggregate.noise import NoiseParams
from services.aggregate.planner import ReleasePlan, plan_release
from services.aggregate.population import INPUT_TOPICS, NormalizedState
from services.aggregate.release import ReleaseLog
from services.aggregate.settings import AggregateSettings
from services.collector import collector_paused
from services.normalize.engine import Normalizer, Record
from services.normalize.keys import load_key
from services.normalize.mapping import MappingContext, MappingError

# Every period of the feed (2025) is closed by then. In the past on purpose: a release's records carry
# the release time, and Kafka refuses records stamped more than an hour ahead of its clock.
RELEASE_AT = datetime(2026, 6, 1, tzinfo=UTC)
PUBLIC_TOPICS = tuple(topic_of(t) for t in TABLES)


def demo_normalizer() -> Normalizer:
    """Normalize's engine with no state yet and the demo key, as the benches run the service
    (`NORMALIZE_DEMO_MODE=1`)."""
    return Normalizer.fresh(MappingContext.from_keys(load_key({"NORMALIZE_DEMO_MODE": "1"})))


def normalized(normalizer: Normalizer, envelope: bytes) -> list[Record] | None:
    """The records `normalizer` writes for one accepted envelope; None for one normalize dead-letters."""
    try:
        return normalizer.process(parse_accepted(envelope)).records
    except MappingError:
        return None


def normalized_records(events: int, seed: int = 42) -> Iterator[Record]:
    """The records normalize writes to aggregate's input topics for `events` accepted envelopes, in order.

    Same engine, same demo key and the same envelopes as `bench.normalize`; envelopes normalize
    dead-letters produce nothing.
    """
    normalizer = demo_normalizer()
    wanted = frozenset(INPUT_TOPICS)
    envelopes = accepted_envelopes(events, seed)
    for i, envelope in enumerate(envelopes):
        envelopes[i] = None  # type: ignore[call-overload]  # release each envelope once processed
        for record in normalized(normalizer, envelope.value) or ():
            if record.topic in wanted:
                yield record


def build_state(records: Iterator[Record] | Sequence[Record]) -> tuple[NormalizedState, int]:
    """Aggregate's state after reading `records`, as its agent applies them; and how many there were."""
    state = NormalizedState()
    n = 0
    for r in records:
        state.apply(r.topic, r.key, r.value)
        n += 1
    return state, n


def plan(
    state: NormalizedState,
    noise: NoiseParams | None = None,
    *,
    minimal: bool = True,
    value_recovery: frozenset[str] = frozenset(),
) -> ReleasePlan:
    """The first release at RELEASE_AT with the service's default parameters (quarters, 30 days' grace),
    exact unless `noise` puts tables in the differential-privacy mode; `minimal=False`: the
    smallest-first greedy withholding, to compare; `value_recovery`: tables whose recovery rule is the
    value LP the contract does not allow (`DisclosureParams.value_recovery`), to compare."""
    settings = AggregateSettings()
    params = replace(settings.disclosure_params(), minimal=minimal, value_recovery=value_recovery)
    with collector_paused():  # as the service plans (services/collector.py)
        return plan_release(
            state,
            ReleaseLog(),
            params,
            RELEASE_AT,
            granularity=settings.granularity,
            grace=settings.grace,
            noise=noise,
        )


def public_messages(p: ReleasePlan) -> int:
    """The messages `p` writes to the public topics (its release-state record left out)."""
    return sum(1 for topic, *_ in p.published if topic in PUBLIC_TOPICS)
