"""A cell's release-state record on `exchange.aggregate.releases.v1`, split in parts when it is large.

The record keeps what every real site contributed to the cell at its last release (the revision
rule's input). A period's margin holds every site audited in the period, so at a year of both
platforms one record outgrew the topic's largest message (`schemas.topics.MAX_MESSAGE_BYTES`): the
broker refused it, the release transaction aborted, and every retry failed the same way (found by
`python -m bench.backfill --events 1000000`). So the contributions (and the shown and population
contributions) are cut, in site order, into slices of at most `PART_BYTES` of JSON each: the first
slice stays in the cell's record (`ReleaseStateRecord`, version 4, `parts` > 1), the others go to part
records (`ReleaseStatePartRecord`) under keys of their own, all in the release's transaction. A cell
that fits in one part is written exactly as before (version 3, no `parts`), byte for byte.

When a cell needs fewer parts than at its last release, its surplus parts are overwritten with empty
ones: a reader ignores parts beyond the record's count anyway, and no site's pseudonym stays behind in
a part that nothing reads (an empty record rather than a tombstone keeps every release-state value a
document, as the rest of the release path expects).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add
from typing import Final, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from schemas.exchange.aggregates import (
    RELEASE_STATE_PART,
    AnyMessage,
    ReleaseStatePartRecord,
    ReleaseStateRecord,
)

from .contributions import Contributions, Population
from .model import CellKey, compact_json

PART_BYTES: Final = 256 * 1024
"""JSON of contributions per slice, well under the topic's 2 MiB with both slices and the message."""

StateRecord = tuple[bytes, bytes]
T = TypeVar("T", str, str | None)


def state_key(key: CellKey) -> bytes:
    """Key on the internal release-state topic: `{"cell":{<sorted coordinates>},"table":"<table>"}`."""
    return compact_json({"cell": dict(key.coords), "table": key.table})


def part_key(key: CellKey, part: int) -> bytes:
    """Key of part `part` (>= 1): `{"cell":{<sorted coordinates>},"part":<part>,"table":"<table>"}`."""
    return compact_json({"cell": dict(key.coords), "part": part, "table": key.table})


def is_part_key(key: bytes) -> bool:
    """Whether a release-state key is a part's. Coordinates are JSON strings, in which a quote is
    escaped, so `},"part":` can only follow the closing brace of the cell."""
    return key.startswith(b'{"cell":') and b'},"part":' in key


def _lengths(tokens: list[T]) -> list[int]:
    """Each token's length in JSON (a null takes 4 bytes)."""
    if None in tokens:
        return [4 if token is None else len(token) for token in tokens]
    return list(map(len, tokens))  # type: ignore[arg-type]


def _one_slice(text: int, entries: int, budget: int) -> bool:
    """Whether entries whose sites and tokens take `text` bytes fit one slice: an entry takes its site,
    its token and 6 bytes, a slice 2 more."""
    return text + 6 * entries <= budget - 2


def _fits(sites: Iterable[str], lengths: list[int], budget: int) -> bool:
    """`_one_slice` by a sum, in any order: most cells fit, and need no running total."""
    return _one_slice(sum(map(len, sites)) + sum(lengths), len(lengths), budget)


def _cuts(total: Sequence[int], budget: int) -> list[int]:
    """Where each slice ends, from the running total of the entries' JSON (`total[0]` is 0): found by
    bisection, not by a loop over the sites, since a margin at a year holds tens of thousands of them;
    a slice holds at least one entry."""
    ends: list[int] = []
    start = 0
    while start < len(total) - 1:
        # the last end whose slice still fits: total[end] - total[start] <= budget - 2; at least one entry
        start = max(bisect_right(total, total[start] + budget - 2) - 1, start + 1)
        ends.append(start)
    return ends


def _ends(sites: list[str], lengths: list[int], budget: int) -> list[int]:
    """Where each slice of the sites (in order) ends (`_cuts` on the running total)."""
    entries: Iterable[int] = map(add, map(len, sites), map(add, lengths, repeat(6)))
    return _cuts([0, *accumulate(entries)], budget)


