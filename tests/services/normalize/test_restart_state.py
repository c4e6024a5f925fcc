"""normalize after a restart, without Kafka (docs/normalize.md "State and restarts"): it reads its own
compacted topics back (versions, platform sites, consents, resolution, quarantine), rebuilds the
resolver, and produces the resolution records a crash left behind, so the compacted state ends where
a run without the crash ends."""

from __future__ import annotations

import json
import random

import pytest

from schemas.exchange.accepted import AcceptedEvent
from schemas.shared.models import Consent, PlatformSite
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC
from services.normalize.engine import PREVIOUS_RESOLVED_SITE_HEADER, Normalizer, Record, restore
from services.normalize.mapping import MappingError, MappingErrorCode
from services.normalize.pseudonymise import IdKind
from services.normalize.resolve import Resolver
from services.normalize.topics import NORMALIZE_QUARANTINE_TOPIC, NORMALIZE_VERSIONS_TOPIC
from tests.services.normalize.test_engine import CTX, PSEUDONYMS, State, accepted_feed, apply, resolved_id

RESOLUTION_TOPICS = (SITE_RESOLUTION_TOPIC, RESOLVED_SITES_TOPIC)


@pytest.fixture(scope="module")
def events() -> list[AcceptedEvent]:
    return [e for _, e in accepted_feed(seed=11)]


def run(events: list[AcceptedEvent], *, default_consent: bool = True) -> State:
    state: State = {}
    normalizer = Normalizer(CTX, Resolver(resolved_id, default_consent=default_consent))
    for event in events:
        apply(state, normalizer.process(event).records)
    return state


def crashed(events: list[AcceptedEvent], lost: set[int], *, default_consent: bool = True) -> State:
    """The state after the feed when, for the events at the positions `lost`, normalize produced the
    entity's record and its version but crashed before the resolution records reached Kafka; it was
    restarted (from the state) right after each of them."""
    state: State = {}
    normalizer = Normalizer(CTX, Resolver(resolved_id, default_consent=default_consent))
    for i, event in enumerate(events):
        records = normalizer.process(event).records
        if i in lost:
            apply(state, [r for r in records if r.topic not in RESOLUTION_TOPICS])
            normalizer, catch_up = restore(CTX, resolved_id, state, default_consent=default_consent)
            assert catch_up, "a lost resolution change must be produced again"
            assert {r.topic for r in catch_up} <= set(RESOLUTION_TOPICS)
            apply(state, catch_up)
        else:
            apply(state, records)
    return state


def resolving(events: list[AcceptedEvent], default_consent: bool = True) -> list[int]:
    """Positions of the events that change the resolution topics."""
    normalizer = Normalizer(CTX, Resolver(resolved_id, default_consent=default_consent))
    return [
        i
        for i, event in enumerate(events)
        if any(r.topic in RESOLUTION_TOPICS for r in normalizer.process(event).records)
    ]


@pytest.mark.parametrize("default_consent", [True, False])
def test_resolution_records_lost_in_a_crash_are_produced_on_restart(
    events: list[AcceptedEvent], default_consent: bool
) -> None:
    positions = resolving(events, default_consent)
    assert positions
    lost = set(random.Random(3).sample(positions, min(12, len(positions))))
    assert crashed(events, lost, default_consent=default_consent) == run(
        events, default_consent=default_consent
    )


def test_a_restart_with_nothing_lost_produces_nothing(events: list[AcceptedEvent]) -> None:
    state = run(events)
    _, catch_up = restore(CTX, resolved_id, state)
    assert catch_up == []


def test_a_lost_resolution_change_says_where_the_site_was_before(events: list[AcceptedEvent]) -> None:
    """A platform site whose resolution record was lost while it moved: the record produced on restart
    names the resolved site it leaves (`sx_previous_resolved_site_id`), the one the topic still holds."""
    state = run(events)
    key, held = next(iter(sorted(state[SITE_RESOLUTION_TOPIC].items())))
    old_site = json.loads(held)["resolved_site_id"]
    behind = {topic: dict(values) for topic, values in state.items()}
    elsewhere = json.dumps({"platform_site_id": key, "resolved_site_id": "elsewhere"}).encode()
    behind[SITE_RESOLUTION_TOPIC][key] = elsewhere
    _, catch_up = restore(CTX, resolved_id, behind)
    assert catch_up == [
        Record(SITE_RESOLUTION_TOPIC, key, held, ((PREVIOUS_RESOLVED_SITE_HEADER, b"elsewhere"),))
    ]
    assert old_site != "elsewhere"
    # A resolution that should not exist at all is retracted, naming where it pointed.
    stray = {**behind, SITE_RESOLUTION_TOPIC: {**state[SITE_RESOLUTION_TOPIC], "t.site.stray": elsewhere}}
    _, catch_up = restore(CTX, resolved_id, stray)
    assert catch_up == [
        Record(SITE_RESOLUTION_TOPIC, "t.site.stray", None, ((PREVIOUS_RESOLVED_SITE_HEADER, b"elsewhere"),))
    ]


