"""A simulated history for the key-rotation tests: accepted events on partitions, normalize's state
after a prefix of them under a key, and aggregate's releases on it, all computed in-process with the
services' own engines (what is under test is the rotation, not these)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from bench.normalize import accepted_envelopes
from schemas.exchange.aggregates import RELEASE_STATE_TOPIC
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.noise import NoiseParams
from services.aggregate.planner import ReleasePlan, plan_release
from services.aggregate.population import INPUT_TOPICS, NormalizedState
from services.aggregate.release import ReleaseLog
from services.normalize.engine import Normalizer
from services.normalize.keys import KeyMaterial
from services.normalize.mapping import MappingContext
from services.normalize.replay import Replay
from services.rotation.plan import AcceptedRecord

PARTITIONS = 3
OLD = KeyMaterial("k1", bytes(range(32)))
NEW = KeyMaterial("k2", bytes(range(100, 132)))
NOISE = NoiseParams(frozenset({"forced-labour"}))
FIRST_RELEASE = datetime(2025, 8, 1, tzinfo=UTC)  # Q1 and Q2 of 2025 closed
SECOND_RELEASE = datetime(2026, 2, 1, tzinfo=UTC)  # all of 2025 closed


class SeededSampler:
    """Integer Gaussian-ish noise from a seed (OpenDP's sampler cannot be seeded); counts its calls."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def __call__(self, values: Sequence[int], scale: float) -> list[int]:
        self.calls += 1
        return [int(v + round(self.rng.normal(0, scale))) for v in values]


@dataclass(frozen=True, slots=True)
class Feed:
    records: list[AcceptedRecord]  # partition by partition, each in offset order
    keys: dict[tuple[int, int], bytes]
    headers: dict[tuple[int, int], list[tuple[str, bytes]]]

    def ends(self) -> dict[int, int]:
        out = dict.fromkeys(range(PARTITIONS), 0)
        for r in self.records:
            out[r.partition] = r.offset + 1
        return out

    def cut(self, share: float) -> dict[int, int]:
        """The offset of each partition `share` of the way through it."""
        return {p: int(end * share) for p, end in self.ends().items()}


def feed(events: int = 2500) -> Feed:
    by_partition: dict[int, list[AcceptedRecord]] = {p: [] for p in range(PARTITIONS)}
    keys, headers = {}, {}
    for envelope in accepted_envelopes(events):
        p = zlib.crc32(envelope.key) % PARTITIONS
        offset = len(by_partition[p])
        by_partition[p].append(AcceptedRecord(p, offset, envelope.value))
        keys[(p, offset)] = envelope.key
        headers[(p, offset)] = [(k, v) for k, v in envelope.headers]
    return Feed([r for p in range(PARTITIONS) for r in by_partition[p]], keys, headers)


def normalize_state(
    records: Sequence[AcceptedRecord], upto: Mapping[int, int], keys: KeyMaterial
) -> dict[str, dict[str, bytes]]:
    """What normalize's compacted topics hold after reading each partition up to `upto` under `keys`."""
    replay = Replay(Normalizer.fresh(MappingContext.from_keys(keys)))
    for r in records:
        if r.offset < upto.get(r.partition, 0):
            replay.feed(r.value)
    return replay.values()


def inputs(state: Mapping[str, Mapping[str, bytes]]) -> NormalizedState:
    return NormalizedState.from_topics({t: state.get(t, {}) for t in INPUT_TOPICS})


def release(
    state: Mapping[str, Mapping[str, bytes]],
    log: dict[bytes, bytes],
    at: datetime,
    sampler: SeededSampler,
) -> ReleasePlan:
    """One release on `state` after the release log `log` (topic state), which it updates in place."""
    plan = plan_release(
        inputs(state), ReleaseLog.from_state(log), DisclosureParams(), at, noise=NOISE, sampler=sampler
    )
    for topic, key, value, _ in [*plan.draw_records, *plan.records]:
        if topic == RELEASE_STATE_TOPIC:
            log[key] = value
    return plan


def public(plan: ReleasePlan) -> list[tuple[str, bytes, bytes]]:
    """What a subscriber receives from a release: every record but the internal release state."""
    return [(t, k, v) for t, k, v, _ in plan.records if t != RELEASE_STATE_TOPIC]
