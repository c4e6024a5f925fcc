"""The `remediation` table (aggregates.md): its cells against an independent reference on simulator
feeds, each measure on crafted worlds, and the revision rule over clock-driven changes of
`open_overdue` across a sequence of releases planned with `plan_release` and the release log."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.exchange.aggregates import REMEDIATION, RemediationMeasures, parse_message, topic_of
from schemas.shared.models import CorrectiveActionStatus
from schemas.taxonomy import Issue, Severity
from services.aggregate.disclosure import DisclosureParams, recovery
from services.aggregate.model import ALL, Cell
from services.aggregate.noise import NoiseParams, NoiseParamsError
from services.aggregate.population import NormalizedState
from services.aggregate.remediation import ON_TIME, median, remediation
from services.aggregate.settings import AggregateSettings
from simulator.feed import Feed, generate_feed
from tests.services.aggregate import insider, reference_remediation
from tests.services.aggregate.crafted import Crafted, Releases
from tests.services.aggregate.reference import compute
from tests.services.aggregate.test_attacks import normalized
from tests.services.normalize.test_engine import CTX

WAGES, HS = Issue.WAGES, Issue.HEALTH_SAFETY
MAJOR, MINOR = Severity.MAJOR, Severity.MINOR
END = date(2026, 2, 1)  # the crafted audits' end date: 2026-Q1
AT = datetime(2026, 5, 1, tzinfo=UTC)  # the first release of 2026-Q1
TOPIC = topic_of(REMEDIATION)


def cells_of(state: NormalizedState, at: datetime = AT) -> dict[tuple[str, str, str], Cell]:
    return {(c.key.period, c.key.get("country"), c.key.get("issue")): c for c in remediation(state, at)}


def cell(world: Crafted, country: str = "BD", issue: Issue = WAGES, at: datetime = AT) -> Cell:
    return cells_of(world.state(), at)[("2026-Q1", country, issue.value)]


def measures(c: Cell) -> dict[str, Any]:
    return {**c.population, **c.outcomes}


# --- crafted worlds: each measure ----------------------------------------------------------------------


def test_the_due_date_is_compared_with_the_utc_day_of_the_release() -> None:
    """open_overdue: not closed and due *before* the release's UTC day: due on that day is not overdue;
    a release at 01:00 in UTC+2 is still the day before in UTC."""
    w = Crafted()
    w.site("s")
    w.audit("a", "s", (WAGES, MAJOR), (WAGES, MINOR), end=END)
    w.corrective_action("a", 0, due=date(2026, 5, 1))
    w.corrective_action("a", 1, due=date(2026, 4, 30))
    assert cell(w).outcomes["open_overdue"] == 1  # only the one due on 2026-04-30
    assert cell(w, at=AT - timedelta(seconds=1)).outcomes["open_overdue"] == 0
    east = datetime(2026, 5, 2, 1, tzinfo=timezone(timedelta(hours=2)))  # 2026-05-01T23:00Z
    assert cell(w, at=east).outcomes["open_overdue"] == 1
    assert cell(w, at=AT + timedelta(days=1)).outcomes["open_overdue"] == 2
    with pytest.raises(ValueError, match="timezone-aware"):
        remediation(w.state(), datetime(2026, 5, 1))


def test_closed_on_time_is_on_or_before_the_due_date_and_days_count_from_the_audit_end() -> None:
    w = Crafted()
    w.site("s")
    w.audit("a", "s", (WAGES, MAJOR), (WAGES, MAJOR), (WAGES, MINOR), end=END)
    w.corrective_action("a", 0, due=date(2026, 3, 1), closed=date(2026, 3, 1))  # on the day: on time
    w.corrective_action("a", 1, due=date(2026, 3, 1), closed=date(2026, 3, 2))  # a day late
    w.corrective_action("a", 2, due=date(2026, 3, 1), status=CorrectiveActionStatus.NOT_RESOLVED)
    c = cell(w)
    assert measures(c) == {
        "findings": 3,
        "closed": 2,
        "closed_on_time_pct": 50.0,
        "median_days_to_close": 28.5,  # (28 + 29) / 2: the mean of the two middle values
        "open_overdue": 1,  # NOT_RESOLVED is not closed, and its due date has passed
    }
    assert c.additive == {"closed": 2, ON_TIME: 1, "open_overdue": 1}
    RemediationMeasures.model_validate(measures(c))


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    assert median([10, 41, 20, 30]) == 25.0
    assert median([10, 31, 20, 40]) == 25.5
    assert median([3]) == 3.0 and median([5, 1, 9]) == 5.0
    w = Crafted()
    for i, days in enumerate((10, 20, 31, 40)):
        w.site(f"s{i}")
        w.audit(f"a{i}", f"s{i}", (WAGES, MAJOR), end=END)
        w.corrective_action(f"a{i}", 0, due=date(2026, 6, 1), closed=END + timedelta(days=days))
    assert cell(w).outcomes["median_days_to_close"] == 25.5


def test_nothing_closed_has_no_share_and_no_median() -> None:
    w = Crafted()
    w.site("s")
    w.audit("a", "s", (WAGES, MAJOR), end=END)
    w.corrective_action("a", 0, due=date(2026, 6, 1))
    assert cell(w).outcomes == {
        "closed": 0,
        "closed_on_time_pct": None,
        "median_days_to_close": None,
        "open_overdue": 0,
    }


def test_a_withdrawn_audit_drops_its_findings_and_an_action_without_a_current_finding_counts_nowhere() -> (
    None
):
    w = Crafted()
    for name in ("s", "t"):
        w.site(name)
    w.audit("a", "s", (WAGES, MAJOR), (HS, MINOR), end=END)
    w.audit("b", "t", (WAGES, MAJOR), end=END)
    w.corrective_action("a", 0, due=date(2026, 3, 1))
    w.corrective_action("a", 1, due=date(2026, 3, 1))
    w.corrective_action("b", 0, due=date(2026, 3, 1))
    assert cell(w).population == {"findings": 2} and len(cell(w).sites) == 2
    w.withdraw_audit("a")  # its corrective-action records stay on normalize's topic; they count nowhere
    assert set(cells_of(w.state())) == {("2026-Q1", "BD", WAGES.value), ("2026-Q1", ALL, WAGES.value)}
    assert cell(w).population == {"findings": 1}
    # an action naming a finding that the current audit does not have (e.g. a dropped observation)
    w.corrective_action("b", 3, due=date(2026, 3, 1))
    assert cell(w).population == {"findings": 1}
    # and a finding without an action is no finding of this table
    w.audit("c", "t", (WAGES, MAJOR), end=END)
    assert cell(w).population == {"findings": 1}
    w.withdraw_audit("b")
    assert cells_of(w.state()) == {}


def test_the_latest_version_of_a_corrective_action_counts() -> None:
    w = Crafted()
    w.site("s")
    w.audit("a", "s", (WAGES, MAJOR), end=END)
    w.corrective_action("a", 0, due=date(2026, 3, 1))
    assert cell(w).outcomes["open_overdue"] == 1
    w.corrective_action("a", 0, due=date(2026, 3, 1), closed=date(2026, 4, 1))  # version 2
    assert measures(cell(w)) == {
        "findings": 1,
        "closed": 1,
        "closed_on_time_pct": 0.0,
        "median_days_to_close": 59.0,
        "open_overdue": 0,
    }


def test_the_rules_count_sites_and_findings_counts_findings() -> None:
    """Three findings of one site are one site of the population; countries add up to ALL."""
    w = Crafted()
    w.site("s", country="BD")
    w.site("t", country="VN")
    w.audit("a", "s", (WAGES, MAJOR), (WAGES, MINOR), (WAGES, MINOR), end=END)
    w.audit("b", "t", (WAGES, MAJOR), end=END)
    for i in range(3):
        w.corrective_action("a", i, due=date(2026, 3, 1), closed=date(2026, 2, 10 + i))
    w.corrective_action("b", 0, due=date(2026, 3, 1))
    bd, vn, margin = cell(w, "BD"), cell(w, "VN"), cell(w, ALL)
    assert len(bd.sites) == 1 and bd.population == {"findings": 3}
    assert margin.sites == bd.sites | vn.sites and margin.population == {"findings": 4}
    for name in ("closed", ON_TIME, "open_overdue"):
        assert margin.additive[name] == bd.additive[name] + vn.additive[name]
    assert bd.contributions == {next(iter(bd.sites)): "c10+,c11+,c9+"}


def test_a_finding_going_overdue_changes_its_sites_contribution() -> None:
    w = Crafted()
    w.site("s")
    w.audit("a", "s", (WAGES, MAJOR), end=END)
    w.corrective_action("a", 0, due=date(2026, 5, 5))
    before, after = (
        cell(w, at=datetime(2026, 5, 5, 23, tzinfo=UTC)),
        cell(w, at=datetime(2026, 5, 6, tzinfo=UTC)),
    )
    assert before.contributions != after.contributions
    assert set(before.contributions.values()) == {"o"} and set(after.contributions.values()) == {"o!"}


def test_the_recovery_lp_knows_that_closed_on_time_is_at_most_closed() -> None:
    """The engine's attacker model is as strong as a subscriber's: the share gives the on-time count."""
    pos = (("country", "BD"),)
    rows = recovery._within_cell_rows(pos, {"closed", ON_TIME, "open_overdue"})
    assert [(r.coefs, r.rhs, r.eq) for r in rows] == [
        ((((pos, ON_TIME), 1.0), ((pos, "closed"), -1.0)), 0.0, False)
    ]


# --- the message -----------------------------------------------------------------------------------------


def test_the_measures_model_accepts_only_consistent_values() -> None:
    ok = {
        "findings": 5,
        "closed": 2,
        "closed_on_time_pct": 50.0,
        "median_days_to_close": 12.5,
        "open_overdue": 1,
    }
    RemediationMeasures.model_validate(ok)
    withheld = {"findings": 5, "closed": None, "closed_on_time_pct": None, "median_days_to_close": None}
    RemediationMeasures.model_validate({**withheld, "open_overdue": None})
    for bad in (
        {**ok, "open_overdue": None},  # all or none
        {**ok, "closed_on_time_pct": 40.0},  # no count of 2 closed gives 40 %
        {**ok, "median_days_to_close": 12.3},  # a median of whole days
        {**ok, "closed": 0},  # a share and a median of nothing
        {**ok, "closed": 5},  # closed + open_overdue > findings
        {**ok, "findings": 0},
    ):
        with pytest.raises(ValidationError):
            RemediationMeasures.model_validate(bad)


def test_no_differential_privacy_mode_for_remediation() -> None:
    with pytest.raises(NoiseParamsError, match="remediation counts findings, not sites"):
        NoiseParams(frozenset({REMEDIATION}))
    with pytest.raises(NoiseParamsError, match="no differential-privacy mode for table remediation"):
        AggregateSettings(dp_tables="issue-prevalence,remediation").noise_params()
    NoiseParams(frozenset({"issue-prevalence"}))  # the others keep theirs


# --- the clock and the revision rule ---------------------------------------------------------------------


def clock_world() -> Crafted:
    """25 sites in BD and 25 in VN, each of its own supplier, each with one WAGES finding of 2026-Q1
    whose corrective action is open and due on 2026-06-30; `x` is BD's first site."""
    w = Crafted()
    for country in ("BD", "VN"):
        for i in range(25):
            name = w.site(f"{country}{i}", country=country)
            w.audit(f"{name}-a", name, (WAGES, MAJOR), end=END)
            w.corrective_action(f"{name}-a", 0, due=date(2026, 6, 30))
    return w


