"""Post-processing a noisy draw into counts a subscriber can use (aggregates.md, DP mode: "margins
consistent with their cells and counts between 0 and their population").

Per family (one period and issue, or one period of forced labour) and base count, the draw holds a
noisy value for every cell: leaves `country x sector` and the three margin levels. Each level is an
estimate of the same leaves, so they are combined by ordinary least squares (the leaves that best
explain every noisy cell, as in Hay et al., "Boosting the accuracy of differentially private
histograms through consistency", 2010): margins then gain from their leaves and leaves from their
margins, and every estimate stays unbiased.

Then integers in range, top-down (as the US Census Bureau's TopDown algorithm does): the total is
rounded and clamped to [0, population]; the country margins are their estimates shifted by one common
amount and clamped so that together they make the total; each country's leaves likewise. Clamping each
leaf on its own instead would add up: hundreds of small leaves whose noise is cut at 0 make a total
hundreds too high. Rounding keeps every sum (largest remainders). Last, the counts of one leaf are made
to agree with each other (severities add up to at most the population; no indicator count above
`sites_with_indicator`, and together at least it: the indicators give way to the headline count), and
every margin is the sum of its leaves, so a margin is exactly its cells and every relation of the table
holds. All of this reads only the noisy draw and the public populations: post-processing spends no
privacy.

Every family of one table's period has the same cells, so the least-squares operator is computed once
per set of cells (`_solver`) and applied to every family and count at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

from schemas.exchange.aggregates import FORCED_LABOUR, ISSUE_PREVALENCE, LABOUR_RELATIONS

from ..model import ALL

Pos = tuple[str, str]  # (country, sector)
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

SEVERITY_COUNTS: Final = ("by_severity.critical", "by_severity.major", "by_severity.minor")


def design(positions: Sequence[Pos], leaves: Sequence[Pos]) -> Floats:
    """Row per cell, column per leaf: 1 where the leaf lies in the cell."""
    countries = np.array([c for c, _ in leaves])
    sectors = np.array([s for _, s in leaves])
    out = np.zeros((len(positions), len(leaves)))
    for row, (country, sector) in enumerate(positions):
        inside = np.ones(len(leaves), dtype=bool)
        if country != ALL:
            inside &= countries == country
        if sector != ALL:
            inside &= sectors == sector
        out[row] = inside
    return out


@lru_cache(maxsize=64)
def _solver(positions: tuple[Pos, ...], leaves: tuple[Pos, ...]) -> tuple[Floats, Floats]:
    """(design, its pseudo-inverse): least-squares leaves are `pinv @ noisy` for every count at once."""
    matrix = design(positions, leaves)
    pinv: Floats = np.linalg.pinv(matrix).astype(np.float64)
    return matrix, pinv


def _shifted(estimates: Floats, caps: Floats, target: float) -> Floats:
    """clip(estimates - shift, 0, caps) with the one shift that makes them add up to `target` (itself
    within [0, caps.sum()]): the closest values in range with that sum (a projection).

    The sum is piecewise linear and non-increasing in the shift, with kinks where a value reaches 0 or
    its cap: evaluate it at every kink, then interpolate on the segment that holds the target."""
    kinks = np.unique(np.concatenate([estimates, estimates - caps]))
    sums = np.clip(estimates[None, :] - kinks[:, None], 0, caps[None, :]).sum(axis=1)  # falling
    k = int(np.searchsorted(-sums, -target, side="left"))  # first kink whose sum is <= target
    if k == 0:
        shift = float(kinks[0])
    elif k == len(kinks):
        shift = float(kinks[-1])
    else:
        a, b, fa, fb = kinks[k - 1], kinks[k], sums[k - 1], sums[k]
        shift = float(b if fa == fb else a + (fa - target) * (b - a) / (fa - fb))
    clipped: Floats = np.clip(estimates - shift, 0, caps)
    return clipped


def _rounded(values: Floats, caps: Ints, total: int) -> Ints:
    """Integers within [0, caps] adding up to `total`, each the floor or the ceiling of its value where
    possible: floors first, then one more to the largest remainders."""
    floors = np.floor(values)
    out: Ints = np.minimum(floors, caps).astype(np.int64)
    missing = total - int(out.sum())
    order = np.lexsort((np.arange(len(values)), -(values - floors)))
    for i in np.concatenate([order, order]):  # a second pass for what capped items could not take
        if missing <= 0:
            break
        if out[i] < caps[i]:
            out[i] += 1
            missing -= 1
    return out


def _top_down(fitted: Floats, caps: Ints, groups: Sequence[slice]) -> Ints:
    """Integer leaves in [0, caps] from unbiased fitted leaves: the total, then each group's (country's)
    share of it, then the group's leaves. `groups` are contiguous slices of the leaves."""
    estimate = np.array([fitted[g].sum() for g in groups])
    group_caps = np.array([caps[g].sum() for g in groups], dtype=np.int64)
    total = int(np.clip(np.rint(estimate.sum()), 0, group_caps.sum()))
    by_group = _rounded(_shifted(estimate, group_caps.astype(float), total), group_caps, total)
    out = np.zeros(len(fitted), dtype=np.int64)
    for group, group_total in zip(groups, by_group, strict=True):
        shifted = _shifted(fitted[group], caps[group].astype(float), int(group_total))
        out[group] = _rounded(shifted, caps[group], int(group_total))
    return out


