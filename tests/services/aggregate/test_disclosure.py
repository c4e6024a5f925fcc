"""Disclosure control: primary rules at their boundaries, residuals, shared patterns, no exact recovery,
parameter floors, the k_delta revision rule, and a random "attacker" that recomputes every residual and
runs its own LP over what a release shows."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
from scipy.optimize import linprog  # type: ignore[import-untyped]

from schemas.exchange.aggregates import TABLES
from services.aggregate.disclosure import (
    Decisions,
    DisclosureParams,
    DisclosureParamsError,
    Released,
    Revision,
    Status,
    changed_sites,
    decide,
    population_change_may_be_shown,
    revision,
)
from services.aggregate.identity import Parties
from services.aggregate.model import ALL, Cell, CellKey, SiteInfo

P = DisclosureParams()
# The value LP of earlier releases, which the contract rules out (it reads outcome values, attack 6) and
# no service setting selects: what its tests check is kept for benchmarks that compare against it.
PV = DisclosureParams(value_recovery=frozenset(TABLES))
PERIOD = "2026-Q1"
SEVERITIES = ("critical", "major", "minor")


def site(
    i: int, principal: str | None = None, owners: Iterable[str] = (), members: Iterable[str] = ()
) -> SiteInfo:
    principal = principal or f"co{i % 3}"  # three distinct principal owners by default
    return SiteInfo(f"s{i}", principal, frozenset({principal, *owners}), frozenset(members))


def registry(infos: Iterable[SiteInfo]) -> dict[str, SiteInfo]:
    return {s.site_id: s for s in infos}


def cell(table: str, ids: Iterable[str], additive: Mapping[str, int] | None = None, **coords: str) -> Cell:
    sites = frozenset(ids)
    additive = dict(additive or {})
    return Cell(
        CellKey.of(table, period=PERIOD, **coords),
        sites,
        {"audited_sites": len(sites)},
        {"sites_with_issue": additive.get("sites_with_issue")},
        additive,
    )


def ids(lo: int, hi: int) -> list[str]:
    return [f"s{i}" for i in range(lo, hi)]


def one(c: Cell, sites: Mapping[str, SiteInfo], params: DisclosureParams = P) -> Status:
    return decide([c], sites, params).status(c.key)


# --- parameters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["k_sites", "k_insider", "outcome_min", "k_delta", "audit_quality_min_sites"]
)
def test_parameters_below_two_are_refused(name: str) -> None:
    def params(value: int) -> DisclosureParams:
        kwargs: dict[str, Any] = {name: value}
        return DisclosureParams(**kwargs)

    with pytest.raises(DisclosureParamsError, match=name):
        params(1)
    with pytest.raises(DisclosureParamsError):
        params(0)
    assert getattr(params(2), name) == 2


def test_defaults_are_the_contract() -> None:
    assert (P.k_sites, P.k_insider, P.outcome_min, P.k_delta, P.audit_quality_min_sites) == (5, 3, 20, 5, 10)


# --- primary rules ----------------------------------------------------------------------------------


def test_threshold_k_minus_one_and_k_sites() -> None:
    sites = registry(site(i) for i in range(5))
    assert one(cell("forced-labour", ids(0, 4), country="BD", sector="A"), sites) is Status.SUPPRESSED
    assert one(cell("forced-labour", ids(0, 5), country="BD", sector="A"), sites) is Status.POPULATION_ONLY


def test_threshold_needs_three_distinct_principal_owners() -> None:
    two = registry(site(i, principal=f"co{i % 2}") for i in range(8))
    three = registry(site(i, principal=f"co{i % 3}") for i in range(8))
    c = cell("forced-labour", ids(0, 8), country="BD", sector="A")
    assert one(c, two) is Status.SUPPRESSED
    assert one(c, three) is Status.POPULATION_ONLY


def test_audit_quality_needs_ten_sites() -> None:
    sites = registry(site(i) for i in range(10))
    nine = cell("audit-quality", ids(0, 9), audit_firm="F1", country="BD")
    ten = cell("audit-quality", ids(0, 10), audit_firm="F1", country="BD")
    assert one(nine, sites) is Status.SUPPRESSED
    assert one(ten, sites) is Status.POPULATION_ONLY


@pytest.mark.parametrize("role", ["member", "owner"])
def test_insider_not_linked_to_k_insider_minus_one_fails(role: str) -> None:
    def build(linked: int) -> dict[str, SiteInfo]:
        # 10 sites; entity X is linked to / co-owns the first `linked` of them
        kw = "members" if role == "member" else "owners"
        return registry(site(i, **{kw: ["X"] if i < linked else []}) for i in range(10))  # type: ignore[arg-type]

    c = cell("forced-labour", ids(0, 10), country="BD", sector="A")
    assert one(c, build(10 - P.k_insider)) is Status.POPULATION_ONLY  # not linked to exactly k_insider
    assert one(c, build(10 - (P.k_insider - 1))) is Status.SUPPRESSED  # all but k_insider - 1


def test_the_reason_a_cell_is_held_back_is_the_first_primary_rule_it_fails() -> None:
    insider = registry(site(i, members=["X"] if i < 8 else []) for i in range(10))
    plain = registry(site(i) for i in range(30))
    for sites, n, reason in (
        (plain, 4, "threshold"),
        (insider, 10, "insider"),
        (plain, 10, "outcome_min"),
        (plain, 25, None),
    ):
        c = cell("forced-labour", ids(0, n), country="BD", sector="A")
        d = decide([c], sites, P)
        assert d.cells[c.key].withheld_by == reason
        assert sum(d.counts.withheld_by.values()) == (reason is not None)


def test_entities_with_no_site_in_the_cell_cannot_fail_insider() -> None:
    sites = registry(site(i, members=["M"] if i >= 5 else []) for i in range(10))
    assert one(cell("forced-labour", ids(0, 5), country="BD", sector="A"), sites) is Status.POPULATION_ONLY


def test_outcome_rule_boundary() -> None:
    sites = registry(site(i) for i in range(20))
    assert one(cell("forced-labour", ids(0, 19), country="BD", sector="A"), sites) is Status.POPULATION_ONLY
    assert one(cell("forced-labour", ids(0, 20), country="BD", sector="A"), sites) is Status.PUBLISHED


def test_unknown_site_is_an_error() -> None:
    with pytest.raises(KeyError, match="s99"):
        decide([cell("forced-labour", ["s99"], country="BD", sector="A")], {}, P)


# --- residuals --------------------------------------------------------------------------------------


def one_dim(
    sizes: Mapping[str, int], values: Mapping[str, int] | None = None
) -> tuple[list[Cell], dict[str, SiteInfo]]:
    """A country hierarchy: children with the given site counts and their margin ALL."""
    cells, infos, start = [], [], 0
    values = values or {}
    total = 0
    for country, n in sizes.items():
        infos += [site(i) for i in range(start, start + n)]
        v = values.get(country, 0)
        total += v
        cells.append(
            cell("remediation", ids(start, start + n), {"sites_with_issue": v}, country=country, issue="W")
        )
        start += n
    cells.append(cell("remediation", ids(0, start), {"sites_with_issue": total}, country=ALL, issue="W"))
    return cells, registry(infos)


def key(country: str, table: str = "remediation", issue: str = "W") -> CellKey:
    return CellKey.of(table, period=PERIOD, country=country, issue=issue)


def test_isolatable_remainder_withholds_the_smallest_shown_child() -> None:
    cells, sites = one_dim({"BD": 30, "VN": 25, "KH": 27, "LA": 3})
    d = decide(cells, sites, P)
    assert d.cells[key("LA")].primary is Status.SUPPRESSED
    assert d.status(key("VN")) is Status.SUPPRESSED  # the smallest shown child
    assert d.cells[key("VN")].reason == "residual"
    assert d.status(key("BD")) is Status.PUBLISHED and d.status(key("KH")) is Status.PUBLISHED
    # LA and VN show no outcomes, so the margin keeps its population only (populations-only recovery)
    assert d.status(key(ALL)) is Status.POPULATION_ONLY and d.cells[key(ALL)].withheld_by == "recovery"
    assert (d.counts.suppressed_primary, d.counts.suppressed_secondary) == (1, 1)
    assert (d.cells[key("LA")].withheld_by, d.cells[key("VN")].withheld_by) == ("threshold", "residual")
    assert d.counts.withheld_by == {
        "threshold": 1,
        "insider": 0,
        "outcome_min": 0,
        "residual": 1,
        "recovery": 1,
        "revision": 0,
        "budget": 0,
    }


def test_outcome_remainder_withholds_the_margins_outcomes() -> None:
    """BD×ALL minus the children showing outcomes would leave LA's 10 sites. The populations-only
    recovery rule withholds the outcomes of a margin above any child without them, which mends the
    remainder too, so no child loses its outcomes for it; the value LP withheld the smallest child's
    instead, and so lost one cell more."""
    cells, sites = one_dim({"BD": 30, "VN": 22, "KH": 25, "LA": 10})
    d = decide(cells, sites, P)
    assert d.cells[key("LA")].primary is Status.POPULATION_ONLY
    assert d.status(key(ALL)) is Status.POPULATION_ONLY and d.cells[key(ALL)].reason == "residual"
    assert all(d.status(key(c)) is Status.PUBLISHED for c in ("BD", "VN", "KH"))
    assert d.counts.outcomes_withheld_secondary == 1 and d.counts.suppressed_secondary == 0
    by_values = decide(cells, sites, PV)
    assert (
        by_values.status(key("VN")) is Status.POPULATION_ONLY
        and by_values.cells[key("VN")].reason == "residual"
    )
    assert by_values.status(key("KH")) is Status.PUBLISHED


def test_residual_ties_are_broken_by_cell_key() -> None:
    cells, sites = one_dim({"VN": 25, "BD": 25, "KH": 30, "LA": 3})
    d = decide(cells, sites, P)
    assert d.status(key("BD")) is Status.SUPPRESSED and d.status(key("VN")) is Status.PUBLISHED


# --- two-dimensional tables ------------------------------------------------------------------------

Placement = dict[str, tuple[str, str]]  # site id -> (country, sector)


def grid(
    table: str,
    placement: Placement,
    values: Mapping[str, Mapping[str, int]],  # site id -> additive measure -> 0/1
    **fixed: str,
) -> list[Cell]:
    countries = sorted({c for c, _ in placement.values()})
    sectors = sorted({s for _, s in placement.values()})
    out = []
    for c in [*countries, ALL]:
        for s in [*sectors, ALL]:
            members = [i for i, (ci, si) in placement.items() if c in (ci, ALL) and s in (si, ALL)]
            if not members:
                continue
            measures = sorted({m for i in placement for m in values.get(i, {})})
            add = {m: sum(values.get(i, {}).get(m, 0) for i in members) for m in measures}
            key_ = CellKey.of(table, period=PERIOD, country=c, sector=s, **fixed)
            sites_ = frozenset(members)
            # each site's token names the measures it adds one to, so the value LP models insiders
            tokens = {i: ",".join(m for m in measures if values.get(i, {}).get(m)) for i in members}
            out.append(
                Cell(key_, sites_, {"audited_sites": len(sites_)}, dict(add), add, tokens, unit_counts=ones)
            )
    return out


def ones(token: str) -> tuple[int, dict[str, int]]:
    """A `grid` site's part of a cell: one site, one of each measure its token names."""
    return 1, dict.fromkeys(filter(None, token.split(",")), 1)


