"""What a key rotation writes, decided without Kafka: `plan_rotation`.

Normalize's state is rebuilt from the accepted topic twice in one pass, under the old key and under
the new one (`services.normalize.replay`). The old-key replay must reproduce the state normalize holds,
at the offsets its group committed (a clean stop) or at the end of the topic (a stop after it caught
up); that is the proof that the accepted topic still holds the whole history, and so that the new-key
state misses nothing. Then the old-key state, renamed name by name, must equal the new-key state
exactly: the rotation changes names and nothing else. Only then are the writes planned: every record
of the new state, a tombstone for every key of the old one (after the new records, so that a reader
part-way through sees both names of a site, never neither: aggregate holds its releases while its
state holds two key ids), the dead letters of events the replay rejected that normalize had not yet
read, and aggregate's release log renamed (`services.aggregate.rekey`).

Why replay rather than re-seal in place: a pseudonym is an HMAC of a raw identifier normalize never
stores, so it can only be computed again from the raw event; and a replay also moves every sealed
value, version and quarantine entry to the new key with the engine's own code, not a second copy of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.shared.resolution import RESOLVED_SITES_TOPIC
from services.aggregate.rekey import rekey_release_log
from services.aggregate.release import pending_release_of
from services.normalize.engine import Normalizer, Record, Rejected
from services.normalize.keys import KeyMaterial
from services.normalize.mapping import MappingContext
from services.normalize.replay import Replay
from services.normalize.seal import Sealer
from services.normalize.topics import NORMALIZE_QUARANTINE_TOPIC

from .names import RenamedQuarantine, Renamer, RenamingPseudonymiser, UnknownName


class RotationRefused(RuntimeError):
    """The rotation cannot be done safely; nothing was written."""


@dataclass(frozen=True, slots=True)
class AcceptedRecord:
    partition: int
    offset: int
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Held:
    """What the rotation read. `state` is normalize's compacted topics by canonical name."""

    events: Sequence[AcceptedRecord]  # the accepted topic up to its end offsets, each partition in order
    committed: Mapping[int, int]  # normalize's committed offset per partition (absent: never committed)
    state: Mapping[str, Mapping[str, bytes]]
    release_log: Mapping[bytes, bytes]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    partition: int
    offset: int
    reason_class: str
    reason: str


@dataclass(slots=True)
class RotationPlan:
    normalize: list[Record] = field(default_factory=list)  # canonical topics; new records, then tombstones
    dead_letters: list[DeadLetter] = field(default_factory=list)
    release_log: dict[bytes, bytes | None] = field(default_factory=dict)
    verified_at: str = ""  # "committed offsets" or "end of the accepted topic"

    @property
    def tombstones(self) -> int:
        return sum(1 for r in self.normalize if r.value is None)