def remediation_sent(public: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """country -> the remediation message sent for 2026-Q1 x WAGES in one release."""
    out = {}
    for topic, _, value, _ in public:
        if topic == TOPIC:
            message = json.loads(value)
            parse_message(value)
            if message["cell"]["issue"] == WAGES.value:
                out[message["cell"]["country"]] = message
    return out


def clock_releases(
    world: Crafted, releases: Releases | None = None
) -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    """The releases of the clock scenario, each as (what happened, the remediation messages sent)."""
    releases = Releases(params=DisclosureParams()) if releases is None else releases
    first = remediation_sent(releases.release(world))
    yield "first", first
    # BD0's action is due on 2026-05-05: overdue from the release at 2026-05-06T00:00Z, by the clock alone
    world.corrective_action("BD0-a", 0, due=date(2026, 5, 5))
    releases.at = datetime(2026, 5, 5, 23, tzinfo=UTC)
    yield "due today", remediation_sent(releases.release(world))
    releases.at = datetime(2026, 5, 6, tzinfo=UTC)
    yield "one overdue", remediation_sent(releases.release(world))
    releases.at = datetime(2026, 5, 7, tzinfo=UTC)
    yield "still one", remediation_sent(releases.release(world))
    # four more BD sites fall due on 2026-05-08: five changed sites since BD's last release
    for i in range(1, 5):
        world.corrective_action(f"BD{i}-a", 0, due=date(2026, 5, 8))
    releases.at = datetime(2026, 5, 8, 12, tzinfo=UTC)
    yield "due today again", remediation_sent(releases.release(world))
    releases.at = datetime(2026, 5, 9, tzinfo=UTC)
    yield "five overdue", remediation_sent(releases.release(world))


def test_one_site_going_overdue_is_not_re_sent_in_its_cell_nor_its_margin_and_k_delta_sites_are() -> None:
    releases = Releases()
    steps = dict(clock_releases(clock_world(), releases))
    # the independent insider attacker (every supplier, member and the outsider) learns nothing
    violations = insider.attack(releases.history)
    assert not violations, insider.summary(violations)
    first = steps["first"]
    assert set(first) == {"BD", "VN", ALL}
    assert all(m["status"] == "published" and m["measures"]["open_overdue"] == 0 for m in first.values())
    assert first["BD"]["measures"]["findings"] == 25 and first[ALL]["measures"]["findings"] == 50
    # A finding becoming overdue at midnight is a change of that one site's contribution: held, in the
    # country cell and in the ALL margin alike (the margin minus VN would be that site's finding).
    assert steps["due today"] == {}
    assert steps["one overdue"] == {}
    assert steps["still one"] == {}
    assert steps["due today again"] == {}
    # Five sites (of five suppliers) changed since BD's last release: the cell and the margin move.
    five = steps["five overdue"]
    assert set(five) == {"BD", ALL}
    assert five["BD"]["revision"] == 1 and five["BD"]["measures"]["open_overdue"] == 5
    assert five[ALL]["revision"] == 1 and five[ALL]["measures"]["open_overdue"] == 5


def test_without_the_revision_rule_the_clock_would_re_send_one_sites_overdue_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The protection switched off (every change may be shown): the first test's assertion fails, and
    the difference of two revisions of the BD cell is BD0's finding alone."""
    for module in ("revision", "view"):
        rule = importlib.import_module(f"services.aggregate.disclosure.{module}")
        monkeypatch.setattr(rule, "change_may_be_shown", lambda *_: True)
    releases = Releases()
    steps = dict(clock_releases(clock_world(), releases))
    assert steps["one overdue"]["BD"]["measures"]["open_overdue"] == 1
    assert steps["one overdue"][ALL]["measures"]["open_overdue"] == 1
    found = {(v.kind, v.cell) for v in insider.differencing(releases.history)}
    assert ("differencing", "remediation{'country': 'BD', 'issue': 'WAGES', 'period': '2026-Q1'}") in found


# --- over the simulator ----------------------------------------------------------------------------------


def _real(state: NormalizedState, site: str) -> frozenset[str]:
    return frozenset(state.resolved_sites[site].platform_site_ids)


def assert_matches_reference(feed: Feed, state: NormalizedState, at: datetime) -> list[Cell]:
    """Every cell, its findings, outcomes, additive on-time count and sites equal the reference's."""
    cells = remediation(state, at)
    expected = reference_remediation.remediation(feed, at)
    ref_sites = compute(feed).sites
    real_of = {
        s: frozenset(CTX.site_id(p, r) for p, r in site.platform_sites) for s, site in ref_sites.items()
    }
    got = {c.key.message_key().decode(): c for c in cells}
    assert set(got) == set(expected)
    for key, c in got.items():
        e = expected[key]
        assert measures(c) == {name: e[name] for name in measures(c)}, key
        assert c.additive[ON_TIME] == e["closed_on_time"], key
        assert {_real(state, s) for s in c.sites} == {real_of[s] for s in e["_sites"]}, key
        RemediationMeasures.model_validate(measures(c))
    return cells


@pytest.fixture(scope="module", params=[5, 23])
def simulated(request: pytest.FixtureRequest) -> tuple[Feed, NormalizedState]:
    feed = generate_feed(request.param, 60, start=date(2025, 1, 1), months=8)
    return feed, normalized(feed.messages)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2025, 5, 1, tzinfo=UTC),
        datetime(2025, 7, 15, 23, 59, 59, tzinfo=UTC),
        datetime(2025, 7, 16, tzinfo=UTC),
        datetime(2025, 10, 1, tzinfo=UTC),
    ],
)
def test_over_the_simulator_the_cells_equal_the_reference(
    simulated: tuple[Feed, NormalizedState], at: datetime
) -> None:
    feed, state = simulated
    cells = assert_matches_reference(feed, state, at)
    assert cells
    assert any(c.outcomes["open_overdue"] for c in cells) and any(c.outcomes["closed"] for c in cells)
    platforms = {state.corrective_actions[f].platform for f in state.corrective_actions}
    assert platforms == {"sedex", "amfori"}  # the feed remediates on both platforms