def random_world(seed: int, n: int = 120) -> tuple[Placement, dict[str, SiteInfo]]:
    rng = random.Random(seed)
    countries, sectors = ["BD", "KH", "VN"], ["A", "B", "C"]
    weights_c = [rng.random() + 0.05 for _ in countries]
    weights_s = [rng.random() + 0.05 for _ in sectors]
    placement: Placement = {}
    infos = []
    for i in range(n):
        placement[f"s{i}"] = (rng.choices(countries, weights_c)[0], rng.choices(sectors, weights_s)[0])
        owner = f"co{rng.randrange(6)}"
        extra = [f"co{rng.randrange(6)}"] if rng.random() < 0.2 else []
        members = [f"m{j}" for j in range(4) if rng.random() < 0.3]
        infos.append(site(i, principal=owner, owners=extra, members=members))
    return placement, registry(infos)


def prevalence(seed: int, placement: Placement, share: float) -> dict[str, dict[str, int]]:
    """Each site has the issue with probability `share`, at one random severity (near 0 or 1,
    remainders are zero or whole, and the value LP fires)."""
    rng = random.Random(seed)
    out: dict[str, dict[str, int]] = {}
    for i in placement:
        has = rng.random() < share
        sev = rng.choice(SEVERITIES)
        out[i] = {
            "sites_with_issue": int(has),
            **{f"by_severity.{s}": int(has and s == sev) for s in SEVERITIES},
        }
    return out


