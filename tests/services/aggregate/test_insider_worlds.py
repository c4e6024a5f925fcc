"""Random worlds against an insider attacker written from aggregates.md ("No exact recovery"), not from
the engine: any single member or supplier knows its own sites' contributions to every cell and
subtracts them; it must not pin what the others contributed to a withheld count.

The attacker solves, per party, family and measure, one LP over every cell not published with its
outcomes: the published cells' counts are constants of the hierarchy relations (margin = sum of its
children along each dimension), and each unknown count lies in [own, own + the cell's other sites].
A withheld count whose others' part is non-zero and has only one integer in its range is recovered.
The worlds have an issue at 97 % and one at 5 % (remainders whole or empty, where bounds pin).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from services.aggregate.disclosure import Decisions, DisclosureParams, Status, decide
from services.aggregate.model import Cell, SiteInfo
from tests.services.aggregate.test_disclosure import (
    count_range,
    families,
    grid,
    prevalence,
    random_world,
    relation_rows,
    relations,
)

Values = Mapping[str, Mapping[str, int]]


def parties(sites: Mapping[str, SiteInfo]) -> dict[str, set[str]]:
    """Every supplier and member company -> the sites whose contributions it knows."""
    out: dict[str, set[str]] = {}
    for sid, info in sites.items():
        for company in {info.principal_owner, *info.owners}:
            out.setdefault(f"supplier:{company}", set()).add(sid)
        for member in info.members:
            out.setdefault(f"member:{member}", set()).add(sid)
    return out


def insider_recovers(
    d: Decisions, cells: list[Cell], values: Values, sites: Mapping[str, SiteInfo]
) -> list[str]:
    found = []
    for fam in families(cells).values():
        unknown = [c for c in fam.values() if d.status(c.key) is not Status.PUBLISHED]
        if not unknown:
            continue
        col = {c.key: j for j, c in enumerate(unknown)}
        rels = relations(fam)
        for measure in sorted({m for c in fam.values() for m in c.additive}):
            a_eq, b_eq = relation_rows(rels, col, measure)
            if not a_eq:
                continue
            for party, known in sorted(parties(sites).items()):
                own = {c.key: sum(values[s].get(measure, 0) for s in c.sites & known) for c in unknown}
                bounds = [(own[c.key], own[c.key] + len(c.sites - known)) for c in unknown]
                for c in unknown:
                    if c.additive[measure] == own[c.key]:
                        continue  # the others contributed nothing: no target
                    lo, hi = count_range(col[c.key], a_eq, b_eq, bounds)
                    if math.floor(hi + 1e-6) == math.ceil(lo - 1e-6):
                        found.append(f"{party} pins {measure} of {c.key}: {c.additive[measure]}")
    return found


@pytest.mark.parametrize("seed", range(6))
def test_no_insider_pins_what_the_others_contributed(seed: int) -> None:
    params = DisclosureParams(outcome_min=12)
    placement, sites = random_world(seed, n=60 + 10 * seed)
    common = prevalence(seed, placement, 0.97)
    rare = prevalence(seed + 50, placement, 0.05)
    cells = grid("issue-prevalence", placement, common, issue="HEALTH_SAFETY")
    cells += grid("issue-prevalence", placement, rare, issue="WAGES")
    d = decide(cells, sites, params)
    by_issue = {"HEALTH_SAFETY": common, "WAGES": rare}
    for issue, values in by_issue.items():
        mine = [c for c in cells if c.key.get("issue") == issue]
        assert not insider_recovers(d, mine, values, sites)[:5], (seed, issue)
