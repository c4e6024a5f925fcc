"""The key rotation's plan, in-process (`services.rotation.plan`): what it writes renames every name and
changes nothing else, and the next release is byte for byte the release without the rotation.

The history is the simulator's year of both platforms (2,500 accepted events on three partitions),
normalize's state and aggregate's releases computed with the services' own engines; forced-labour is
released in the differential-privacy mode, so stored noise must survive the rotation too."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import pytest

from schemas.exchange.aggregates import PENDING_RELEASE_KEY
from schemas.shared.resolution import RESOLVED_SITES_TOPIC
from services.normalize.engine import Record
from services.normalize.keys import KeyMaterial
from services.normalize.topics import NORMALIZE_QUARANTINE_TOPIC
from services.rotation.plan import Held, RotationPlan, RotationRefused, _same_content, plan_rotation
from tests.services.normalize.test_engine import apply
from tests.services.rotation.history import (
    FIRST_RELEASE,
    NEW,
    OLD,
    SECOND_RELEASE,
    Feed,
    SeededSampler,
    feed,
    normalize_state,
    public,
    release,
)

# A pseudonym or sealed value under a key id, as the contract's hygiene rules describe them.
NAME = re.compile(rb"\b(k[0-9])\.(?:site|rsite|company|member|audit|finding|training|addr|event|sealed)\.")


@pytest.fixture(scope="module")
def history() -> Feed:
    return feed()


def applied(state: Mapping[str, Mapping[str, bytes]], records: list[Record]) -> dict[str, dict[str, bytes]]:
    """The compacted topics after the plan's normalize records."""
    out = {topic: dict(values) for topic, values in state.items()}
    apply(out, records)
    return {topic: values for topic, values in out.items() if values}


def applied_log(log: Mapping[bytes, bytes], plan: RotationPlan) -> dict[bytes, bytes]:
    out = dict(log)
    for key, value in plan.release_log.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def key_ids(blobs: list[bytes]) -> set[bytes]:
    return {m.group(1) for blob in blobs for m in NAME.finditer(blob)}


def everything(state: Mapping[str, Mapping[str, bytes]]) -> list[bytes]:
    return [blob for values in state.values() for k, v in values.items() for blob in (k.encode(), v)]


def test_a_rotation_renames_every_name_and_the_next_release_is_the_release_without_it(history: Feed) -> None:
    # Normalize read 70 % of each partition under k1, and aggregate released on that; the rest of the
    # events arrived meanwhile and are read by the rotation itself.
    committed = history.cut(0.7)
    state = normalize_state(history.records, committed, OLD)
    log: dict[bytes, bytes] = {}
    first = release(state, log, FIRST_RELEASE, SeededSampler())
    assert first.draws > 0 and key_ids(everything(state)) == {b"k1"}

    plan = plan_rotation(Held(history.records, committed, state, log), OLD, NEW)
    assert plan.verified_at == "committed offsets"

    rotated = applied(state, plan.normalize)
    rotated_log = applied_log(log, plan)
    # Nothing lost, nothing doubled: exactly the state a normalize under k2 would hold after every event.
    assert rotated == normalize_state(history.records, history.ends(), NEW)
    # No old name survives, in normalize's topics or in the release log.
    assert key_ids(everything(rotated)) == {b"k2"}
    assert key_ids([*rotated_log, *rotated_log.values()]) == {b"k2"}
    # Every old key is tombstoned.
    assert plan.tombstones == sum(len(v) for v in state.values())

    # The reference: no rotation; normalize simply reads the rest under k1.
    reference_state = normalize_state(history.records, history.ends(), OLD)
    reference_log = dict(log)
    sampler, reference_sampler = SeededSampler(11), SeededSampler(11)
    second = release(rotated, rotated_log, SECOND_RELEASE, sampler)
    reference = release(reference_state, reference_log, SECOND_RELEASE, reference_sampler)
    assert reference.sent > 0  # the second half of the year: there is something to publish
    assert public(second) == public(reference)
    assert (second.sent, second.unchanged, second.held) == (
        reference.sent,
        reference.unchanged,
        reference.held,
    )
    assert sampler.calls == reference_sampler.calls


