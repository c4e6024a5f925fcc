"""The normalize state machine over the simulator's whole feed: order, replays and restarts change nothing."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date

import pytest

from schemas.exchange.accepted import AcceptedEvent
from services.ingest.admit import AMFORI, SEDEX, Admitted, admit
from services.ingest.envelopes import accepted_record
from services.normalize.engine import VERSION_JUMP, Normalizer, Record, is_version_jump, restore
from services.normalize.keys import load_key
from services.normalize.mapping import MappingContext
from services.normalize.pseudonymise import IdKind, Pseudonymiser
from services.normalize.resolve import Resolver
from simulator.feed import generate_feed

KEYS = load_key({"NORMALIZE_DEMO_MODE": "1"})
CTX = MappingContext.from_keys(KEYS)
PSEUDONYMS = Pseudonymiser(KEYS)
FORMATS = {"sedex.changes.v1": SEDEX, "amfori.changes.v1": AMFORI}
State = dict[str, dict[str, bytes]]


def resolved_id(raw: str) -> str:
    return PSEUDONYMS.pseudonym(IdKind.RESOLVED_SITE, raw)


def accepted_feed(seed: int) -> list[tuple[bytes, AcceptedEvent]]:
    """What ingest forwards for a feed: (message key, envelope), redeliveries already dropped."""
    feed = generate_feed(seed, 40, start=date(2025, 1, 1), months=8)
    out: list[tuple[bytes, AcceptedEvent]] = []
    seen: set[tuple[str, str]] = set()
    for m in feed.messages:
        result = admit(FORMATS[m.topic], m.key, m.value)
        if not isinstance(result, Admitted) or (result.platform, result.event.event_id) in seen:
            continue
        seen.add((result.platform, result.event.event_id))
        value, _ = accepted_record(result.platform, result.event, m.topic, 0, len(out))
        out.append((m.key or b"", AcceptedEvent.model_validate_json(value)))
    return out


def interleave(events: list[tuple[bytes, AcceptedEvent]], rng: random.Random) -> list[AcceptedEvent]:
    """Another arrival order the contract allows: each key's events in order, keys interleaved at random."""
    queues: dict[bytes, list[AcceptedEvent]] = defaultdict(list)
    for key, event in events:
        queues[key].append(event)
    order = [key for key, q in queues.items() for _ in q]
    rng.shuffle(order)
    positions = {key: 0 for key in queues}
    out = []
    for key in order:
        out.append(queues[key][positions[key]])
        positions[key] += 1
    return out


def apply(state: State, records: list[Record]) -> None:
    for r in records:
        topic = state.setdefault(r.topic, {})
        if r.value is None:
            topic.pop(r.key, None)
        else:
            topic[r.key] = r.value


def run(events: list[AcceptedEvent], *, restart_at: int | None = None, replay: int = 0) -> State:
    state: State = {}
    normalizer = Normalizer(CTX, Resolver(resolved_id))
    for i, event in enumerate(events):
        if i == restart_at:
            normalizer, catch_up = restore(CTX, resolved_id, state)
            apply(state, catch_up)
            for again in events[max(0, i - replay) : i]:  # re-read after the restart
                apply(state, normalizer.process(again).records)
        apply(state, normalizer.process(event).records)
    return state


@pytest.fixture(scope="module")
def feed() -> list[tuple[bytes, AcceptedEvent]]:
    return accepted_feed(seed=5)


@pytest.fixture(scope="module")
def reference(feed: list[tuple[bytes, AcceptedEvent]]) -> State:
    return run([e for _, e in feed])


def test_the_feed_exercises_every_output_topic(reference: State) -> None:
    assert {t for t, kv in reference.items() if kv} >= {
        "exchange.normalized.platform-sites.v1",
        "exchange.normalized.audits.v1",
        "exchange.normalized.corrective-actions.v1",
        "exchange.normalized.consents.v1",
        "exchange.normalized.trainings.v1",
        "exchange.normalized.site-resolution.v1",
        "exchange.normalized.resolved-sites.v1",
        "exchange.normalize.versions.v1",
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_another_interleaving_gives_identical_compacted_state(
    feed: list[tuple[bytes, AcceptedEvent]], reference: State, seed: int
) -> None:
    assert run(interleave(feed, random.Random(seed))) == reference


def test_a_restart_with_replays_in_between_gives_identical_state(
    feed: list[tuple[bytes, AcceptedEvent]], reference: State
) -> None:
    events = interleave(feed, random.Random(9))
    assert run(events, restart_at=len(events) // 2, replay=50) == reference


def test_stale_versions_change_nothing(feed: list[tuple[bytes, AcceptedEvent]]) -> None:
    normalizer = Normalizer(CTX, Resolver(resolved_id))
    events = [e for _, e in feed]
    stale = 0
    for event in events:
        stale += normalizer.process(event).stale
    assert stale > 0  # the simulator re-sends older versions late
    again = Normalizer(CTX, Resolver(resolved_id), normalizer.versions)
    for event in events:  # a replay by other event ids at the same versions: all stale
        outcome = again.process(event.model_copy(update={"event_id": event.event_id + "-x"}))
        assert outcome.records == []


def test_a_version_jump_is_counted_and_ordinary_versions_are_not(
    feed: list[tuple[bytes, AcceptedEvent]],
) -> None:
    """Versions go up by one per change; an update far above the applied one is counted (and alerted
    on): from then on every real version of that entity is stale."""
    normalizer = Normalizer(CTX, Resolver(resolved_id))
    events = [e for _, e in feed]
    assert sum(normalizer.process(e).jumps for e in events) == 0  # the simulator's versions are ordinary
    first = events[0]
    applied = normalizer.versions
    version = 2**31 - 1  # far above any version the simulator gave this entity
    field = "version" if first.platform == "amfori" else "entity_version"
    jumped = first.model_copy(
        update={
            "event_id": first.event_id + "-jump",
            "entity_version": version,
            "event": first.event.model_copy(update={field: version}),
        }
    )
    assert normalizer.process(jumped).jumps == 1
    assert is_version_jump(7, 7 + VERSION_JUMP + 1) and not is_version_jump(7, 7 + VERSION_JUMP)
    assert not is_version_jump(None, 10**6)  # an entity first seen at a high version is not a jump
    assert applied is normalizer.versions