def test_over_the_simulator_monthly_periods_equal_the_reference(
    simulated: tuple[Feed, NormalizedState],
) -> None:
    feed, state = simulated
    at = datetime(2025, 10, 1, tzinfo=UTC)
    cells = {
        c.key.message_key().decode(): {**c.population, **c.outcomes} for c in remediation(state, at, "month")
    }
    expected = reference_remediation.remediation(feed, at, "month")
    assert cells and cells == {k: {name: v[name] for name in cells[k]} for k, v in expected.items()}
    assert all(len(json.loads(k)["period"]) == 7 for k in cells)


def test_over_the_simulator_the_clock_alone_changes_open_overdue(
    simulated: tuple[Feed, NormalizedState],
) -> None:
    _, state = simulated
    early = {c.key: c.outcomes["open_overdue"] for c in remediation(state, datetime(2025, 5, 1, tzinfo=UTC))}
    late = {c.key: c.outcomes["open_overdue"] for c in remediation(state, datetime(2026, 5, 1, tzinfo=UTC))}
    assert early.keys() == late.keys() and sum(late.values()) > sum(early.values())


def test_over_the_simulator_redelivered_and_reordered_events_give_the_same_cells() -> None:
    """The latest version of each corrective action counts, however the events arrive."""
    feed = generate_feed(5, 60, start=date(2025, 1, 1), months=8)
    at = datetime(2025, 9, 1, tzinfo=UTC)
    state = normalized(feed.messages, redeliver=True, seed=7)
    assert any(a.version > 1 for a in state.corrective_actions.values())
    assert_matches_reference(feed, state, at)


