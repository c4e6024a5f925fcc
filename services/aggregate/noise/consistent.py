"""Post-processing a noisy draw into counts a subscriber can use (aggregates.md, DP mode: "margins
consistent with their cells and counts between 0 and their population").

Per family (one period and issue, or one period of forced labour) and base count, the draw holds a
noisy value for every cell: leaves `country x sector` and the three margin levels. Each level is an
estimate of the same leaves, so they are combined by ordinary least squares (the leaves that best
explain every noisy cell, as in Hay et al., "Boosting the accuracy of differentially private
histograms through consistency", 2010): margins then gain from their leaves and leaves from their
margins. The leaves are then clamped to [0, population] and rounded, the counts of one leaf are made
to agree with each other (severities add up to at most the population; `sites_with_indicator` between
the largest indicator count and their sum), and every margin is the sum of its leaves, so a margin is
exactly its cells and every relation of the table holds. All of this reads only the noisy draw and the
public populations: post-processing spends no privacy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np

from ..model import ALL
from ..tables import FORCED_LABOUR, ISSUE_PREVALENCE

Pos = tuple[str, str]  # (country, sector)

SEVERITY_COUNTS: Final = ("by_severity.critical", "by_severity.major", "by_severity.minor")


def least_squares_leaves(
    noisy: Mapping[Pos, Mapping[str, float]], leaves: Sequence[Pos], names: Sequence[str]
) -> dict[Pos, dict[str, float]]:
    """Per count name, the leaf values minimising the squared distance of every cell (leaf or margin)
    to its noisy value; one solve for all names, since every name has the same cells."""
    index = {leaf: i for i, leaf in enumerate(leaves)}
    positions = sorted(noisy)
    design = np.zeros((len(positions), len(leaves)))
    for row, (country, sector) in enumerate(positions):
        for (c, s), i in index.items():
            if country in (ALL, c) and sector in (ALL, s):
                design[row, i] = 1.0
    targets = np.array([[noisy[p][name] for name in names] for p in positions], dtype=float)
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    return {leaf: {name: float(solution[i, j]) for j, name in enumerate(names)} for leaf, i in index.items()}


def _shifted(estimates: np.ndarray, caps: np.ndarray, target: float) -> np.ndarray:
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
    return np.clip(estimates - shift, 0, caps)


def _rounded(values: np.ndarray, caps: np.ndarray, total: int) -> np.ndarray:
    """Integers within [0, caps] adding up to `total`, each the floor or the ceiling of its value where
    possible: floors first, then one more to the largest remainders."""
    out: np.ndarray = np.minimum(np.floor(values), caps).astype(int)
    missing = total - int(out.sum())
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - np.floor(values[i])), i))
    for i in order * 2:  # a second pass for what capped items could not take
        if missing <= 0:
            break
        if out[i] < caps[i]:
            out[i] += 1
            missing -= 1
    return out


def _top_down(
    fitted: Mapping[Pos, float], populations: Mapping[Pos, int], leaves: Sequence[Pos]
) -> dict[Pos, int]:
    """Integer leaves in [0, population] from unbiased fitted leaves: total, then countries, then leaves."""
    countries = sorted({c for c, _ in leaves})
    estimate = np.array([sum(fitted[leaf] for leaf in leaves if leaf[0] == c) for c in countries])
    caps = np.array([sum(populations[leaf] for leaf in leaves if leaf[0] == c) for c in countries])
    total = int(np.clip(np.rint(estimate.sum()), 0, caps.sum()))
    by_country = _rounded(_shifted(estimate, caps, total), caps, total)
    out: dict[Pos, int] = {}
    for country, country_total in zip(countries, by_country, strict=True):
        mine = [leaf for leaf in leaves if leaf[0] == country]
        values = np.array([fitted[leaf] for leaf in mine])
        leaf_caps = np.array([populations[leaf] for leaf in mine])
        out.update(
            zip(
                mine,
                (
                    int(v)
                    for v in _rounded(_shifted(values, leaf_caps, country_total), leaf_caps, country_total)
                ),
                strict=True,
            )
        )
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
    raise ValueError(f"no consistency rule for table {table!r}")


def consistent_counts(
    table: str,
    noisy: Mapping[Pos, Mapping[str, float]],
    populations: Mapping[Pos, int],
    names: Sequence[str],
) -> dict[Pos, dict[str, int]]:
    """Every cell's integer base counts, from one family's noisy draw: leaves by least squares, made
    integers in range top-down and made to agree; margins the sums of their leaves."""
    leaves = sorted(p for p in noisy if ALL not in p)
    fitted = least_squares_leaves(noisy, leaves, names)
    integers = {
        name: _top_down({leaf: fitted[leaf][name] for leaf in leaves}, populations, leaves) for name in names
    }
    leaf_counts = {
        leaf: _agree(table, {name: integers[name][leaf] for name in names}, populations[leaf])
        for leaf in leaves
    }
    out: dict[Pos, dict[str, int]] = {}
    for country, sector in noisy:
        below = [leaf_counts[(c, s)] for c, s in leaves if country in (ALL, c) and sector in (ALL, s)]
        out[(country, sector)] = {name: sum(b[name] for b in below) for name in names}
    return out