def test_a_rotation_alone_re_sends_no_cell_and_draws_no_noise(history: Feed) -> None:
    ends = history.ends()
    state = normalize_state(history.records, ends, OLD)
    log: dict[bytes, bytes] = {}
    first = release(state, log, SECOND_RELEASE, SeededSampler())
    assert first.sent > 0 and first.draws > 0

    plan = plan_rotation(Held(history.records, ends, state, log), OLD, NEW)
    assert plan.verified_at == "committed offsets" and not plan.dead_letters
    rotated, rotated_log = applied(state, plan.normalize), applied_log(log, plan)
    sampler, reference_sampler = SeededSampler(3), SeededSampler(3)
    later = SECOND_RELEASE.replace(hour=1)
    again = release(rotated, rotated_log, later, sampler)
    reference = release(state, dict(log), later, reference_sampler)  # the same release, no rotation
    assert (again.sent, again.draws, sampler.calls) == (0, 0, 0)
    assert (again.unchanged, again.held) == (reference.unchanged, reference.held)
    assert public(again) == public(reference)

    # The protection switched off: the same rotation with the release log left under the old names.
    # Every site of every cell then looks new, the stored noise matches nothing, and cells move.
    stale = SeededSampler(3)
    unrenamed = release(rotated, dict(log), SECOND_RELEASE.replace(hour=1), stale)
    assert (unrenamed.sent, unrenamed.draws, unrenamed.held) != (0, 0, reference.held)


def test_events_the_rotation_reads_for_normalize_are_dead_lettered_if_normalize_would_have(
    history: Feed,
) -> None:
    committed = history.cut(0.5)
    state = normalize_state(history.records, committed, OLD)
    broken = [*history.records]
    last = broken[-1]
    broken[-1] = type(last)(last.partition, last.offset, b'{"not": "an envelope"}')
    plan = plan_rotation(Held(broken, committed, state, {}), OLD, NEW)
    assert [(d.partition, d.offset, d.reason_class) for d in plan.dead_letters] == [
        (last.partition, last.offset, "invalid_envelope")
    ]


def test_a_history_that_no_longer_reproduces_the_state_is_refused(history: Feed) -> None:
    ends = history.ends()
    state = normalize_state(history.records, ends, OLD)
    # The accepted topic lost its oldest records (a retention someone set): the replay misses sites.
    lost = [r for r in history.records if r.offset >= 50]
    with pytest.raises(RotationRefused, match="does not reproduce"):
        plan_rotation(Held(lost, ends, state, {}), OLD, NEW)


def test_a_state_under_another_key_is_refused(history: Feed) -> None:
    ends = history.ends()
    state = normalize_state(history.records, ends, KeyMaterial("k9", bytes(range(50, 82))))
    with pytest.raises(RotationRefused, match="does not reproduce"):
        plan_rotation(Held(history.records, ends, state, {}), OLD, NEW)
    with pytest.raises(RotationRefused, match="own key id"):
        plan_rotation(Held(history.records, ends, state, {}), OLD, OLD)


def test_a_release_still_owed_is_refused(history: Feed) -> None:
    ends = history.ends()
    state = normalize_state(history.records, ends, OLD)
    log = {PENDING_RELEASE_KEY: b'{"release_id":"2026-02-01T00:00:00Z"}'}
    with pytest.raises(RotationRefused, match="owes"):
        plan_rotation(Held(history.records, ends, state, log), OLD, NEW)


def test_the_quarantine_moves_to_the_new_key_and_still_holds(history: Feed) -> None:
    ends = history.ends()
    state = normalize_state(history.records, ends, OLD)
    plan = plan_rotation(Held(history.records, ends, state, {}), OLD, NEW)
    rotated = applied(state, plan.normalize)
    # An event pseudonym no accepted event has: the history cannot rename it.
    orphan = {**state, NORMALIZE_QUARANTINE_TOPIC: {"k1.event." + "0" * 32: b'{"reason":"x"}'}}
    with pytest.raises(RotationRefused, match="no identifier"):
        plan_rotation(Held(history.records, ends, orphan, {}), OLD, NEW)
    assert NORMALIZE_QUARANTINE_TOPIC not in rotated


def test_the_self_check_tells_a_renaming_from_a_change() -> None:
    site = {
        "resolved_site_id": "k2.rsite." + "1" * 32,
        "country": "BD",
        "owner_ids": ["k2.company." + "a" * 32, "k2.company." + "b" * 32],
        "members": [{"member_id": "k2.member." + "c" * 32, "lei_id": None}],
    }

    def state(**changes: object) -> dict[str, dict[str, str | bytes]]:
        return {RESOLVED_SITES_TOPIC: {"k": json.dumps({**site, **changes})}}

    new = {RESOLVED_SITES_TOPIC: {"k": json.dumps(site).encode()}}
    # Lists in another order, another representative of the same merged member: a renaming.
    assert not _same_content(state(owner_ids=site["owner_ids"][::-1]), new)
    assert not _same_content(state(members=[{"member_id": "k2.member." + "d" * 32, "lei_id": None}]), new)
    # Another country, another owner, one member more: a change, which the rotation refuses.
    assert _same_content(state(country="VN"), new) == {RESOLVED_SITES_TOPIC: 1}
    assert _same_content(state(owner_ids=["k2.company." + "a" * 32]), new)
    assert _same_content(state(members=[*site["members"], {"member_id": "x", "lei_id": None}]), new)