# --- the insider attacker on crafted remediation worlds -----------------------------------------------


def residual_world() -> Crafted:
    """BD and VN with 25 sites each and KH with 3 (below the threshold), one supplier each, with mixed
    corrective-action outcomes; KH's findings are all overdue. Published alone, the margin minus BD and
    VN would be KH's."""
    w = Crafted()
    for country, n in (("BD", 25), ("VN", 25), ("KH", 3)):
        for i in range(n):
            name = w.site(f"{country}{i}", country=country)
            w.audit(f"{name}-a", name, (WAGES, MAJOR), (WAGES, MINOR), end=END)
            if country == "KH":
                w.corrective_action(f"{name}-a", 0, due=date(2026, 3, 1))
                continue
            w.corrective_action(f"{name}-a", 0, due=date(2026, 3, 1), closed=END + timedelta(days=10 + i))
            if i % 3:
                w.corrective_action(f"{name}-a", 1, due=date(2026, 4, 1) if i % 2 else date(2026, 6, 1))
    return w


def test_a_small_country_is_not_recovered_from_the_margin() -> None:
    releases = Releases()
    public = remediation_sent(releases.release(residual_world()))
    assert public["KH"]["status"] == "suppressed"
    shown = [
        c for c in ("BD", "VN", ALL) if public[c]["measures"] and public[c]["measures"]["closed"] is not None
    ]
    assert len(shown) < 3  # the margin or a country withholds its outcomes
    violations = insider.attack(releases.history)
    assert not violations, insider.summary(violations)


