"""A cell's release state in parts (services/aggregate/cell_state.py): a period's margin at a year of
both platforms holds tens of thousands of sites, and its one record outgrew the topic's largest
message, so the broker refused every release (`bench.backfill --events 1000000`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.exchange.aggregates import ReleaseStatePartRecord, ReleaseStateRecord
from schemas.topics import MAX_MESSAGE_BYTES
from services.aggregate.cell_state import (
    PART_BYTES,
    PendingState,
    cell_state_records,
    part_key,
    pending_state,
    slice_count,
    slices,
    state_key,
)
from services.aggregate.model import CellKey
from services.aggregate.rekey import rekey_release_log
from services.aggregate.release import ReleaseLog, build_message

COORDS = {"period": "2026-Q1", "country": "ALL", "sector": "ALL", "issue": "WAGES"}
KEY = CellKey.of("issue-prevalence", **COORDS)
WHEN = datetime(2026, 5, 1, tzinfo=UTC)
WITH_OUTCOMES = {
    "audited_sites": 41,
    "sites_with_issue": 12,
    "by_severity": {"critical": 0, "major": 7, "minor": 5},
    "rate_pct": 29.3,
}
POPULATION_ONLY = {**WITH_OUTCOMES, "sites_with_issue": None, "by_severity": None, "rate_pct": None}
MEASURES = {"suppressed": None, "published": WITH_OUTCOMES, "population-only": POPULATION_ONLY}


def sites(n: int, key: str = "k1") -> dict[str, str]:
    """n real sites as the planner keys them (platform-site pseudonyms of 64 hex digits), with tokens."""
    return {f"{key}.psite.{i:064x}": ("MAJOR" if i % 3 else "") for i in range(n)}


def record(
    log: ReleaseLog, contributions: dict[str, str], shows: str = "suppressed"
) -> list[tuple[bytes, bytes]]:
    """One release of the cell: `shows` is "suppressed", "published" or "population-only"."""
    status = "suppressed" if shows == "suppressed" else "published"
    message = build_message(
        "issue-prevalence", COORDS, status, MEASURES[shows], WHEN, WHEN, log.next_revision(KEY)
    )
    return log.record(message, contributions)


def compacted(*writes: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The topic's compacted state after the writes: the last value per key."""
    return {k: v for records in writes for k, v in records}


def test_a_cell_that_fits_is_one_record_as_before() -> None:
    [(key, value)] = record(ReleaseLog(), sites(40))
    assert key == state_key(KEY)
    document = json.loads(value)
    assert document["schema_version"] == 3 and "parts" not in document