def differences(
    replayed: Mapping[str, Mapping[str, bytes]], held: Mapping[str, Mapping[str, bytes]]
) -> dict[str, int]:
    """topic -> how many keys differ (present in one only, or with other values). Counts, never keys."""
    out = {}
    for topic in sorted(set(replayed) | set(held)):
        a, b = replayed.get(topic, {}), held.get(topic, {})
        differing = sum(1 for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        if differing:
            out[topic] = differing
    return out


def _canonical(value: Any) -> Any:
    """A JSON value with every list sorted: records sort their lists by pseudonym, which a rotation
    reorders without changing what they hold."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def _comparable(topic: str, value: str | bytes) -> bytes:
    """A record as the self-check compares it: lists as sets, and a resolved site's merged members by
    their number. normalize writes each merged member under the smallest pseudonym of its group, which
    another key may pick from the same group; aggregate merges members itself, from every reference of
    the platform sites (`services/aggregate/identity.py`), so the pick changes no identity and no cell
    (the release-equality tests show it), while the number of members must not change."""
    doc = json.loads(value)
    if topic == RESOLVED_SITES_TOPIC and isinstance(doc, dict):
        doc["members"] = len(doc.get("members") or [])
    return json.dumps(_canonical(doc), sort_keys=True).encode()


def _same_content(
    renamed: Mapping[str, Mapping[str, str | bytes]], new: Mapping[str, Mapping[str, bytes]]
) -> dict[str, int]:
    """topic -> how many keys differ, compared with `_comparable`."""

    def comparable(state: Mapping[str, Mapping[str, str | bytes]]) -> dict[str, dict[str, bytes]]:
        return {
            topic: {k: _comparable(topic, v) for k, v in values.items()} for topic, values in state.items()
        }

    return differences(comparable(renamed), comparable(new))


def plan_rotation(
    held: Held, old: KeyMaterial, new: KeyMaterial, *, default_consent: bool = True
) -> RotationPlan:
    """Raises `RotationRefused` (with counts, never names) when the rotation cannot be proven whole."""
    if old.key_id == new.key_id:
        raise RotationRefused(f"the new key must have its own key id (both are {old.key_id})")
    if pending_release_of(held.release_log) is not None:
        raise RotationRefused("aggregate owes a recorded release: start aggregate until it publishes it")
    old_ctx = MappingContext.from_keys(old)
    names = RenamingPseudonymiser(new, old)
    new_ctx = MappingContext(names, Sealer(new))
    quarantine = frozenset(held.state.get(NORMALIZE_QUARANTINE_TOPIC, {}))
    before = Replay(Normalizer.fresh(old_ctx, default_consent=default_consent, quarantined=quarantine))
    renamed_quarantine = RenamedQuarantine(quarantine, names)
    after = Replay(Normalizer.fresh(new_ctx, default_consent=default_consent, quarantined=renamed_quarantine))
    for key, value in held.state.get(NORMALIZE_QUARANTINE_TOPIC, {}).items():
        before.put(Record(NORMALIZE_QUARANTINE_TOPIC, key, value))

    plan = RotationPlan()
    unread = [e for e in held.events if e.offset >= held.committed.get(e.partition, 0)]
    for event in held.events:
        if event.offset < held.committed.get(event.partition, 0):
            before.feed(event.value)
            after.feed(event.value)
    if not differences(before.values(), held.state):
        plan.verified_at = "committed offsets"
    for event in unread:
        before.feed(event.value)
        done = after.feed(event.value)
        if isinstance(done.result, Rejected):
            plan.dead_letters.append(
                DeadLetter(event.partition, event.offset, done.result.reason_class, done.result.reason)
            )
    old_state = before.values()  # the whole history under the old key
    if not plan.verified_at:
        if differing := differences(old_state, held.state):
            counts = ", ".join(f"{topic}: {n}" for topic, n in differing.items())
            raise RotationRefused(
                "replaying the accepted topic under the old key does not reproduce normalize's state "
                f"(keys that differ: {counts}); the accepted topic may have lost history, or normalize "
                "stopped part-way: start normalize until it has caught up, stop it, and rotate again"
            )
        plan.verified_at = "end of the accepted topic"

    rename = Renamer(names, old, new)
    try:
        for key, value in held.state.get(NORMALIZE_QUARANTINE_TOPIC, {}).items():
            after.put(Record(NORMALIZE_QUARANTINE_TOPIC, rename(key), value))
        renamed = {
            topic: {rename.text(k): rename.text(v.decode()).encode() for k, v in values.items()}
            for topic, values in old_state.items()
        }
        plan.release_log = rekey_release_log(held.release_log, rename)
    except UnknownName as exc:
        raise RotationRefused(f"{exc}; nothing can be renamed safely") from None
    if differing := _same_content(renamed, after.values()):
        raise RotationRefused(
            f"self-check failed: the renamed old state differs from the new state {differing}"
        )

    for topic in sorted(after.records):
        plan.normalize.extend(after.records[topic][k] for k in sorted(after.records[topic]))
    for topic in sorted(held.state):
        plan.normalize.extend(Record(topic, k, None) for k in sorted(held.state[topic]))
    return plan
