"""The `issue-prevalence` and `forced-labour` cells: distinct sites, highest severity, margins, rounding."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from schemas.exchange.aggregates import (
    FORCED_LABOUR,
    ISSUE_PREVALENCE,
    LABOUR_FLAGS,
    LABOUR_RELATIONS,
    ForcedLabourMeasures,
    IssuePrevalenceMeasures,
    LabourRelationsMeasures,
    share_pct,
)
from schemas.taxonomy import ForcedLabourIndicator as FL
from schemas.taxonomy import Issue, Sector, Severity
from services.aggregate.model import ALL, Cell, CellKey
from services.aggregate.population import Granularity, NormalizedState
from services.aggregate.tables import forced_labour, issue_prevalence, labour_relations
from tests.services.aggregate.hand_built import World, voice
from tests.services.aggregate.test_population import Feed, nc, observation
from tests.services.normalize.test_engine import accepted_feed, run

APPAREL, FOOD = Sector.APPAREL_TEXTILES, Sector.FOOD_AGRICULTURE


def cells_by_key(cells: list[Cell]) -> dict[CellKey, Cell]:
    return {c.key: c for c in cells}


def ip(
    cells: list[Cell], issue: Issue, *, period: str = "2026-Q1", country: str = ALL, sector: str = ALL
) -> Cell:
    key = CellKey.of(ISSUE_PREVALENCE, period=period, country=country, sector=sector, issue=issue.value)
    return cells_by_key(cells)[key]


def fl(cells: list[Cell], *, period: str = "2026-Q1", country: str = ALL, sector: str = ALL) -> Cell:
    return cells_by_key(cells)[CellKey.of(FORCED_LABOUR, period=period, country=country, sector=sector)]


def assert_margins_add_up(cells: list[Cell]) -> int:
    """Every margin's population is the disjoint union of its children's, and every additive measure (and
    `audited_sites`) is the sum of its children's: country x ALL over sectors, ALL x sector over countries,
    ALL x ALL over countries, over sectors and over the leaves. A missing child counts as 0.
    Returns the number of margins checked."""
    children: dict[CellKey, list[Cell]] = defaultdict(list)
    keys = cells_by_key(cells)
    for cell in cells:
        coords = dict(cell.key.coords)
        country, sector = coords["country"], coords["sector"]
        parents = []
        if country != ALL and sector != ALL:
            parents = [{"sector": ALL}, {"country": ALL}, {"country": ALL, "sector": ALL}]
        elif country != ALL or sector != ALL:
            parents = [{"country": ALL, "sector": ALL}]
        for change in parents:
            parent = CellKey.of(cell.key.table, **{**coords, **change})
            assert parent in keys, f"{cell.key} has no margin {parent}"
            children[parent].append(cell)
    checked = 0
    for margin in cells:
        coords = dict(margin.key.coords)
        if ALL not in (coords["country"], coords["sector"]):
            continue
        kids = children[margin.key]
        groups = (
            [kids]
            if (coords["country"], coords["sector"]).count(ALL) == 1
            else [
                [k for k in kids if ALL not in (k.key.get("country"), k.key.get("sector"))],
                [k for k in kids if k.key.get("sector") == ALL],
                [k for k in kids if k.key.get("country") == ALL],
            ]
        )
        for group in groups:
            assert sum(len(k.sites) for k in group) == len(margin.sites), margin.key
            assert frozenset().union(*(k.sites for k in group)) == margin.sites, margin.key
            assert sum(k.population["audited_sites"] for k in group) == margin.population["audited_sites"]
            for name, value in margin.additive.items():
                assert sum(k.additive[name] for k in group) == value, (margin.key, name)
            checked += 1
    return checked


def assert_cells_consistent(cells: list[Cell]) -> None:
    assert [c.key for c in cells] == sorted(c.key for c in cells)
    for cell in cells:
        assert cell.sites and cell.population == {"audited_sites": len(cell.sites)}
        if cell.key.table == ISSUE_PREVALENCE:
            o = cell.outcomes
            assert cell.additive == {
                "sites_with_issue": o["sites_with_issue"],
                **{f"by_severity.{s}": n for s, n in o["by_severity"].items()},
            }
            assert sum(o["by_severity"].values()) == o["sites_with_issue"] <= len(cell.sites)
            assert o["rate_pct"] == share_pct(o["sites_with_issue"], len(cell.sites))
        elif cell.key.table == LABOUR_RELATIONS:
            assert cell.additive == cell.outcomes and list(cell.outcomes) == list(LABOUR_FLAGS)
            assert all(0 <= n <= len(cell.sites) for n in cell.outcomes.values())
        else:
            o = cell.outcomes
            assert list(o["by_indicator"]) == [i.value for i in FL]
            assert cell.additive == {
                "sites_with_indicator": o["sites_with_indicator"],
                **{f"by_indicator.{i}": n for i, n in o["by_indicator"].items()},
            }
            assert max(o["by_indicator"].values()) <= o["sites_with_indicator"] <= len(cell.sites)


# --- rounding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "pct"),
    [
        (1, 8, 12.5),
        (1, 3, 33.3),
        (2, 3, 66.7),
        (1, 16, 6.3),  # round(6.25, 1) would give 6.2
        (1, 80, 1.3),  # round(1.25, 1) would give 1.2
        (1, 6, 16.7),
        (0, 7, 0.0),
        (7, 7, 100.0),
    ],
)
def test_shares_round_half_up_to_one_decimal(numerator: int, denominator: int, pct: float) -> None:
    assert share_pct(numerator, denominator) == pct
    assert str(share_pct(numerator, denominator)) == str(pct)


def test_a_share_needs_a_denominator() -> None:
    with pytest.raises(ValueError):
        share_pct(0, 0)


@pytest.mark.parametrize(
    ("with_issue", "sites", "pct"), [(1, 16, 6.3), (1, 8, 12.5), (1, 3, 33.3), (2, 3, 66.7)]
)
def test_rate_pct_in_a_cell(with_issue: int, sites: int, pct: float) -> None:
    world = World()
    for n in range(sites):
        world.site(f"s{n}")
        findings = [(Issue.WAGES, Severity.MINOR)] if n < with_issue else []
        world.audit(f"a{n}", f"s{n}", date(2026, 2, 1), *findings)
    cell = ip(issue_prevalence(world.state), Issue.WAGES)
    assert cell.population == {"audited_sites": sites}
    assert cell.outcomes["rate_pct"] == pct


# --- distinct sites and severity ------------------------------------------------------------------


def test_a_site_on_two_platforms_counts_once() -> None:
    world = World()
    world.site("s", platforms=("amfori", "sedex"))
    world.audit("a1", "s", date(2026, 1, 10), (Issue.WAGES, Severity.MAJOR), platform="sedex")
    world.audit("a2", "s", date(2026, 2, 10), (Issue.WAGES, Severity.MINOR), platform="amfori")
    cells = issue_prevalence(world.state)
    cell = ip(cells, Issue.WAGES, country="BD", sector=APPAREL)
    assert cell.sites == {"rsite-s"}
    assert cell.population == {"audited_sites": 1}
    assert cell.outcomes == {
        "sites_with_issue": 1,
        "by_severity": {"critical": 0, "major": 1, "minor": 0},
        "rate_pct": 100.0,
    }
    assert fl(forced_labour(world.state)).population == {"audited_sites": 1}


def test_two_audits_of_a_site_in_a_period_count_once_and_the_highest_severity_wins() -> None:
    world = World()
    world.site("s")
    world.audit(
        "a1", "s", date(2026, 1, 10), (Issue.WAGES, Severity.MINOR), (Issue.HEALTH_SAFETY, Severity.MAJOR)
    )
    world.audit(
        "a2", "s", date(2026, 3, 10), (Issue.WAGES, Severity.CRITICAL), (Issue.HEALTH_SAFETY, Severity.MINOR)
    )
    world.audit("a3", "s", date(2026, 3, 11), (Issue.WAGES, Severity.MAJOR), (Issue.WAGES, Severity.MINOR))
    cells = issue_prevalence(world.state)
    wages, safety = ip(cells, Issue.WAGES), ip(cells, Issue.HEALTH_SAFETY)
    assert wages.population == safety.population == {"audited_sites": 1}
    assert wages.outcomes["by_severity"] == {"critical": 1, "major": 0, "minor": 0}
    assert safety.outcomes["by_severity"] == {"critical": 0, "major": 1, "minor": 0}


def test_severity_is_per_period() -> None:
    world = World()
    world.site("s")
    world.audit("a1", "s", date(2026, 3, 31), (Issue.WAGES, Severity.CRITICAL))
    world.audit("a2", "s", date(2026, 4, 1), (Issue.WAGES, Severity.MINOR))
    cells = issue_prevalence(world.state)
    assert ip(cells, Issue.WAGES).outcomes["by_severity"] == {"critical": 1, "major": 0, "minor": 0}
    q2 = ip(cells, Issue.WAGES, period="2026-Q2")
    assert q2.outcomes["by_severity"] == {"critical": 0, "major": 0, "minor": 1}


def test_month_granularity() -> None:
    world = World()
    world.site("s1")
    world.site("s2")
    world.audit("a1", "s1", date(2026, 1, 31), (Issue.WAGES, Severity.MINOR))
    world.audit("a2", "s2", date(2026, 2, 1))
    world.audit("a3", "s1", date(2026, 2, 28), (Issue.WAGES, Severity.MAJOR, [FL.DEBT_BONDAGE]))
    quarter = issue_prevalence(world.state)
    assert {c.key.period for c in quarter} == {"2026-Q1"}
    assert ip(quarter, Issue.WAGES).outcomes["sites_with_issue"] == 1
    months = issue_prevalence(world.state, "month")
    assert {c.key.period for c in months} == {"2026-01", "2026-02"}
    jan, feb = ip(months, Issue.WAGES, period="2026-01"), ip(months, Issue.WAGES, period="2026-02")
    assert (jan.sites, feb.sites) == (frozenset({"rsite-s1"}), frozenset({"rsite-s1", "rsite-s2"}))
    assert jan.outcomes["by_severity"] == {"critical": 0, "major": 0, "minor": 1}
    assert feb.outcomes == {
        "sites_with_issue": 1,
        "by_severity": {"critical": 0, "major": 1, "minor": 0},
        "rate_pct": 50.0,
    }
    flm = forced_labour(world.state, "month")
    assert fl(flm, period="2026-01").outcomes["sites_with_indicator"] == 0
    assert fl(flm, period="2026-02").outcomes["by_indicator"]["DEBT_BONDAGE"] == 1


# --- which cells ----------------------------------------------------------------------------------


def test_every_issue_has_a_cell_wherever_sites_were_audited_and_nowhere_else() -> None:
    world = World()
    world.site("s1", country="BD", sector=APPAREL)
    world.site("s2", country="VN", sector=FOOD)
    world.site("unaudited", country="CN", sector=FOOD)  # contributes, but has no audit: in no cell
    world.audit("a1", "s1", date(2026, 1, 10), (Issue.WAGES, Severity.MINOR))
    world.audit("a2", "s2", date(2026, 5, 10))
    cells = issue_prevalence(world.state)
    combos = {(c.key.period, c.key.get("country"), c.key.get("sector")) for c in cells}
    a, f = APPAREL.value, FOOD.value
    assert combos == {
        *(("2026-Q1", c, s) for c in ("BD", ALL) for s in (a, ALL)),
        *(("2026-Q2", c, s) for c in ("VN", ALL) for s in (f, ALL)),
    }
    assert len(cells) == len(combos) * len(Issue)
    assert ip(cells, Issue.CHILD_LABOUR).outcomes == {
        "sites_with_issue": 0,
        "by_severity": {"critical": 0, "major": 0, "minor": 0},
        "rate_pct": 0.0,
    }
    labour = forced_labour(world.state)
    assert {(c.key.period, c.key.get("country"), c.key.get("sector")) for c in labour} == combos
    assert_cells_consistent(cells)
    assert_cells_consistent(labour)
    assert issue_prevalence(NormalizedState()) == forced_labour(NormalizedState()) == []


def test_forced_labour_indicators_are_distinct_sites_with_all_eleven_codes() -> None:
    world = World()
    world.site("s1")
    world.site("s2")
    world.site("s3")
    world.audit(
        "a1",
        "s1",
        date(2026, 1, 10),
        (Issue.FORCED_LABOUR, Severity.CRITICAL, [FL.DEBT_BONDAGE, FL.DECEPTION]),
    )
    world.audit(
        "a2",
        "s1",
        date(2026, 2, 10),
        (Issue.WORKING_HOURS, Severity.MAJOR, [FL.EXCESSIVE_OVERTIME, FL.DEBT_BONDAGE]),
    )
    world.audit("a3", "s2", date(2026, 2, 10), (Issue.WORKING_HOURS, Severity.MINOR, [FL.EXCESSIVE_OVERTIME]))
    world.audit("a4", "s3", date(2026, 2, 10), (Issue.WAGES, Severity.MINOR))
    cell = fl(forced_labour(world.state))
    assert cell.population == {"audited_sites": 3}
    expected = {i.value: 0 for i in FL} | {"DEBT_BONDAGE": 1, "DECEPTION": 1, "EXCESSIVE_OVERTIME": 2}
    assert cell.outcomes == {"sites_with_indicator": 2, "by_indicator": expected}
    assert list(cell.outcomes["by_indicator"]) == [i.value for i in FL]
    assert cell.additive == {
        "sites_with_indicator": 2,
        **{f"by_indicator.{k}": v for k, v in expected.items()},
    }


# --- margins --------------------------------------------------------------------------------------


def test_margins_add_up_over_countries_and_over_sectors() -> None:
    world = World()
    layout = [
        ("BD", APPAREL),
        ("BD", APPAREL),
        ("BD", FOOD),
        ("VN", APPAREL),
        ("VN", FOOD),
        ("VN", FOOD),
        ("CN", FOOD),
    ]
    severities = [Severity.CRITICAL, Severity.MAJOR, Severity.MINOR]
    for n, (country, sector) in enumerate(layout):
        world.site(
            f"s{n}", country=country, sector=sector, platforms=("amfori", "sedex") if n % 2 else ("sedex",)
        )
        findings = [(Issue.WAGES, severities[n % 3], [list(FL)[n % 11]])] if n % 4 else []
        world.audit(f"a{n}", f"s{n}", date(2026, 1 + n, 1), *findings)
        world.audit(f"b{n}", f"s{n}", date(2026, 2, 1), (Issue.HEALTH_SAFETY, severities[(n + 1) % 3]))
    for cells in (issue_prevalence(world.state), forced_labour(world.state)):
        assert_cells_consistent(cells)
        assert assert_margins_add_up(cells) > 0
    top = ip(issue_prevalence(world.state), Issue.HEALTH_SAFETY)
    assert top.population == {"audited_sites": len(layout)}
    assert top.additive == {
        "sites_with_issue": 7,
        "by_severity.critical": 2,
        "by_severity.major": 3,
        "by_severity.minor": 2,
    }


# --- what normalize leaves out --------------------------------------------------------------------


def test_removed_consent_withdrawn_and_withdrawn_audits_are_not_counted_nor_observations() -> None:
    feed = Feed()
    feed.site("ZS100001", company="ZC1000001", name="Kept")
    feed.site("ZS100002", company="ZC1000002", name="Removed")
    feed.site("ZS100003", company="ZC1000003", name="No consent")
    feed.site("ZS100004", company="ZC1000004", name="Audit withdrawn")
    feed.audit(
        "A1",
        "ZS100001",
        company="ZC1000001",
        findings=[
            nc("NC-1", "5", "Minor"),
            observation("OB-1", "3", "DEBT"),
            observation("OB-2", "5", "ID_RETAINED"),
        ],
    )
    for n in (2, 3, 4):
        feed.audit(
            f"A{n}", f"ZS10000{n}", company=f"ZC100000{n}", findings=[nc("NC-1", "1", "Critical", "DEBT")]
        )
    feed.remove_site("ZS100002", company="ZC1000002")
    feed.consent("ZC1000003", False)
    feed.withdraw_audit("A4", "ZS100004", company="ZC1000004")
    state = feed.state
    cells = issue_prevalence(state)
    assert {c.key.period for c in cells} == {"2026-Q1"}
    assert ip(cells, Issue.WAGES).population == {"audited_sites": 1}
    assert ip(cells, Issue.WAGES).outcomes["sites_with_issue"] == 1
    assert ip(cells, Issue.HEALTH_SAFETY).outcomes["sites_with_issue"] == 0  # an observation only
    assert ip(cells, Issue.FORCED_LABOUR).outcomes["sites_with_issue"] == 0
    labour = fl(forced_labour(state))
    assert labour.population == {"audited_sites": 1}
    assert labour.outcomes["sites_with_indicator"] == 0  # observations' tags count nowhere
    # and the withdrawn or excluded ones come back when their site does
    feed.consent("ZC1000003", True, version=2)
    assert fl(forced_labour(feed.state)).outcomes["by_indicator"]["DEBT_BONDAGE"] == 1


# --- over the simulator ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> NormalizedState:
    return NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))


@pytest.mark.parametrize("granularity", ["quarter", "month"])
def test_over_the_simulator_every_margin_is_the_sum_of_its_children(
    simulated: NormalizedState, granularity: Granularity
) -> None:
    prevalence = issue_prevalence(simulated, granularity)
    labour = forced_labour(simulated, granularity)
    assert_cells_consistent(prevalence)
    assert_cells_consistent(labour)
    assert assert_margins_add_up(prevalence) > 0
    assert assert_margins_add_up(labour) > 0
    # both tables share one population per (period, country, sector)
    shared = {(c.key.period, c.key.get("country"), c.key.get("sector")): c.sites for c in labour}
    for cell in prevalence:
        assert shared[(cell.key.period, cell.key.get("country"), cell.key.get("sector"))] == cell.sites
    assert len(prevalence) == len(labour) * len(Issue)
    assert any(c.outcomes["sites_with_issue"] for c in prevalence)
    assert any(c.outcomes["sites_with_indicator"] for c in labour)


def test_over_the_simulator_the_outcomes_are_what_the_published_message_accepts(
    simulated: NormalizedState,
) -> None:
    for cell in issue_prevalence(simulated):
        IssuePrevalenceMeasures.model_validate({**cell.population, **cell.outcomes})
    for cell in forced_labour(simulated):
        ForcedLabourMeasures.model_validate({**cell.population, **cell.outcomes})
    relations = labour_relations(simulated)
    for cell in relations:
        LabourRelationsMeasures.model_validate({**cell.population, **cell.outcomes})
    assert_cells_consistent(relations)
    assert assert_margins_add_up(relations) > 0
    assert all(any(c.outcomes[flag] for c in relations) for flag in LABOUR_FLAGS)  # the feed has every flag


def test_labour_relations_counts_the_flags_of_each_sites_latest_audit_of_the_period() -> None:
    """aggregates.md: the site's latest audit in the period, by end date; on a tie, the latest event time.
    Earlier audits of the period say nothing, however many flags they show; other periods neither."""
    w = World()
    for name in ("s1", "s2", "s3"):
        w.site(name)
    w.audit(
        "s1-early", "s1", date(2026, 1, 10), voice=voice(union=True, committee=True, cba=True, grievance=True)
    )
    w.audit("s1-late", "s1", date(2026, 3, 20), voice=voice(grievance=True))
    w.audit("s2-a", "s2", date(2026, 2, 1), voice=voice(union=True), event_ms=5)
    w.audit("s2-b", "s2", date(2026, 2, 1), voice=voice(committee=True), event_ms=9)  # same day, later event
    w.audit("s3-q1", "s3", date(2026, 2, 1))
    w.audit("s3-q2", "s3", date(2026, 4, 2), voice=voice(union=True, cba=True))
    cells = {(c.key.period, c.key.get("country"), c.key.get("sector")): c for c in labour_relations(w.state)}
    q1 = cells[("2026-Q1", "BD", APPAREL.value)]
    assert q1.population == {"audited_sites": 3}
    assert q1.outcomes == {
        "sites_with_union": 0,
        "sites_with_worker_committee": 1,
        "sites_with_collective_agreement": 0,
        "sites_with_grievance_mechanism": 1,
    }
    q2 = cells[("2026-Q2", "BD", APPAREL.value)]
    assert q2.outcomes["sites_with_union"] == 1 and q2.outcomes["sites_with_collective_agreement"] == 1
    assert q1.contributions == {"rsite-s1": "0001", "rsite-s2": "0100", "rsite-s3": "0000"}


def test_over_the_simulator_the_output_is_deterministic(simulated: NormalizedState) -> None:
    again = NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))
    assert issue_prevalence(again) == issue_prevalence(simulated)
    assert forced_labour(again) == forced_labour(simulated)