def random_values(seed: int, placement: Placement) -> dict[str, dict[str, int]]:
    return prevalence(seed, placement, 0.4)


def pattern(d: Decisions, table: str, **fixed: str) -> dict[tuple[str, str], Status]:
    return {
        (k.get("country"), k.get("sector")): v.status
        for k, v in d.cells.items()
        if k.table == table and all(k.get(f) == x for f, x in fixed.items())
    }


def test_pattern_is_identical_across_issues_and_tables_sharing_populations() -> None:
    placement, sites = random_world(7)
    cells = (
        grid("issue-prevalence", placement, random_values(1, placement), issue="WAGES")
        + grid("issue-prevalence", placement, random_values(2, placement), issue="HEALTH_SAFETY")
        + grid("forced-labour", placement, random_values(3, placement))
    )
    d = decide(cells, sites, P)
    wages = pattern(d, "issue-prevalence", issue="WAGES")
    assert wages == pattern(d, "issue-prevalence", issue="HEALTH_SAFETY") == pattern(d, "forced-labour")
    assert set(wages.values()) == set(Status)  # a pattern with every level, so the test means something
    assert d.counts.suppressed_secondary + d.counts.outcomes_withheld_secondary > 0


def test_pattern_depends_on_populations_only_unless_recovery_fires() -> None:
    """A pattern the value LP never touched (no fix asked, no cell refused back) is the one of a world
    with the same populations and no findings at all."""
    fired = quiet = 0
    for seed in range(12):
        placement, sites = random_world(seed)
        zero = decide(grid("forced-labour", placement, {}), sites, P)  # no outcome can be recovered
        base = pattern(zero, "forced-labour")
        assert not any(c.by_values for c in zero.cells.values())
        for vseed in range(3):
            d = decide(grid("forced-labour", placement, random_values(vseed, placement)), sites, P)
            got = pattern(d, "forced-labour")
            if any(c.by_values for c in d.cells.values()):
                fired += 1
                order = list(Status)  # PUBLISHED < POPULATION_ONLY < SUPPRESSED
                assert all(order.index(got[p]) >= order.index(base[p]) for p in base)
            else:
                quiet += 1
                assert got == base
    assert quiet > 0


# --- no exact recovery ------------------------------------------------------------------------------


def test_recoverable_count_makes_the_engine_withhold_more() -> None:
    """The value LP (`PV`): withholds where values pin a count, so its pattern reads values (attack 6,
    and why the service decides from populations alone)."""
    # A 25 sites, shown; B and C 12 sites each, population only. The margin minus A is 24 = 12 + 12:
    # every site of B and of C has the issue, and the release would say so.
    sizes = {"A": 25, "B": 12, "C": 12}
    pinned, _ = one_dim(sizes, {"A": 3, "B": 12, "C": 12})
    loose, sites = one_dim(sizes, {"A": 3, "B": 5, "C": 5})
    assert independent_recoverable(decide(loose, sites, PV), loose) == []
    d_loose = decide(loose, sites, PV)
    assert d_loose.status(key("A")) is Status.PUBLISHED  # nothing to protect: A is shown

    d = decide(pinned, sites, PV)
    assert d.status(key("A")) is Status.POPULATION_ONLY and d.cells[key("A")].reason == "recovery"
    assert d.cells[key("A")].withheld_by == "recovery" and d.counts.withheld_by["recovery"] == 1
    assert d.status(key(ALL)) is Status.PUBLISHED
    assert independent_recoverable(d, pinned) == []
    # what the release would have shown without the extra withholding is recoverable
    assert independent_recoverable(d_loose, pinned) != []


# --- revisions --------------------------------------------------------------------------------------


