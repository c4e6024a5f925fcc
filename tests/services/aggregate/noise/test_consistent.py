"""Post-processing (aggregates.md, DP mode): margins are their cells, counts lie in [0, population],
the counts of one cell agree with each other; and combining the levels makes the estimates better,
not only consistent."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.exchange.aggregates import FORCED_LABOUR, ISSUE_PREVALENCE
from services.aggregate.model import ALL
from services.aggregate.noise import BASE_COUNTS, consistent_counts

Pos = tuple[str, str]


def _positions(leaves: list[Pos]) -> list[Pos]:
    countries = sorted({c for c, _ in leaves})
    sectors = sorted({s for _, s in leaves})
    return [*leaves, *((c, ALL) for c in countries), *((ALL, s) for s in sectors), (ALL, ALL)]


def _populations(leaf_pops: dict[Pos, int]) -> dict[Pos, int]:
    out = dict(leaf_pops)
    for c, s in _positions(list(leaf_pops)):
        if ALL in (c, s):
            out[(c, s)] = sum(p for (lc, ls), p in leaf_pops.items() if c in (ALL, lc) and s in (ALL, ls))
    return out


leaf_sets = st.dictionaries(
    st.tuples(st.sampled_from(["BD", "VN", "CN", "IN"]), st.sampled_from(["APPAREL", "FOOD", "TOYS"])),
    st.integers(min_value=1, max_value=40),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(leaf_pops=leaf_sets, table=st.sampled_from([ISSUE_PREVALENCE, FORCED_LABOUR]), data=st.data())
def test_counts_are_consistent_and_in_range(
    leaf_pops: dict[Pos, int], table: str, data: st.DataObject
) -> None:
    names = BASE_COUNTS[table]
    pops = _populations(leaf_pops)
    noisy = {
        pos: {n: data.draw(st.floats(min_value=-60, max_value=100, allow_nan=False)) for n in names}
        for pos in _positions(list(leaf_pops))
    }
    out = consistent_counts(table, noisy, pops, names)
    assert out.keys() == noisy.keys()
    leaves = [p for p in out if ALL not in p]
    for pos, counts in out.items():
        below = [out[leaf] for leaf in leaves if pos[0] in (ALL, leaf[0]) and pos[1] in (ALL, leaf[1])]
        for n in names:
            assert counts[n] == sum(b[n] for b in below)  # a margin is exactly its cells
            assert 0 <= counts[n] <= pops[pos]
        if table == ISSUE_PREVALENCE:
            assert sum(counts.values()) <= pops[pos]  # sites_with_issue <= audited_sites
        else:
            indicators = [v for k, v in counts.items() if k != "sites_with_indicator"]
            assert max(indicators) <= counts["sites_with_indicator"] <= min(sum(indicators), pops[pos])


def test_combining_the_levels_makes_the_total_more_accurate_than_its_own_noise() -> None:
    """Twelve leaves of one issue family, each level noised with the same scale: the least-squares total
    is closer to the truth on average than the noisy total alone, and far closer than the sum of the
    noisy leaves."""
    rng = np.random.default_rng(7)
    leaf_pops = {(c, s): 40 for c in ("BD", "VN", "CN", "IN") for s in ("APPAREL", "FOOD", "TOYS")}
    pops = _populations(leaf_pops)
    names = BASE_COUNTS[ISSUE_PREVALENCE]
    per_leaf = dict(zip(names, (10, 8, 6), strict=True))

    def truth(pos: Pos, name: str) -> int:
        return per_leaf[name] * sum(1 for c, s in leaf_pops if pos[0] in (ALL, c) and pos[1] in (ALL, s))

    total, name = (ALL, ALL), names[0]
    raw_err, sum_err, fit_err = [], [], []
    for _ in range(300):
        noisy = {pos: {n: truth(pos, n) + rng.normal(0, 5) for n in names} for pos in pops}
        fitted = consistent_counts(ISSUE_PREVALENCE, noisy, pops, names)
        raw_err.append((noisy[total][name] - truth(total, name)) ** 2)
        sum_err.append((sum(noisy[p][name] for p in leaf_pops) - truth(total, name)) ** 2)
        fit_err.append((fitted[total][name] - truth(total, name)) ** 2)
    assert np.mean(fit_err) < 0.8 * np.mean(raw_err)
    assert np.mean(fit_err) < 0.2 * np.mean(sum_err)
