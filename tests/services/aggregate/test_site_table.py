"""The release's site table (services/aggregate/model.py, `SiteTable`): its party index lets the insider
rule count only the members and suppliers that could break it. The verdicts must be the contract's:
aggregates.md, "Insider rule": for every member and supplier linked to at least one of a population's
sites, the sites it is not linked to number at least k_insider. The reference below counts that
directly, for every party, from the sites' links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.aggregate.disclosure import DisclosureParams, passes_insider
from services.aggregate.model import SiteInfo, SiteTable

SUPPLIERS = [f"sup{i}" for i in range(6)]
MEMBERS = [f"mem{i}" for i in range(8)]


def _contract_insider(population: frozenset[str], sites: dict[str, SiteInfo], k_insider: int) -> bool:
    """Every party that owns or is linked to one of the sites leaves >= k_insider strangers."""
    parties: set[tuple[str, str]] = set()
    for site in population:
        info = sites[site]
        parties |= {("supplier", s) for s in {info.principal_owner, *info.owners}}
        parties |= {("member", m) for m in info.members}
    for kind, party in parties:
        own = [
            s
            for s in population
            if (
                party in {sites[s].principal_owner, *sites[s].owners}
                if kind == "supplier"
                else party in sites[s].members
            )
        ]
        if len(population) - len(own) < k_insider:
            return False
    return len(population) >= k_insider


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, SiteInfo], list[frozenset[str]], int]:
    n = draw(st.integers(min_value=1, max_value=60))
    # A few big parties: one member linked to most sites, one supplier owning many.
    big_member_share = draw(st.floats(min_value=0.0, max_value=1.0))
    sites: dict[str, SiteInfo] = {}
    for i in range(n):
        principal = draw(st.sampled_from(SUPPLIERS))
        owners = draw(st.sets(st.sampled_from(SUPPLIERS), max_size=2))  # the principal may be missing
        members = set(draw(st.sets(st.sampled_from(MEMBERS), max_size=3)))
        if draw(st.floats(min_value=0.0, max_value=1.0)) < big_member_share:
            members.add("brand")
        sites[f"s{i}"] = SiteInfo(f"s{i}", principal, frozenset(owners), frozenset(members))
    ids = sorted(sites)
    populations = draw(
        st.lists(st.sets(st.sampled_from(ids), min_size=1).map(frozenset), min_size=1, max_size=8)
    )
    k_insider = draw(st.integers(min_value=2, max_value=12))
    return sites, [frozenset(ids), *populations], k_insider


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_the_indexed_insider_rule_gives_the_contracts_verdict(
    world: tuple[dict[str, SiteInfo], list[frozenset[str]], int],
) -> None:
    sites, populations, k_insider = world
    table = SiteTable(sites.items())
    params = DisclosureParams(k_insider=k_insider)
    for population in populations:
        expected = _contract_insider(population, sites, k_insider)
        assert passes_insider(population, table, params) is expected
        assert passes_insider(population, sites, params) is expected


def test_only_parties_larger_than_the_bound_are_counted() -> None:
    """The index hands out the parties with more sites than the bound, largest first."""
    sites = {
        f"s{i}": SiteInfo(
            f"s{i}", f"sup{i % 5}", frozenset({f"sup{i % 5}"}), frozenset({"brand"} if i < 7 else set())
        )
        for i in range(10)
    }
    table = SiteTable(sites.items())
    assert table.parties_larger_than(7) == ()
    assert [len(p) for p in table.parties_larger_than(6)] == [7]  # brand; each supplier owns two
    assert [len(p) for p in table.parties_larger_than(1)] == [7, 2, 2, 2, 2, 2]
    population = frozenset(sites)
    # brand is linked to 7 of 10: it leaves 3 strangers, enough for k_insider 3 and too few for 4.
    assert passes_insider(population, table, DisclosureParams(k_insider=3))
    assert not passes_insider(population, table, DisclosureParams(k_insider=4))
    # without brand's sites s0, s1, the bound drops below brand's size but its count there is 5 of 8
    assert not passes_insider(population - {"s0", "s1"}, table, DisclosureParams(k_insider=4))
    assert passes_insider(population - {"s0", "s1"}, table, DisclosureParams(k_insider=3))


def test_the_table_refuses_changes() -> None:
    table = SiteTable([("s0", SiteInfo("s0", "sup0", frozenset({"sup0"}), frozenset()))])
    info = SiteInfo("s1", "sup1", frozenset({"sup1"}), frozenset())
    with pytest.raises(TypeError):
        table["s1"] = info
    with pytest.raises(TypeError):
        table.update({"s1": info})
    with pytest.raises(TypeError):
        del table["s0"]
    with pytest.raises(TypeError):
        table.setdefault("s1", info)
    assert dict(table) == {"s0": table["s0"]}