def test_k_delta_revision_rule() -> None:
    sites = registry(site(i) for i in range(40))
    old = cell("forced-labour", ids(0, 25), {"sites_with_issue": 5}, country="BD", sector="A")
    prev = Released.of(old, Status.PUBLISHED)
    grown4 = Released.of(
        cell("forced-labour", ids(0, 29), {"sites_with_issue": 6}, country="BD", sector="A"), Status.PUBLISHED
    )
    grown5 = Released.of(
        cell("forced-labour", ids(0, 30), {"sites_with_issue": 6}, country="BD", sector="A"), Status.PUBLISHED
    )
    assert revision(None, prev, P) is Revision.SEND
    assert revision(prev, prev, P) is Revision.UNCHANGED
    assert revision(prev, grown4, P) is Revision.HOLD
    assert revision(prev, grown5, P) is Revision.SEND
    # 4 added + 1 whose contribution to the cell changed
    s0_changed = Released(
        {**(grown4.contributions or {}), "s0": "DEBT_BONDAGE"},
        grown4.status,
        grown4.population,
        grown4.outcomes,
    )
    assert revision(prev, s0_changed, P) is Revision.SEND
    removed = Released.of(
        cell("forced-labour", ids(2, 25), {"sites_with_issue": 5}, country="BD", sector="A"), Status.PUBLISHED
    )
    two_changed = Released(
        {**(removed.contributions or {}), "s10": "X", "s11": "X"},
        removed.status,
        removed.population,
        removed.outcomes,
    )
    assert revision(prev, two_changed, P) is Revision.HOLD  # 2 removed + 2 changed
    assert prev.contributions is not None and two_changed.contributions is not None
    assert len(changed_sites(prev.contributions, two_changed.contributions)) == 4
    # A record written before revision 2 (contributions not kept by real site) cannot support a count:
    # the cell is held, except for a tightening.
    legacy = Released(None, prev.status, prev.population, prev.outcomes)
    assert revision(legacy, grown5, P) is Revision.HOLD
    assert revision(legacy, Released.of(old, Status.SUPPRESSED), P) is Revision.SEND
    # a status change is a change too: held below k_delta, sent at k_delta
    at20 = cell("forced-labour", ids(0, 20), {"sites_with_issue": 5}, country="BD", sector="A")
    prev20 = Released.of(at20, Status.PUBLISHED)
    to19 = Released.of(
        cell("forced-labour", ids(0, 19), {"sites_with_issue": 5}, country="BD", sector="A"),
        Status.POPULATION_ONLY,
    )
    to15 = Released.of(
        cell("forced-labour", ids(0, 15), {"sites_with_issue": 5}, country="BD", sector="A"),
        Status.POPULATION_ONLY,
    )
    # revision 2: a change that only withholds more may be sent at any release
    assert revision(prev20, to19, P) is Revision.SEND
    assert revision(prev20, to15, P) is Revision.SEND
    back = Released.of(
        cell("forced-labour", ids(0, 21), {"sites_with_issue": 5}, country="BD", sector="A"), Status.PUBLISHED
    )
    assert revision(Released.of(at20, Status.POPULATION_ONLY), back, P) is Revision.HOLD  # shows more: 1 site
    grown2 = cell("forced-labour", ids(0, 27), {"sites_with_issue": 5}, country="BD", sector="A")
    d = decide([grown2], sites, P, previous={old.key: prev})
    assert d.cells[old.key].revision is Revision.HOLD and d.counts.held_by_revision == 1
    contributions = {**grown2.contributions, **dict.fromkeys(ids(0, 3), "FORCED_OVERTIME")}
    grown2_changed = Cell(
        grown2.key, grown2.sites, grown2.population, grown2.outcomes, grown2.additive, contributions
    )
    d = decide([grown2_changed], sites, P, previous={old.key: prev})
    assert d.cells[old.key].revision is Revision.SEND
    d = decide([old], sites, P, previous={old.key: prev})
    assert d.cells[old.key].revision is Revision.UNCHANGED


def test_outcomes_shown_again_are_judged_against_the_last_outcomes_shown() -> None:
    """The last release withheld the cell (4 sites left); the subscriber still holds outcomes of 25.
    Now 25 sites are back, one of them changed: 21 changed sites against the last release, one against
    what the subscriber holds. Outcomes may come back only if both changes pass."""
    sites = registry(site(i) for i in range(40))
    first = cell("forced-labour", ids(0, 25), {"sites_with_issue": 5}, country="BD", sector="A")
    shown = Released.of(first, Status.PUBLISHED).contributions
    assert shown is not None
    four = Released.of(
        cell("forced-labour", ids(0, 4), {"sites_with_issue": 1}, country="BD", sector="A"), Status.SUPPRESSED
    )
    withheld = replace(four, shown_contributions=shown)
    back = Released.of(first, Status.PUBLISHED)
    one_changed = replace(back, contributions={**shown, "s7": "DEBT_BONDAGE"})
    assert len(changed_sites(withheld.contributions or {}, one_changed.contributions or {})) == 21
    assert revision(withheld, one_changed, P) is Revision.HOLD
    # nothing changed against what the subscriber holds: the same outcomes may be shown again
    assert revision(withheld, back, P) is Revision.SEND
    # five changed, of five suppliers: the change passes both counts
    five_changed = replace(back, contributions={**shown, **dict.fromkeys(ids(5, 10), "DEBT_BONDAGE")})
    assert revision(withheld, five_changed, P, Parties.of_sites(sites.values())) is Revision.SEND
    # population only: the outcomes the subscriber holds stay the last it saw, so only the last
    # release counts
    assert revision(withheld, replace(one_changed, status=Status.POPULATION_ONLY, outcomes=None), P) is (
        Revision.SEND
    )


def test_a_population_shown_again_is_judged_against_the_last_population_shown() -> None:
    """Population only at 15 sites, then suppressed (4 left), now 16 are back: 13 changed against the
    last release, one site's arrival against the population the subscriber holds."""
    sites = registry(site(i) for i in range(40))
    parties = Parties.of_sites(sites.values())
    first = cell("forced-labour", ids(0, 15), {"sites_with_issue": 5}, country="BD", sector="A")
    behind = Released.of(first, Status.POPULATION_ONLY).contributions
    four = Released.of(
        cell("forced-labour", ids(0, 4), {"sites_with_issue": 1}, country="BD", sector="A"), Status.SUPPRESSED
    )
    sixteen = cell("forced-labour", ids(0, 16), {"sites_with_issue": 5}, country="BD", sector="A")
    back = Released.of(sixteen, Status.POPULATION_ONLY)
    # without the population the subscriber holds, only the last release counts: 12 changed
    assert revision(four, back, P, parties) is Revision.SEND
    withheld = replace(four, population_contributions=behind)
    assert not population_change_may_be_shown(withheld, back, P, parties)
    assert revision(withheld, back, P, parties) is Revision.HOLD
    # the same population again is no change; five arrivals of five suppliers pass
    assert revision(withheld, Released.of(first, Status.POPULATION_ONLY), P, parties) is Revision.SEND
    twenty = Released.of(
        cell("forced-labour", ids(0, 20), {"sites_with_issue": 5}, country="BD", sector="A"),
        Status.POPULATION_ONLY,
    )
    assert revision(withheld, twenty, P, parties) is Revision.SEND