def slices(values: Mapping[str, T], budget: int = PART_BYTES) -> list[dict[str, T]]:
    """`values` in site order, cut where the next entry would take a slice's JSON past `budget`
    (a slice holds at least one entry); none for no values."""
    if not values:
        return []
    if isinstance(values, Contributions):
        sites = list(values.population.in_order())
        # every site of the population has a token (the default where none is held)
        tokens = cast(list[T], list(map(values.tokens.get, sites, repeat(values.default))))
    else:
        sites = sorted(values)
        tokens = list(map(values.__getitem__, sites))
    lengths = _lengths(tokens)
    if _fits(sites, lengths, budget):
        return [dict(zip(sites, tokens, strict=True))]
    out: list[dict[str, T]] = []
    start = 0
    for end in _ends(sites, lengths, budget):
        out.append(dict(zip(sites[start:end], tokens[start:end], strict=True)))
        start = end
    return out


def slice_count(values: Mapping[str, T], budget: int = PART_BYTES) -> int:
    """`len(slices(values, budget))`, without building the slices (and without sorting a cell that fits
    in one)."""
    if not values:
        return 0
    if isinstance(values, Contributions):
        # The sites' length is the population's, counted once for every cell over it.
        tokens = sum(map(len, values.tokens.values()))
        tokens += len(values.default) * (len(values) - len(values.tokens))
        if _one_slice(values.population.derived("site_bytes", _site_bytes) + tokens, len(values), budget):
            return 1
        return _count_slices(values, budget)
    lengths = _lengths(list(values.values()))
    if _fits(values, lengths, budget):
        return 1
    sites = sorted(values)
    return len(_ends(sites, _lengths(list(map(values.__getitem__, sites))), budget))


def _site_bytes(population: Population) -> int:
    """The sites' length in JSON text (no escapes: site keys are pseudonyms and their separators)."""
    return sum(map(len, population.sites))


def _sorted_entries(population: Population) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """The population's sites in order and each one's entry in JSON without its token (site, 6 bytes)."""
    order = population.in_order()
    return order, np.fromiter(map(len, order), dtype=np.int64, count=len(order)) + 6


def _count_slices(values: Contributions, budget: int) -> int:
    """`slice_count` of a population too large for one slice: its sites sorted and their lengths made
    once for every cell over it (a period's issue cells), each other token added where its site falls,
    the running total in numpy, and the cuts of `_ends` on it."""
    order, entries = values.population.derived("sorted_entries", _sorted_entries)
    lengths = entries + len(values.default)
    for site, token in values.tokens.items():
        lengths[bisect_left(order, site)] += len(token) - len(values.default)
    return len(_cuts([0, *np.cumsum(lengths).tolist()], budget))


def cell_state_records(
    key: CellKey,
    message: AnyMessage,
    contributions: Mapping[str, str | None],
    shown: Mapping[str, str] | None,
    previous_parts: int = 1,
    *,
    population: Mapping[str, str] | None = None,
    budget: int = PART_BYTES,
) -> tuple[list[StateRecord], int]:
    """The (key, value) records of one cell's release state, empty parts in place of those it no longer
    needs, and its number of parts. `shown` and `population`: the contributions behind the last
    outcomes and the last population a subscriber saw, when this message withholds them."""
    own = slices(contributions, budget)
    seen = [] if shown is None else slices(shown, budget)
    held = [] if population is None else slices(population, budget)
    parts = max(len(own), len(seen), len(held), 1)
    # Constructed, not validated: the message was validated when it was built, and the slices are
    # sorted maps of strings by construction. Validating them again took a fifth of the encoding at a
    # year (each contribution map copied entry by entry, and the message matched against every member
    # of its union); `test_cell_state` reads every record back through these models.
    head = ReleaseStateRecord.model_construct(
        schema_version=3 if parts == 1 else 4,
        message=message,
        parts=parts,
        contributions=own[0] if own else {},
        shown_contributions=None if shown is None else (seen[0] if seen else {}),
        population_contributions=None if population is None else (held[0] if held else {}),
    )
    exclude = {"parts"} if parts == 1 else set()
    if head.shown_contributions is None:
        exclude.add("shown_contributions")
    if head.population_contributions is None:
        exclude.add("population_contributions")
    records: list[StateRecord] = [(state_key(key), head.model_dump_json(exclude=exclude or None).encode())]
    for part in range(1, max(parts, previous_parts)):
        record = ReleaseStatePartRecord.model_construct(
            schema_version=1,
            table=key.table,
            cell=dict(key.coords),
            part=part,
            contributions=own[part] if part < len(own) else {},
            shown_contributions=seen[part] if part < len(seen) else {},
            population_contributions=held[part] if part < len(held) else {},
        )
        empty = None if record.population_contributions else {"population_contributions"}
        records.append((part_key(key, part), record.model_dump_json(exclude=empty).encode()))
    return records, parts