def _agree(table: str, counts: dict[str, int], population: int) -> dict[str, int]:
    """One leaf's counts made consistent with each other and with its population."""
    if table == ISSUE_PREVALENCE:
        sev = {k: counts[k] for k in SEVERITY_COUNTS}
        while sum(sev.values()) > population:  # trim the largest first: the smallest total change
            largest = max(sev, key=lambda k: (sev[k], k))
            sev[largest] -= 1
        return sev
    if table == FORCED_LABOUR:
        # The headline count stays; the indicators give way: none above it, and together at least it.
        with_any = min(counts["sites_with_indicator"], population)
        indicators = {k: min(v, with_any) for k, v in counts.items() if k != "sites_with_indicator"}
        short = with_any - sum(indicators.values())
        if short > 0 and indicators:
            largest = max(indicators, key=lambda k: (indicators[k], k))
            indicators[largest] += short  # stays <= with_any, since the largest is at most the sum
        return {**indicators, "sites_with_indicator": with_any}
    if table == LABOUR_RELATIONS:  # four independent counts, each already within the population
        return dict(counts)
    raise ValueError(f"no consistency rule for table {table!r}")


def consistent_counts(
    table: str,
    noisy: Mapping[Pos, Mapping[str, float]],
    populations: Mapping[Pos, int],
    names: Sequence[str],
) -> dict[Pos, dict[str, int]]:
    """Every cell's integer base counts, from one family's noisy draw: leaves by least squares, made
    integers in range top-down and made to agree; margins the sums of their leaves."""
    positions = tuple(sorted(noisy))
    leaves = tuple(p for p in positions if ALL not in p)  # sorted by country, so countries are contiguous
    matrix, pinv = _solver(positions, leaves)
    fitted = pinv @ np.array([[noisy[p][name] for name in names] for p in positions], dtype=float)
    caps = np.array([populations[leaf] for leaf in leaves], dtype=np.int64)
    groups, start = [], 0
    for i in range(1, len(leaves) + 1):
        if i == len(leaves) or leaves[i][0] != leaves[start][0]:
            groups.append(slice(start, i))
            start = i
    integers = np.stack([_top_down(fitted[:, j], caps, groups) for j in range(len(names))], axis=1)
    leaf_counts = [
        _agree(table, {name: int(v) for name, v in zip(names, row, strict=True)}, int(cap))
        for row, cap in zip(integers, caps, strict=True)
    ]
    agreed = np.array([[counts[name] for name in names] for counts in leaf_counts], dtype=np.int64)
    totals = (matrix @ agreed).round().astype(np.int64)  # every cell: the sum of its leaves
    return {pos: {name: int(totals[i, j]) for j, name in enumerate(names)} for i, pos in enumerate(positions)}