def test_a_tightening_that_would_show_a_new_population_suppresses_the_cell() -> None:
    """Published at 20 sites; one leaves and the outcomes must go. Population only would show 19 (one
    site's departure), so the release suppresses the cell instead; with six gone (of six suppliers),
    the change passes and population only is sent."""
    sites = registry(site(i) for i in range(40))
    parties = Parties.of_sites(sites.values())
    at20 = cell("forced-labour", ids(0, 20), {"sites_with_issue": 5}, country="BD", sector="A")
    previous = {at20.key: Released.of(at20, Status.PUBLISHED)}
    at19 = cell("forced-labour", ids(0, 19), {"sites_with_issue": 5}, country="BD", sector="A")
    assert not population_change_may_be_shown(
        previous[at20.key], Released.of(at19, Status.POPULATION_ONLY), P, parties
    )
    d = decide([at19], sites, P, previous=previous)
    assert d.status(at19.key) is Status.SUPPRESSED and d.cells[at19.key].revision is Revision.SEND
    assert d.cells[at19.key].withheld_by == "outcome_min"  # the primary rule it fails comes first
    at14 = cell("forced-labour", ids(0, 14), {"sites_with_issue": 5}, country="BD", sector="A")
    d = decide([at14], sites, P, previous=previous)
    assert d.status(at14.key) is Status.POPULATION_ONLY and d.cells[at14.key].revision is Revision.SEND


# --- the attacker -----------------------------------------------------------------------------------


def passes(ids_: frozenset[str], sites: Mapping[str, SiteInfo], params: DisclosureParams) -> bool:
    """Threshold and insider, written again here from the contract."""
    if len(ids_) < params.k_sites or len({sites[i].principal_owner for i in ids_}) < 3:
        return False
    entities = {e for i in ids_ for e in sites[i].members | sites[i].owners}
    for e in entities:
        strangers = [i for i in ids_ if e not in sites[i].members and e not in sites[i].owners]
        if len(strangers) < params.k_insider:
            return False
    return True


def families(cells: list[Cell]) -> dict[tuple[str, ...], dict[tuple[tuple[str, str], ...], Cell]]:
    out: dict[tuple[str, ...], dict[tuple[tuple[str, str], ...], Cell]] = {}
    for c in cells:
        fixed = tuple(f"{d}={v}" for d, v in c.key.coords if d not in ("country", "sector"))
        pos = tuple((d, v) for d, v in c.key.coords if d in ("country", "sector"))
        out.setdefault((c.key.table, *fixed), {})[pos] = c
    return out


def relations(fam: Mapping[tuple[tuple[str, str], ...], Cell]) -> list[tuple[Cell, list[Cell]]]:
    out = []
    for pos, margin in fam.items():
        for i, (_d, v) in enumerate(pos):
            if v != ALL:
                continue
            kids = [
                c
                for p, c in fam.items()
                if p[i][1] != ALL and all(p[j] == pos[j] for j in range(len(pos)) if j != i)
            ]
            if kids:
                out.append((margin, kids))
    return out


def site_bounds(
    st: dict[CellKey, Status], rels: list[tuple[Cell, list[Cell]]], unknown: list[Cell]
) -> dict[CellKey, float | None]:
    """The upper bound the release implies on each withheld cell's counts: its site count when its
    population is shown; when suppressed, what a shown margin leaves over its unsuppressed children."""
    ub: dict[CellKey, float | None] = {
        c.key: (None if st[c.key] is Status.SUPPRESSED else float(len(c.sites))) for c in unknown
    }
    for margin, kids in rels:
        if st[margin.key] is Status.SUPPRESSED:
            continue
        left = len(margin.sites) - sum(len(k.sites) for k in kids if st[k.key] is not Status.SUPPRESSED)
        for k in kids:
            if st[k.key] is Status.SUPPRESSED:
                b = ub[k.key]
                ub[k.key] = float(left) if b is None else min(b, float(left))
    return ub


def relation_rows(
    rels: list[tuple[Cell, list[Cell]]], col: Mapping[CellKey, int], measure: str
) -> tuple[list[list[float]], list[float]]:
    """margin − children = 0 per relation, over the unknown cells (`col`: key -> column); known cells'
    counts move to the right-hand side. Relations with no unknown are left out."""
    a_eq, b_eq = [], []
    for margin, kids in rels:
        row = [0.0] * len(col)
        rhs = 0.0
        for c, coef in [(margin, 1.0), *((k, -1.0) for k in kids)]:
            if c.key in col:
                row[col[c.key]] += coef
            else:
                rhs -= coef * c.additive[measure]
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    return a_eq, b_eq


def independent_recoverable(d: Decisions, cells: list[Cell]) -> list[tuple[CellKey, str]]:
    """One LP per family and measure over every withheld cell, with the bounds the release implies."""
    found = []
    for fam in families(cells).values():
        rels = relations(fam)
        st = {c.key: d.status(c.key) for c in fam.values()}
        unknown = [c for c in fam.values() if st[c.key] is not Status.PUBLISHED]
        if not unknown:
            continue
        col = {c.key: j for j, c in enumerate(unknown)}
        ub = site_bounds(st, rels, unknown)
        for measure in sorted({m for c in fam.values() for m in c.additive}):
            a_eq, b_eq = relation_rows(rels, col, measure)
            if not a_eq:
                continue
            bounds = [(0.0, ub[c.key]) for c in unknown]
            for c in unknown:
                if c.additive[measure] == 0:
                    continue
                lo, hi = count_range(col[c.key], a_eq, b_eq, bounds)
                if hi - lo <= 1e-6:
                    found.append((c.key, measure))
    return found