@dataclass(frozen=True, slots=True)
class PendingState:
    """One cell's release-state records, planned and not yet encoded (`records`).

    Encoded, the release state of a first release is every site's token of every cell: 180 MiB of
    JSON at 300,000 events, and a plan held all of it, beside its own structures, until the release
    was sent (the largest single item of aggregate's peak memory, docs/aggregate.md). A plan keeps
    this instead: the message and the maps the release log keeps anyway, and the number of parts,
    which the log needs at once; the releaser encodes the records a few cells at a time as it sends
    them. The bytes are those `cell_state_records` gives at planning time: its inputs are frozen or
    never changed (the log's maps are handed over, not copied)."""

    key: CellKey
    message: AnyMessage
    contributions: Mapping[str, str | None]
    shown: Mapping[str, str] | None
    previous_parts: int
    population: Mapping[str, str] | None
    parts: int

    def records(self) -> list[StateRecord]:
        records, parts = cell_state_records(
            self.key,
            self.message,
            self.contributions,
            self.shown,
            self.previous_parts,
            population=self.population,
        )
        if parts != self.parts:
            raise RuntimeError(f"release state of {self.key}: {parts} parts encoded, {self.parts} planned")
        return records


def pending_state(
    key: CellKey,
    message: AnyMessage,
    contributions: Mapping[str, str | None],
    shown: Mapping[str, str] | None,
    previous_parts: int = 1,
    *,
    population: Mapping[str, str] | None = None,
) -> PendingState:
    """A cell's release state as `cell_state_records` will encode it, with its number of parts counted
    now (`slice_count`: no slice is built)."""
    parts = max(
        slice_count(contributions),
        0 if shown is None else slice_count(shown),
        0 if population is None else slice_count(population),
        1,
    )
    return PendingState(key, message, contributions, shown, previous_parts, population, parts)


def parts_by_cell(values: Iterable[tuple[bytes, bytes]]) -> dict[CellKey, dict[int, ReleaseStatePartRecord]]:
    """The part records among a release-state topic's (key, value) pairs, by cell and part number;
    raises on a part whose key is not its own."""
    out: dict[CellKey, dict[int, ReleaseStatePartRecord]] = {}
    for key, value in values:
        if not is_part_key(key):
            continue
        part = RELEASE_STATE_PART.validate_json(value)
        cell = CellKey.of(part.table, **part.cell)
        if part_key(cell, part.part) != key:
            raise ValueError(f"release-state key {key!r} does not match its part record")
        out.setdefault(cell, {})[part.part] = part
    return out


@dataclass(frozen=True, slots=True)
class Joined:
    """A cell's whole release state, its parts put together."""

    contributions: dict[str, str | None]
    shown: dict[str, str] | None  # behind the last outcomes shown, when the message withholds them
    population: dict[str, str] | None  # behind the last population shown, when the message is suppressed


def joined(key: CellKey, head: ReleaseStateRecord, parts: Mapping[int, ReleaseStatePartRecord]) -> Joined:
    """A cell's whole contributions, shown contributions and population contributions from its record
    and its parts (the topic's compacted state; parts beyond the record's count are left-overs,
    emptied, and ignored). Raises on a missing part or slices out of site order (each slice is sorted
    by its model, so only where one slice meets the next is checked)."""
    contributions = dict(head.contributions)
    shown = None if head.shown_contributions is None else dict(head.shown_contributions)
    population = None if head.population_contributions is None else dict(head.population_contributions)
    for part in range(1, head.parts):
        record = parts.get(part)
        if record is None:
            raise ValueError(f"release state of {key} lacks part {part} of {head.parts}")
        _extend(key, contributions, record.contributions)
        for whole, following, what in (
            (shown, record.shown_contributions, "shown"),
            (population, record.population_contributions, "population"),
        ):
            if whole is not None:
                _extend(key, whole, following)
            elif following:
                raise ValueError(f"part {part} of {key} has {what} contributions its record does not")
    return Joined(contributions, shown, population)


def _extend(key: CellKey, whole: dict[str, T], following: Mapping[str, T]) -> None:
    """`whole` continued by the next slice, which must start after it in site order."""
    if whole and following and next(iter(following)) <= next(reversed(whole)):
        raise ValueError(f"the parts of {key} are not in site order")
    whole.update(following)