def test_without_the_residual_rule_the_attacker_recovers_the_small_country(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The protection switched off (primary rules only): the margin minus the two big countries is
    KH's three overdue findings, and the attacker pins them."""
    decide = importlib.import_module("services.aggregate.disclosure")
    monkeypatch.setattr(decide, "enforce_residuals", lambda *_: None)
    monkeypatch.setattr(decide, "first_violation", lambda *_: None)
    releases = Releases()
    releases.release(residual_world())
    found = [v for v in insider.recovery(releases.history) if "country=KH" in v.cell]
    assert any("open_overdue pinned" in v.detail for v in found), insider.summary(found)


def test_a_supplier_of_many_sites_learns_nothing_of_the_others_as_they_fall_overdue() -> None:
    """One supplier owns 18 of a cell's 25 sites; over a week its sites and four others fall overdue
    day by day; the insider attacker must learn nothing at any release."""
    w = Crafted()
    for i in range(25):
        name = w.site(f"BD{i}", company="big" if i < 18 else None)
        w.audit(f"{name}-a", name, (WAGES, MAJOR), end=END)
        w.corrective_action(f"{name}-a", 0, due=date(2026, 5, 1) + timedelta(days=i % 7))
    for i in range(20):
        name = w.site(f"VN{i}", country="VN")
        w.audit(f"{name}-a", name, (WAGES, MAJOR), end=END)
        w.corrective_action(f"{name}-a", 0, due=date(2026, 5, 3))
    releases = Releases()
    for day in range(9):
        releases.at = AT + timedelta(days=day)
        releases.release(w)
    assert any(remediation_sent(r.records) for r in releases.history[1:])  # something moved
    violations = insider.attack(releases.history)
    assert not violations, insider.summary(violations)