def test_a_year_sized_margin_is_cut_into_parts_that_the_topic_takes() -> None:
    """30,000 sites: one record would be several MiB, over the topic's limit; every part is under it."""
    contributions = sites(30_000)
    whole = len(json.dumps(contributions))
    assert whole > MAX_MESSAGE_BYTES  # what the broker refused before
    log = ReleaseLog()
    records = record(log, contributions)
    assert len(records) > 1
    assert all(len(k) + len(v) < MAX_MESSAGE_BYTES // 4 for k, v in records)
    head = json.loads(records[0][1])
    assert head["schema_version"] == 4 and head["parts"] == len(records)
    assert [k for k, _ in records[1:]] == [part_key(KEY, i) for i in range(1, len(records))]
    assert part_key(KEY, 1) == (
        b'{"cell":{"country":"ALL","issue":"WAGES","period":"2026-Q1","sector":"ALL"},"part":1,'
        b'"table":"issue-prevalence"}'
    )
    rebuilt = ReleaseLog.from_state(compacted(records)).get(KEY)
    assert rebuilt is not None and rebuilt.contributions == contributions and rebuilt.parts == len(records)
    # In any order of the records (a compacted topic is read partition by partition).
    again = ReleaseLog.from_state(list(reversed(records))).get(KEY)
    assert again is not None and again.contributions == contributions


def test_shown_contributions_are_cut_too() -> None:
    """A cell that stops showing outcomes keeps what it showed: as large as its contributions."""
    log = ReleaseLog()
    first = record(log, sites(20_000), shows="published")
    shown = dict(log.get(KEY).contributions)  # type: ignore[union-attr]
    second = record(log, sites(20_000, key="k2"), shows="population-only")
    last = log.get(KEY)
    assert last is not None and last.shown_contributions == shown
    rebuilt = ReleaseLog.from_state(compacted(first, second)).get(KEY)
    assert rebuilt is not None
    assert rebuilt.shown_contributions == shown and rebuilt.contributions == sites(20_000, key="k2")


def test_a_suppressed_cell_keeps_the_population_it_showed_in_parts() -> None:
    """Suppressed after a population was shown: the subscriber holds that population, so the log keeps
    the contributions behind it (through a second suppression too), in parts when large, and renamed
    by a key rotation."""
    log = ReleaseLog()
    first = record(log, sites(20_000), shows="population-only")
    behind = dict(log.get(KEY).contributions)  # type: ignore[union-attr]
    second = record(log, sites(20_000, key="k2"), shows="suppressed")
    third = record(log, sites(10, key="k3"), shows="suppressed")
    last = log.get(KEY)
    assert last is not None and last.population_contributions == behind and last.parts > 1
    state = compacted(first, second, third)
    rebuilt = ReleaseLog.from_state(state).get(KEY)
    assert rebuilt is not None and rebuilt.population_contributions == behind
    assert rebuilt.contributions == sites(10, key="k3")
    renamed = rekey_release_log(state, lambda p: p.replace("k1.", "k9."))
    moved = ReleaseLog.from_state({**state, **{k: v for k, v in renamed.items() if v is not None}}).get(KEY)
    assert moved is not None and moved.population_contributions == sites(20_000, key="k9")
    shown_again = record(log, sites(40), shows="population-only")
    assert b"population_contributions" not in b"".join(v for _, v in shown_again)


def test_a_cell_that_shrinks_leaves_no_site_behind_in_a_part() -> None:
    log = ReleaseLog()
    big = record(log, sites(30_000))
    small = record(log, sites(30))
    state = compacted(big, small)
    # Every key of the big release is written again; the left-over parts hold nobody.
    assert {k for k, _ in big} <= {k for k, _ in small}
    leftovers = [json.loads(v) for k, v in state.items() if k != state_key(KEY)]
    assert leftovers and all(p["contributions"] == {} for p in leftovers)
    rebuilt = ReleaseLog.from_state(state).get(KEY)
    assert rebuilt is not None and rebuilt.contributions == sites(30) and rebuilt.parts == 1
    # Growing again reuses the part keys.
    third = record(log, sites(30_000))
    assert ReleaseLog.from_state(compacted(big, small, third)).get(KEY).contributions == sites(30_000)  # type: ignore[union-attr]


def test_a_missing_part_is_refused_not_read_as_fewer_sites() -> None:
    records = record(ReleaseLog(), sites(30_000))
    with pytest.raises(ValueError, match="lacks part"):
        ReleaseLog.from_state(records[:-1])


def test_parts_out_of_site_order_are_refused() -> None:
    records = record(ReleaseLog(), sites(30_000))
    swapped = [records[0], (records[1][0], records[2][1]), (records[2][0], records[1][1]), *records[3:]]
    with pytest.raises(ValueError):
        ReleaseLog.from_state(swapped)


def test_slices_stay_within_the_budget_and_keep_every_site_once() -> None:
    values = sites(5_000)
    cut = slices(values, budget=10_000)
    assert len(cut) > 1
    assert all(len(json.dumps(s, separators=(",", ":"))) <= 10_000 for s in cut)
    assert [site for s in cut for site in s] == sorted(values)
    assert slices({}) == [] and PART_BYTES * 8 <= MAX_MESSAGE_BYTES


def test_a_key_rotation_renames_a_cell_in_parts() -> None:
    log = ReleaseLog()
    records = record(log, sites(30_000))
    renamed = {
        k: v for k, v in rekey_release_log(compacted(records), lambda p: p.replace("k1.", "k2.")).items()
    }
    assert all(v is not None for v in renamed.values())
    state = {**compacted(records), **{k: v for k, v in renamed.items() if v is not None}}
    rebuilt = ReleaseLog.from_state(state).get(KEY)
    assert rebuilt is not None and rebuilt.contributions == sites(30_000, key="k2")
    assert all(b"k1." not in v for v in state.values())


def _json_len(values: dict[str, str | None]) -> int:
    return len(json.dumps(values, separators=(",", ":")))


@settings(max_examples=400, deadline=None)
@given(
    tokens=st.dictionaries(
        st.text(alphabet="abcdefk0123456789.", min_size=1, max_size=12),
        st.text(alphabet="tTU|0123456789", max_size=6),
        max_size=60,
    ),
    nulls=st.sets(st.integers(min_value=0, max_value=59), max_size=5),
    offset=st.integers(min_value=-40, max_value=40),
)
def test_slices_cut_only_where_the_next_entry_does_not_fit(
    tokens: dict[str, str], nulls: set[int], offset: int
) -> None:
    """Greedy in site order, by each slice's compact JSON (the estimate counts one byte more per slice
    and two more per null): one slice whenever the whole map fits, whether or not a token is null.
    The budget is drawn around the whole map's size, where a wrong estimate shows."""
    values: dict[str, str | None] = {
        site: None if i in nulls else token for i, (site, token) in enumerate(tokens.items())
    }

    def cost(part: dict[str, str | None]) -> int:
        return _json_len(part) + 1 + 2 * sum(v is None for v in part.values())

    budget = max(8, cost(values) + offset)
    cut = slices(values, budget=budget)
    assert slice_count(values, budget=budget) == len(cut)
    assert [(k, v) for s in cut for k, v in s.items()] == sorted(values.items(), key=lambda kv: kv[0])
    assert all(len(s) == 1 or cost(s) <= budget for s in cut)
    if values and cost(values) <= budget:
        assert len(cut) == 1
    for here, after in pairwise(cut):
        first = next(iter(after.items()))
        assert cost({**here, first[0]: first[1]}) > budget


@pytest.mark.parametrize("n", [0, 40, 30_000])
def test_a_pending_state_counts_its_parts_now_and_encodes_the_same_records_later(n: int) -> None:
    """What the planner keeps (`pending_state`) gives the log its number of parts at once, and encodes
    to the records `cell_state_records` gives (with what a subscriber was last shown, in parts too)."""
    message = build_message("issue-prevalence", COORDS, "suppressed", None, WHEN, WHEN, 3)
    own, shown, population = sites(n), sites(n // 2, key="k3"), sites(n, key="k4")
    pending = pending_state(KEY, message, own, shown, 4, population=population)
    records, parts = cell_state_records(KEY, message, own, shown, 4, population=population)
    assert pending.parts == parts and pending.records() == records
    assert (parts > 1) == (n == 30_000) and len(records) == max(parts, 4)
    # The records are constructed without validation: each one must still be what its model accepts.
    (head_key, head), *rest = records
    assert head_key == state_key(KEY)
    read = ReleaseStateRecord.model_validate_json(head)
    assert read.parts == parts and read.message == message
    parts_read = [ReleaseStatePartRecord.model_validate_json(value) for _, value in rest]
    assert [p.part for p in parts_read] == list(range(1, len(records)))
    joined_own = {**read.contributions, **{k: v for p in parts_read for k, v in p.contributions.items()}}
    assert joined_own == dict(sorted(own.items()))
    with pytest.raises(RuntimeError):  # a count that disagrees with the encoding is refused
        PendingState(KEY, message, own, shown, 4, population, parts + 1).records()