def count_range(
    column: int, a_eq: list[list[float]], b_eq: list[float], bounds: Sequence[tuple[float, float | None]]
) -> tuple[float, float]:
    """The least and the greatest value one unknown may take under the relations and bounds."""
    obj = [0.0] * len(bounds)
    obj[column] = 1.0
    lo = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    obj[column] = -1.0
    hi = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    assert lo.success and hi.success
    return float(lo.fun), float(-hi.fun)


def joint_recoverable(d: Decisions, cells: list[Cell]) -> list[tuple[CellKey, str]]:
    """One LP per family over every measure of every withheld cell together: the hierarchy relations
    per measure, and within each cell by_severity.* summing to sites_with_issue, and
    by_indicator.X <= sites_with_indicator <= sum of by_indicator."""
    found = []
    for fam in families(cells).values():
        st = {c.key: d.status(c.key) for c in fam.values()}
        unknown = [c for c in fam.values() if st[c.key] is not Status.PUBLISHED]
        if not unknown:
            continue
        names = sorted({m for c in fam.values() for m in c.additive})
        col = {(c.key, m): j for j, (c, m) in enumerate((c, m) for c in unknown for m in names)}
        rels = relations(fam)
        ub = site_bounds(st, rels, unknown)
        a_eq: list[list[float]] = []
        b_eq: list[float] = []
        a_ub: list[list[float]] = []
        for margin, kids in rels:
            for m in names:
                row = [0.0] * len(col)
                rhs = 0.0
                for c, coef in [(margin, 1.0), *((k, -1.0) for k in kids)]:
                    if (c.key, m) in col:
                        row[col[c.key, m]] += coef
                    else:
                        rhs -= coef * c.additive.get(m, 0)
                if any(row):
                    a_eq.append(row)
                    b_eq.append(rhs)
        sev = [m for m in names if m.startswith("by_severity.")]
        ind = [m for m in names if m.startswith("by_indicator.")]
        for c in unknown:
            if sev and "sites_with_issue" in names:
                row = [0.0] * len(col)
                row[col[c.key, "sites_with_issue"]] = -1.0
                for m in sev:
                    row[col[c.key, m]] = 1.0
                a_eq.append(row)
                b_eq.append(0.0)
            if ind and "sites_with_indicator" in names:
                total = [0.0] * len(col)
                total[col[c.key, "sites_with_indicator"]] = 1.0
                for m in ind:
                    row = [0.0] * len(col)
                    row[col[c.key, m]] = 1.0
                    row[col[c.key, "sites_with_indicator"]] = -1.0
                    a_ub.append(row)
                    total[col[c.key, m]] = -1.0
                a_ub.append(total)
        if not a_eq and not a_ub:
            continue
        bounds = [(0.0, ub[c.key]) for c in unknown for _ in names]
        lp = {
            "A_eq": a_eq or None,
            "b_eq": b_eq or None,
            "A_ub": a_ub or None,
            "b_ub": [0.0] * len(a_ub) or None,
            "bounds": bounds,
            "method": "highs",
        }
        for c in unknown:
            for m in names:
                if c.additive.get(m, 0) == 0:
                    continue
                obj = [0.0] * len(col)
                obj[col[c.key, m]] = 1.0
                lo = linprog(obj, **lp)
                obj[col[c.key, m]] = -1.0
                hi = linprog(obj, **lp)
                assert lo.success and hi.success
                if -hi.fun - lo.fun <= 1e-6:
                    found.append((c.key, m))
    return found


def combined_residuals(
    d: Decisions, cells: list[Cell], sites: Mapping[str, SiteInfo], params: DisclosureParams
) -> list[CellKey]:
    """Shown ALL×ALL margins whose sites not covered by any shown cell below them (country×ALL,
    ALL×sector and country×sector together) are an isolatable population, or whose sites not covered by
    any outcome-showing cell below them are too few to show outcomes of."""
    bad = []
    for fam in families(cells).values():
        for pos, margin in fam.items():
            if sum(v == ALL for _, v in pos) < 2 or d.status(margin.key) is Status.SUPPRESSED:
                continue
            below = [
                c
                for p, c in fam.items()
                if p != pos and all(mv == ALL or pv == mv for (_, mv), (_, pv) in zip(pos, p, strict=True))
            ]
            shown = set().union(*(c.sites for c in below if d.status(c.key) is not Status.SUPPRESSED))
            rest = frozenset(margin.sites - shown)
            if rest and not passes(rest, sites, params):
                bad.append(margin.key)
            if d.status(margin.key) is Status.PUBLISHED:
                with_outcomes = set().union(*(c.sites for c in below if d.status(c.key) is Status.PUBLISHED))
                rest = frozenset(margin.sites - with_outcomes)
                if rest and len(rest) < params.outcome_min:
                    bad.append(margin.key)
    return bad


@pytest.mark.parametrize("seed", range(15))
def test_attacker_finds_no_isolatable_remainder_and_recovers_nothing(seed: int) -> None:
    params = DisclosureParams(outcome_min=12) if seed % 2 else P
    placement, sites = random_world(seed, n=60 + 10 * seed)
    cells = grid("issue-prevalence", placement, random_values(seed, placement), issue="WAGES") + grid(
        "issue-prevalence", placement, random_values(seed + 100, placement), issue="HOURS"
    )
    d = decide(cells, sites, params)
    for fam in families(cells).values():
        for margin, kids in relations(fam):
            if d.status(margin.key) is Status.SUPPRESSED:
                continue
            shown = set().union(*(k.sites for k in kids if d.status(k.key) is not Status.SUPPRESSED))
            rest = frozenset(margin.sites - shown)
            assert not rest or passes(rest, sites, params), (margin.key, sorted(rest))
            if d.status(margin.key) is Status.PUBLISHED:
                with_outcomes = set().union(*(k.sites for k in kids if d.status(k.key) is Status.PUBLISHED))
                rest = frozenset(margin.sites - with_outcomes)
                assert not rest or len(rest) >= params.outcome_min, (margin.key, len(rest))
    for c in cells:
        if d.status(c.key) is not Status.SUPPRESSED:
            assert passes(c.sites, sites, params)
        if d.status(c.key) is Status.PUBLISHED:
            assert len(c.sites) >= params.outcome_min
    assert combined_residuals(d, cells, sites, params) == []
    assert independent_recoverable(d, cells) == []
    assert joint_recoverable(d, cells) == []


