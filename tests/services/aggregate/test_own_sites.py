"""What an insider knows: each table's `Cell.unit_counts` must read a site's contribution token as
exactly what that site adds to the cell, or the value LP models a wrong insider (a box that excludes
the truth is refused; one that is too loose misses pins). Checked on the simulated feed's cells,
against the counts the tables computed from their items, not from the tokens."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from services.aggregate.audit_quality import audit_quality
from services.aggregate.disclosure.own_sites import own_parts, parties_of
from services.aggregate.disclosure.residual import build_families
from services.aggregate.identity import Identities
from services.aggregate.model import Cell, SiteInfo
from services.aggregate.population import NormalizedState, affiliations, site_infos
from services.aggregate.remediation import remediation
from services.aggregate.tables import forced_labour, issue_prevalence, labour_relations
from tests.services.aggregate.release_setup import feed_state

RELEASE_AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def state() -> NormalizedState:
    return feed_state()


def cells_of(state: NormalizedState, table: str) -> list[Cell]:
    if table == "issue-prevalence":
        return issue_prevalence(state)
    if table == "forced-labour":
        return forced_labour(state)
    if table == "labour-relations":
        return labour_relations(state)
    if table == "audit-quality":
        return audit_quality(state)
    return remediation(state, RELEASE_AT)


@pytest.mark.parametrize(
    "table", ["issue-prevalence", "forced-labour", "labour-relations", "audit-quality", "remediation"]
)
def test_each_sites_token_adds_up_to_the_cells_counts(state: NormalizedState, table: str) -> None:
    cells = cells_of(state, table)
    assert cells
    for cell in cells:
        assert cell.unit_counts is not None, cell.key
        units = 0
        counts: Counter[str] = Counter()
        for token in cell.contributions.values():
            n, c = cell.unit_counts(token)
            units += n
            counts.update(c)
        assert {m: counts[m] for m in cell.additive} == dict(cell.additive), cell.key
        assert set(counts) <= set(cell.additive) | {"sites_with_issue"}, cell.key
        assert units == max(v for v in cell.population.values() if isinstance(v, int)), cell.key


def test_a_partys_part_is_the_sum_of_its_sites(state: NormalizedState) -> None:
    """`own_parts` credits every site to each of its suppliers and members, and to no one else."""
    now = affiliations(state)
    sites: dict[str, SiteInfo] = site_infos(state, now, Identities(now.values()))
    family = next(f for f in build_families(forced_labour(state)) if len(f.cells) > 3)
    positions = sorted(family.cells)
    parts = own_parts(family, positions, sites)
    expected: dict[tuple[str, str], Counter[str]] = {}
    for pos in positions:
        cell = family.cells[pos]
        for site in cell.sites:
            token = cell.contributions[site]
            for party in parties_of(sites[site]):
                tally = expected.setdefault(party, Counter())
                tally[f"{pos}|units"] += 1
                tally.update(f"{pos}|{m}" for m in ([] if not token else ["sites_with_indicator"]))
                tally.update(f"{pos}|by_indicator.{i}" for i in (token.split(",") if token else []))
    assert expected.keys() == parts.keys()
    for party, part in parts.items():
        got: Counter[str] = Counter({f"{pos}|units": n for pos, n in part.units.items()})
        got.update({f"{pos}|{m}": n for (pos, m), n in part.counts.items() if n})
        assert got == expected[party], party