def test_a_lost_resolved_site_record_is_produced_again_and_a_stray_one_retracted(
    events: list[AcceptedEvent],
) -> None:
    state = run(events)
    key, value = next(iter(sorted(state[RESOLVED_SITES_TOPIC].items())))
    lost = {**state, RESOLVED_SITES_TOPIC: {k: v for k, v in state[RESOLVED_SITES_TOPIC].items() if k != key}}
    _, catch_up = restore(CTX, resolved_id, lost)
    assert catch_up == [Record(RESOLVED_SITES_TOPIC, key, value)]
    stray = {**state, RESOLVED_SITES_TOPIC: {**state[RESOLVED_SITES_TOPIC], "t.rsite.stray": value}}
    _, catch_up = restore(CTX, resolved_id, stray)
    assert catch_up == [Record(RESOLVED_SITES_TOPIC, "t.rsite.stray", None)]


def test_a_withdrawn_consent_holds_after_a_restart(events: list[AcceptedEvent]) -> None:
    """The consents topic is read back: a company that withdrew consent still takes no part, and a site
    it upserts after the restart gets no resolution (platform-events.md, ConsentChanged)."""
    state = run(events)
    site = PlatformSite.model_validate_json(next(iter(sorted(state[PlatformSite.TOPIC].values()))))
    withdrawn = Consent(
        company_id=site.company_id, platform=site.platform, version=99, updated_at_ms=1, granted=False
    )
    consents = {**state.get(Consent.TOPIC, {}), site.company_id: withdrawn.model_dump_json().encode()}
    normalizer, catch_up = restore(CTX, resolved_id, {**state, Consent.TOPIC: consents})
    retracted = {r.key for r in catch_up if r.topic == SITE_RESOLUTION_TOPIC and r.value is None}
    assert site.site_id in retracted
    assert site.site_id not in normalizer.resolver.snapshot().site_resolutions


def test_versions_are_read_back_so_a_replay_is_produced_again_and_a_stale_event_is_not(
    events: list[AcceptedEvent],
) -> None:
    state = run(events)
    normalizer, _ = restore(CTX, resolved_id, state)
    last = last_applied(events, state)
    replay = normalizer.process(last)
    assert replay.replayed >= 1 and replay.stale == 0
    again = normalizer.process(last.model_copy(update={"event_id": last.event_id + "-other"}))
    assert again.records == [] and again.stale >= 1
    applied = {k: json.loads(v) for k, v in state[NORMALIZE_VERSIONS_TOPIC].items()}
    assert {k: (a.version, a.event_id) for k, a in normalizer.versions.items()} == {
        k: (d["version"], d["event"]) for k, d in applied.items()
    }


def last_applied(events: list[AcceptedEvent], state: State) -> AcceptedEvent:
    """The last event whose version is the one the versions topic holds for its entity."""
    normalizer = Normalizer(CTX, Resolver(resolved_id))
    applied = [
        event
        for event in events
        for r in normalizer.process(event).records
        if r.topic == NORMALIZE_VERSIONS_TOPIC and state[NORMALIZE_VERSIONS_TOPIC][r.key] == r.value
    ]
    return applied[-1]


def test_a_quarantined_event_stays_quarantined_after_a_restart(events: list[AcceptedEvent]) -> None:
    state = run(events)
    last = events[-1]
    pseudonym = PSEUDONYMS.pseudonym(IdKind.EVENT, f"{last.platform}:{last.event_id}")
    normalizer, _ = restore(CTX, resolved_id, {**state, NORMALIZE_QUARANTINE_TOPIC: {pseudonym: b"{}"}})
    with pytest.raises(MappingError) as refused:
        normalizer.process(last)
    assert refused.value.code is MappingErrorCode.QUARANTINED
    normalizer.process(events[0])  # other events go through


def test_a_crash_before_any_resolution_record_was_written_is_made_good(events: list[AcceptedEvent]) -> None:
    """The first restart of a fresh deployment may find no resolution topic written at all (nor versions
    nor quarantine): everything the resolver holds is produced, and the state ends where it should."""
    reference = run(events)
    early = {
        topic: values for topic, values in reference.items() if topic in (PlatformSite.TOPIC, Consent.TOPIC)
    }
    normalizer, catch_up = restore(CTX, resolved_id, early)
    assert normalizer.versions == {} and normalizer.quarantined == frozenset()
    apply(early, catch_up)
    assert {t: early[t] for t in RESOLUTION_TOPICS} == {t: reference[t] for t in RESOLUTION_TOPICS}