def wide_world(seed: int, n: int = 600) -> tuple[Placement, dict[str, SiteInfo]]:
    """A world shaped like the feed: 8 countries x 6 sectors of skewed sizes (many cells under
    outcome_min), 40 suppliers, members linked to one site in ten."""
    rng = random.Random(seed)
    countries, sectors = [f"C{i}" for i in range(8)], [f"S{i}" for i in range(6)]
    weights_c = [rng.random() ** 2 + 0.02 for _ in countries]
    weights_s = [rng.random() ** 2 + 0.02 for _ in sectors]
    placement: Placement = {}
    infos = []
    for i in range(n):
        placement[f"s{i}"] = (rng.choices(countries, weights_c)[0], rng.choices(sectors, weights_s)[0])
        principal = f"co{rng.randrange(40)}"
        members = [f"m{j}" for j in range(8) if rng.random() < 0.1]
        infos.append(site(i, principal=principal, members=members))
    return placement, registry(infos)


def test_the_cheapest_fix_loses_fewer_outcomes_than_smallest_first() -> None:
    """`_mend` takes the fix that withholds the fewest cells once the residuals have followed it. In
    wide worlds with six issues from rare to common (rare critical counts make the value LP ask for
    fixes, as in the feed), it shows outcomes in more cells than the smallest-first greedy, and what
    it shows passes the independent residual and recovery attackers of this module. Under the value
    LP (`PV`), where the fixes are many."""
    shown = {True: 0, False: 0}
    better = 0
    for seed in range(6):
        placement, sites = wide_world(seed)
        cells = [
            c
            for j, share in enumerate((0.02, 0.03, 0.05, 0.1, 0.3, 0.6))
            for c in grid(
                "issue-prevalence", placement, prevalence(10 * seed + j, placement, share), issue=f"I{j}"
            )
        ]
        counts = {}
        d_minimal = decide(cells, sites, PV)
        for minimal in (True, False):
            d = d_minimal if minimal else decide(cells, sites, replace(PV, minimal=False))
            counts[minimal] = d.counts.published_with_outcomes
            shown[minimal] += counts[minimal]
        assert counts[True] >= counts[False]
        if counts[True] > counts[False]:
            better += 1
            assert combined_residuals(d_minimal, cells, sites, PV) == []
            assert independent_recoverable(d_minimal, cells) == []
    assert better >= 2
    assert shown[True] > shown[False]


def test_attacker_would_recover_from_primary_rules_alone() -> None:
    """The attacker's LP is not vacuous: applied to the primary pattern alone it finds something."""
    hits = 0
    for seed in range(15):
        placement, sites = random_world(seed, n=60 + 10 * seed)
        cells = grid("issue-prevalence", placement, random_values(seed, placement), issue="WAGES")
        d = decide(cells, sites, P)
        primary_only = Decisions({k: replace(v, status=v.primary) for k, v in d.cells.items()}, d.counts)
        hits += bool(independent_recoverable(primary_only, cells))
    assert hits > 0


# --- all relations together ------------------------------------------------------------------------


def severity_grid(
    spec: Mapping[tuple[str, str], Mapping[str, int]],
) -> tuple[list[Cell], dict[str, SiteInfo]]:
    """An issue-prevalence country×sector grid from {(country, sector): {severity or "none": sites}}."""
    placement: Placement = {}
    values: dict[str, dict[str, int]] = {}
    n = 0
    for pos, counts in spec.items():
        for sev, k in counts.items():
            for _ in range(k):
                placement[f"s{n}"] = pos
                values[f"s{n}"] = {
                    "sites_with_issue": int(sev != "none"),
                    **{f"by_severity.{s}": int(s == sev) for s in SEVERITIES},
                }
                n += 1
    return grid("issue-prevalence", placement, values, issue="WAGES"), registry(site(i) for i in range(n))


def test_recovery_uses_the_severity_sum_within_a_cell() -> None:
    # Four 10-site cells, population only; every margin published. Per measure each severity (and
    # sites_with_issue) has one free degree in the 2x2 table, so nothing is pinned. Together: BD×B has the
    # issue at all its sites, which puts BD×A's sites_with_issue at its smallest value, 3, while each
    # severity of BD×A is at its largest (critical 1: BD×B has none; major 1 and minor 1: VN×A has
    # none) and the severities sum to sites_with_issue, so BD×A's counts are all pinned.
    cells, sites = severity_grid(
        {
            ("BD", "A"): {"critical": 1, "major": 1, "minor": 1, "none": 7},
            ("BD", "B"): {"major": 5, "minor": 5},
            ("VN", "A"): {"critical": 2, "none": 8},
            ("VN", "B"): {"critical": 1, "major": 1, "minor": 1, "none": 7},
        }
    )
    d = decide(cells, sites, P)
    primary = Decisions({k: replace(v, status=v.primary) for k, v in d.cells.items()}, d.counts)
    assert all(
        v.primary is Status.PUBLISHED
        for k, v in d.cells.items()
        if ALL in (k.get("country"), k.get("sector"))
    )
    assert independent_recoverable(primary, cells) == []  # per measure alone: nothing
    bd_a = CellKey.of("issue-prevalence", period=PERIOD, country="BD", sector="A", issue="WAGES")
    assert (bd_a, "sites_with_issue") in joint_recoverable(primary, cells)  # all relations: pinned
    # the engine withholds more, until not even the joint LP recovers anything
    assert any(c.reason == "recovery" for c in d.cells.values())
    assert d.counts.outcomes_withheld_secondary > 0
    assert joint_recoverable(d, cells) == [] and independent_recoverable(d, cells) == []


