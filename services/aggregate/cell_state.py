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

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add
from typing import Final, TypeVar

from schemas.exchange.aggregates import (
    RELEASE_STATE_PART,
    AnyMessage,
    ReleaseStatePartRecord,
    ReleaseStateRecord,
)

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


def slices(values: Mapping[str, T], budget: int = PART_BYTES) -> list[dict[str, T]]:
    """`values` in site order, cut where the next entry would take a slice's JSON past `budget`
    (a slice holds at least one entry); none for no values.

    An entry takes its site and token and 6 bytes (quotes, colon, comma; a null token counts 4), a
    slice 2 more (braces). The cuts are found on the running total (`accumulate`, `bisect`), not by a
    loop over the sites: a margin at a year holds tens of thousands of them."""
    if not values:
        return []
    sites = sorted(values)
    tokens = [values[site] for site in sites]
    if None in tokens:
        lengths: Iterable[int] = [4 if token is None else len(token) for token in tokens]
    else:
        lengths = map(len, tokens)  # type: ignore[arg-type]
    entries: Iterable[int] = map(add, map(len, sites), map(add, lengths, repeat(6)))
    total = [0, *accumulate(entries)]
    out: list[dict[str, T]] = []
    start = 0
    while start < len(sites):
        # the last end whose slice still fits: total[end] - total[start] <= budget - 2; at least one entry
        end = max(bisect_right(total, total[start] + budget - 2) - 1, start + 1)
        out.append(dict(zip(sites[start:end], tokens[start:end], strict=True)))
        start = end
    return out


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
    head = ReleaseStateRecord(
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
        record = ReleaseStatePartRecord(
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
