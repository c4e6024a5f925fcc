"""One draw of one noisy table's period, and whether the budget allows it. Pure apart from the sampler.

A draw noises the base counts of every cell of the table's period at once (one OpenDP measurement over
the whole vector, whose L2 sensitivity is `sensitivity.squared_sensitivity`), then post-processes them
per family (`consistent.py`). The result is stored (`NoiseDrawRecord`) with, per cell, a fingerprint of
what each real site contributed to it: the planner publishes a cell from the stored draw while the
fingerprint still matches, and asks for a new draw (a revision, paid from the period's budget) only
when a cell that is to be re-sent has changed since.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from schemas.exchange.aggregates import NoiseDrawRecord, NoisyCell

from ..disclosure.revision import real_contributions
from ..model import Cell, CellKey
from .consistent import Pos, consistent_counts
from .mechanism import Sampler, cost, scale_for
from .params import NoiseParams
from .sensitivity import BASE_COUNTS, sensitivity

_POSITION_DIMS = ("country", "sector")


def contributions_digest(contributions: Mapping[str, str]) -> str:
    """A digest of what each real site contributes to a cell (sites and tokens, nothing else). The key
    rotation recomputes it over the same contributions under the new pseudonyms."""
    text = "\n".join(f"{site}\t{token}" for site, token in sorted(contributions.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fingerprint(cell: Cell, real: Mapping[str, str]) -> str:
    """`contributions_digest` of the cell's contributions keyed by real site."""
    return contributions_digest(real_contributions(cell, real))


class Fingerprints:
    """`fingerprint` of each cell of one plan, computed once (a margin has thousands of sites)."""

    def __init__(self, real: Mapping[str, str]) -> None:
        self.real = real
        self._memo: dict[CellKey, str] = {}

    def __call__(self, cell: Cell) -> str:
        found = self._memo.get(cell.key)
        if found is None:
            found = self._memo[cell.key] = fingerprint(cell, self.real)
        return found


def budget_left(previous: NoiseDrawRecord | None, params: NoiseParams) -> bool:
    """Whether the table's period may be drawn (again): fewer than `draws_per_period` draws so far."""
    return previous is None or previous.draws < params.draws_per_period


def period_spent(draws: Mapping[tuple[str, str], StoredDraw], period: str) -> float:
    """rho spent on one period so far, every noisy table together."""
    return sum(d.record.rho_spent for (_, p), d in draws.items() if p == period)


def spent_ratio(draws: Mapping[tuple[str, str], StoredDraw], params: NoiseParams) -> float:
    """The largest share of any period's budget spent so far (0 with no draw)."""
    periods = {p for _, p in draws}
    return max((period_spent(draws, p) / params.rho_per_period for p in periods), default=0.0)


def _place(key: CellKey) -> tuple[tuple[tuple[str, str], ...], Pos]:
    """A cell's family (its coordinates other than country and sector) and position in it."""
    coords = dict(key.coords)
    return tuple((d, v) for d, v in key.coords if d not in _POSITION_DIMS), (
        coords["country"],
        coords["sector"],
    )


def draw_period(
    table: str,
    period: str,
    cells: Sequence[Cell],
    fingerprints: Callable[[Cell], str],
    params: NoiseParams,
    sampler: Sampler,
    previous: NoiseDrawRecord | None = None,
) -> NoiseDrawRecord:
    """A fresh draw of every cell of `table` in `period` (margins included)."""
    names = BASE_COUNTS[table]
    delta = sensitivity(table)
    scale = scale_for(delta, params.rho_per_draw())
    ordered = sorted(cells, key=lambda c: c.key)
    true = [c.additive[name] for c in ordered for name in names]
    noisy = sampler(true, scale)
    if len(noisy) != len(true):
        raise ValueError("the sampler returned a vector of another length")
    # Per family (the coordinates other than country and sector): position -> noisy counts.
    families: dict[tuple[tuple[str, str], ...], dict[Pos, dict[str, float]]] = defaultdict(dict)
    populations: dict[tuple[tuple[str, str], ...], dict[Pos, int]] = defaultdict(dict)
    places = [_place(cell.key) for cell in ordered]
    for i, (cell, (fixed, pos)) in enumerate(zip(ordered, places, strict=True)):
        families[fixed][pos] = {name: float(noisy[i * len(names) + j]) for j, name in enumerate(names)}
        populations[fixed][pos] = len(cell.sites)
    counts = {
        fixed: consistent_counts(table, family, populations[fixed], names)
        for fixed, family in families.items()
    }
    out = []
    for cell, (fixed, pos) in zip(ordered, places, strict=True):
        out.append(
            NoisyCell(cell=dict(cell.key.coords), fingerprint=fingerprints(cell), counts=counts[fixed][pos])
        )
    spent = cost(delta, scale)
    return NoiseDrawRecord(
        schema_version=1,
        table=table,
        period=period,
        draws=1 if previous is None else previous.draws + 1,
        rho_spent=spent if previous is None else previous.rho_spent + spent,
        scale=scale,
        cells=out,
    )


@dataclass(frozen=True, slots=True)
class StoredDraw:
    """A `NoiseDrawRecord` as read back, indexed by cell."""

    record: NoiseDrawRecord
    by_cell: Mapping[tuple[tuple[str, str], ...], NoisyCell]

    @classmethod
    def of(cls, record: NoiseDrawRecord) -> StoredDraw:
        return cls(record, {tuple(sorted(c.cell.items())): c for c in record.cells})

    def counts(self, key: CellKey, current: str) -> Mapping[str, int] | None:
        """The cell's base counts, if the draw has the cell and its fingerprint is `current`."""
        cell = self.by_cell.get(key.coords)
        return None if cell is None or cell.fingerprint != current else cell.counts