def test_recovery_uses_the_indicator_bounds_within_a_cell() -> None:
    # forced-labour, the same shape with indicators: a site with an indicator has at least one, so
    # BD×A's sites_with_indicator (at least 3, as BD×B has an indicator at all its sites) is at most the
    # sum of its by_indicator counts (each at most 1 per measure), and all of them are pinned.
    indicators = ("DEBT", "WAGES", "ID")

    def rows(*groups: tuple[tuple[str, ...], int]) -> list[dict[str, int]]:
        return [
            {
                "sites_with_indicator": int(bool(has)),
                **{f"by_indicator.{i}": int(i in has) for i in indicators},
            }
            for has, n in groups
            for _ in range(n)
        ]

    spec = {
        ("BD", "A"): rows((("DEBT",), 1), (("WAGES",), 1), (("ID",), 1), ((), 7)),
        ("BD", "B"): rows((("WAGES",), 5), (("ID",), 5)),
        ("VN", "A"): rows((("DEBT",), 2), ((), 8)),
        ("VN", "B"): rows((("DEBT", "WAGES"), 1), (("ID",), 1), ((), 8)),
    }
    placement: Placement = {}
    values: dict[str, dict[str, int]] = {}
    for pos, site_rows in spec.items():
        for row in site_rows:
            placement[f"s{len(placement)}"] = pos
            values[f"s{len(values)}"] = row
    cells, sites = grid("forced-labour", placement, values), registry(site(i) for i in range(len(placement)))
    d = decide(cells, sites, P)
    primary = Decisions({k: replace(v, status=v.primary) for k, v in d.cells.items()}, d.counts)
    assert independent_recoverable(primary, cells) == []
    bd_a = CellKey.of("forced-labour", period=PERIOD, country="BD", sector="A")
    assert (bd_a, "sites_with_indicator") in joint_recoverable(primary, cells)
    assert any(c.reason == "recovery" for c in d.cells.values())
    assert joint_recoverable(d, cells) == [] and independent_recoverable(d, cells) == []


def test_residual_across_both_hierarchies() -> None:
    # BD×A is large and shown; KH and LA, and sectors B and C, are small and suppressed as margins and
    # cells. ALL×ALL minus the shown country margins leaves KH ∪ LA (8 sites), minus the shown sector
    # margins leaves B ∪ C (7 sites): both pass. But minus both leaves KH×B ∪ LA×C: 2 sites.
    sizes = {
        ("BD", "A"): 30,
        ("BD", "B"): 2,
        ("BD", "C"): 3,
        ("KH", "A"): 3,
        ("KH", "B"): 1,
        ("LA", "A"): 3,
        ("LA", "C"): 1,
    }
    placement: Placement = {}
    for pos, n in sizes.items():
        for _ in range(n):
            placement[f"s{len(placement)}"] = pos
    sites = registry(site(i) for i in range(len(placement)))
    cells = grid("forced-labour", placement, {})
    params = DisclosureParams(outcome_min=100)  # population rules only
    d = decide(cells, sites, params)
    primary = Decisions({k: replace(v, status=v.primary) for k, v in d.cells.items()}, d.counts)

    def k(country: str, sector: str) -> CellKey:
        return CellKey.of("forced-labour", period=PERIOD, country=country, sector=sector)

    shown = {k(c, s) for (c, s) in [("BD", "A"), ("BD", ALL), (ALL, "A"), (ALL, ALL)]}
    assert {key_ for key_, v in d.cells.items() if v.primary is not Status.SUPPRESSED} == shown
    for fam in families(cells).values():  # every single-hierarchy residual passes under the primary rules
        for margin, kids in relations(fam):
            if primary.status(margin.key) is Status.SUPPRESSED:
                continue
            rest = margin.sites - set().union(
                *(c.sites for c in kids if primary.status(c.key) is not Status.SUPPRESSED)
            )
            assert not rest or passes(frozenset(rest), sites, params), margin.key
    assert combined_residuals(primary, cells, sites, params) == [k(ALL, ALL)]
    # The residuals on current populations run before any view fix, in both modes: the engine withholds
    # the smallest shown cell below ALL×ALL first (BD×A, 30), then BD×ALL (35).
    greedy = decide(cells, sites, replace(params, minimal=False))
    for decisions in (d, greedy):
        assert combined_residuals(decisions, cells, sites, params) == []
        for cell in (k("BD", "A"), k("BD", ALL)):
            assert decisions.status(cell) is Status.SUPPRESSED and decisions.cells[cell].reason == "residual"
        assert decisions.status(k(ALL, "A")) is Status.POPULATION_ONLY
        assert decisions.status(k(ALL, ALL)) is Status.POPULATION_ONLY


# --- real sites (revision 2) --------------------------------------------------------------------------


def test_real_sites_are_counted_once_through_id_changes_merges_splits_and_platform_changes() -> None:
    before = {"ps1": "MAJOR", "ps2": "", "ps3+ps4": "MINOR", "ps5": "", "ps6": ""}
    # ps1 keeps its key (its resolved id changed: nothing here sees that); ps2 and ps5 merge;
    # ps3+ps4 loses its amfori site with the same token; ps6 changes its finding.
    now = {"ps1": "MAJOR", "ps2+ps5": "", "ps3": "MINOR", "ps6": "CRITICAL"}
    changed = changed_sites(before, now)
    assert sorted(sorted(c) for c in changed) == [["ps2", "ps5"], ["ps6"]]
