"""`capacity-building` (aggregates.md): cells against the independent reference, crafted worlds, and the
cross-table attacker (`capacity_attack.py`) with the protection on and off."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from schemas.exchange.aggregates import CAPACITY_BUILDING, RELEASE_STATE_TOPIC, TABLES, topic_of
from schemas.shared.models import Training
from schemas.taxonomy import Issue, Severity
from services.aggregate import capacity_building
from services.aggregate.capacity_building import capacity_cells
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.held import hold
from services.aggregate.noise import NoiseParams, NoiseParamsError
from services.aggregate.planner import plan_release
from services.aggregate.population import Granularity, NormalizedState, contributing
from services.aggregate.release import ReleaseLog
from services.aggregate.tables import audited_sites
from services.normalize.pseudonymise import IdKind
from simulator.feed import Feed, generate_feed
from tests.services.aggregate.capacity_attack import SiteTruth, attack, view
from tests.services.aggregate.crafted import Crafted, Ref
from tests.services.aggregate.hand_built import pid
from tests.services.aggregate.reference import compute
from tests.services.aggregate.reference_capacity_building import capacity_building as reference
from tests.services.aggregate.test_attacks import normalized
from tests.services.normalize.test_engine import PSEUDONYMS

PARAMS = DisclosureParams()
Q1, Q2 = date(2026, 2, 1), date(2026, 5, 15)
Q2_OPEN = datetime(2026, 5, 1, tzinfo=UTC)  # 2026-Q1 closed, 2026-Q2 not yet
Q2_CLOSED = datetime(2026, 8, 1, tzinfo=UTC)
WAGES = Issue.WAGES
CB_TOPIC = topic_of(CAPACITY_BUILDING)


# --- against the reference ------------------------------------------------------------------------------


def engine_cells(state: NormalizedState, release_at: datetime, granularity: Granularity) -> dict[str, Any]:
    sites = contributing(state)
    audited = audited_sites(state, granularity, sites)
    out: dict[str, Any] = {}
    for cc in capacity_cells(state, audited, release_at, granularity=granularity, sites=sites):
        groups = cc.groups
        out[cc.cell.key.message_key().decode()] = {
            **cc.cell.population,
            **cc.cell.outcomes,
            "_sites": set(cc.cell.sites),
            "_trained_group": set(groups.get("trained", {})),
            "_untrained_group": set(groups.get("untrained", {})),
        }
    return out


def pseudonymised(ref: Mapping[str, dict[str, Any]], feed: Feed, state: NormalizedState) -> dict[str, Any]:
    """The reference's site ids as the engine's resolved-site pseudonyms, matched through their
    platform sites (whose pseudonyms are `site` of "<platform>:<ref>")."""
    engine_id = {}
    for site_id, site in compute(feed).sites.items():
        platform, raw = sorted(site.platform_sites)[0]
        engine_id[site_id] = state.resolutions[
            PSEUDONYMS.pseudonym(IdKind.PLATFORM_SITE, f"{platform}:{raw}")
        ].resolved_site_id
    return {
        key: {k: ({engine_id[s] for s in v} if k.startswith("_") else v) for k, v in cell.items()}
        for key, cell in ref.items()
    }


@pytest.mark.parametrize(
    ("seed", "granularity", "release_at"),
    [
        (5, "quarter", datetime(2025, 11, 1, tzinfo=UTC)),  # Q1, Q2 with rates; Q3's next period open
        (9, "month", datetime(2025, 8, 15, tzinfo=UTC)),
    ],
)
def test_cells_equal_the_reference_on_a_simulator_feed(
    seed: int, granularity: Granularity, release_at: datetime
) -> None:
    feed = generate_feed(seed, 80, start=date(2025, 1, 1), months=9)
    state = normalized(feed.messages)
    expected = pseudonymised(reference(feed, release_at, granularity), feed, state)
    got = engine_cells(state, release_at, granularity)
    assert got == expected
    assert any(c["issue_rate_trained_pct"] is not None for c in got.values())
    assert any(c["issue_rate_untrained_pct"] is None for c in got.values())  # open next periods


def test_the_feed_trains_enough_sites_on_both_platforms_for_rates() -> None:
    """At the demo's scale (300 sites per platform, a year) some cells show a rate. Only untrained
    rates do: a country's trained group is below outcome_min there, and the populations-only recovery
    rule then withholds every group beside it that would tell it apart (docs/aggregate.md)."""
    feed = generate_feed(17, 300, start=date(2025, 1, 1), months=12)
    kinds = {m.kind for m in feed.messages}
    assert {"TrainingCompleted", "academy.completion"} <= kinds
    plan = plan_release(normalized(feed.messages), ReleaseLog(), PARAMS, datetime(2026, 2, 1, tzinfo=UTC))
    measures = [json.loads(v)["measures"] for t, _, v, _ in plan.records if t == CB_TOPIC]
    assert any(m and m["sites_trained"] for m in measures)
    assert any(m and m["issue_rate_untrained_pct"] is not None for m in measures)


# --- crafted worlds -------------------------------------------------------------------------------------


@dataclass(slots=True)
class World(Crafted):
    """A crafted world with training completions (one platform site's, by site name)."""

    trainings: list[tuple[str, tuple[Issue, ...], date, int]] = field(default_factory=list)

    def train(self, site: str, *issues: Issue, day: date = Q1, participants: int = 4) -> None:
        self.trainings.append((site, issues, day, participants))

    def state(self) -> NormalizedState:
        state = Crafted.state(self)
        for i, (site, issues, day, participants) in enumerate(self.trainings):
            p = self.psites[self.named[site][0]]
            tid = pid("training", f"{site}/{i}")
            state.trainings[tid] = hold(
                Training(
                    training_id=tid,
                    platform=p.platform,
                    site_id=p.site_id,
                    company_id=p.company_id,
                    version=1,
                    updated_at_ms=1,
                    issues=sorted(issues),
                    completed_on=day,
                    participants=participants,
                )
            )
        return state

    def truth(self, topic: Issue) -> dict[str, SiteTruth]:
        """Every site audited in 2026-Q2, from this model (not from the engine)."""
        out: dict[str, SiteTruth] = {}
        trained = {s for s, issues, day, _ in self.trainings if topic in issues and day.month <= 3}
        for audit in self.audits.values():
            p = self.psites[audit.psite]
            name = p.key.split(":", 1)[1]
            if not 4 <= audit.end.month <= 6:
                continue
            finding = any(f[0] == topic for f in audit.findings)
            parties = frozenset({p.company, *(f"member:{r.member}" for r in p.members)})
            out[name] = SiteTruth(p.country, name in trained, finding, parties)
        return out


def sites(
    w: World,
    prefix: str,
    n: int,
    country: str,
    *,
    finding_every: int = 3,
    q2: bool = True,
    members: Iterable[Ref] = (),
) -> list[str]:
    names = []
    for i in range(n):
        name = w.site(f"{prefix}{i}", country=country, members=members)
        if q2:
            findings = [(WAGES, Severity.MAJOR)] if i % finding_every == 0 else []
            w.audit(f"a-{name}", name, *findings, end=Q2)
        names.append(name)
    return names


def release(w: World, at: datetime, log: ReleaseLog | None = None) -> list[tuple[str, bytes, bytes, Any]]:
    plan = plan_release(w.state(), log if log is not None else ReleaseLog(), PARAMS, at)
    return [r for r in plan.records if r[0] != RELEASE_STATE_TOPIC]


def cb(
    records: Iterable[tuple[str, bytes, bytes, Any]], country: str, topic: str = "WAGES"
) -> dict[str, Any]:
    key = json.dumps(
        {"country": country, "period": "2026-Q1", "topic": topic}, sort_keys=True, separators=(",", ":")
    )
    messages = [json.loads(v) for t, k, v, _ in records if t == CB_TOPIC and k.decode() == key]
    assert messages, key
    last: dict[str, Any] = messages[-1]
    return last


def test_a_site_trained_on_two_topics_counts_once_in_each() -> None:
    w = World()
    sites(w, "s", 6, "BD")
    w.train("s0", Issue.WAGES, Issue.WORKING_HOURS, participants=3)
    w.train("s0", Issue.WAGES, participants=2, day=date(2026, 3, 1))
    w.train("s1", Issue.HEALTH_SAFETY)
    state = w.state()
    cells = engine_cells(state, Q2_CLOSED, "quarter")
    wages = cells['{"country":"BD","period":"2026-Q1","topic":"WAGES"}']
    hours = cells['{"country":"BD","period":"2026-Q1","topic":"WORKING_HOURS"}']
    assert (wages["sites_trained"], wages["participants"]) == (1, 5)
    assert (hours["sites_trained"], hours["participants"]) == (1, 3)
    assert cells['{"country":"ALL","period":"2026-Q1","topic":"HEALTH_SAFETY"}']["sites_trained"] == 1
    # The trained site is in WAGES's trained group, every other audited site in its untrained group.
    assert len(wages["_trained_group"]) == 1 and len(wages["_untrained_group"]) == 5


def test_a_training_of_a_site_that_does_not_contribute_counts_nowhere() -> None:
    w = World()
    sites(w, "s", 6, "BD")
    w.site("gone", country="BD")
    w.site("silent", country="BD", company="quiet")
    w.train("gone", Issue.WAGES)
    w.train("silent", Issue.WAGES)
    w.remove("gone")
    w.withdraw_consent("quiet")
    assert engine_cells(w.state(), Q2_CLOSED, "quarter") == {}


def test_while_the_next_period_is_open_both_rates_are_null_and_appear_once_it_closes() -> None:
    w = scenario_large_groups()
    log = ReleaseLog()
    first = plan_release(w.state(), log, PARAMS, Q2_OPEN)
    msg = cb(first.records, "ALL")
    assert msg["status"] == "published" and msg["revision"] == 0
    assert (
        msg["measures"]["issue_rate_trained_pct"] is None
        and msg["measures"]["issue_rate_untrained_pct"] is None
    )
    later = plan_release(w.state(), log, PARAMS, Q2_CLOSED)
    msg = cb(later.records, "ALL")
    assert msg["revision"] == 1
    assert msg["measures"]["issue_rate_trained_pct"] is not None
    assert msg["measures"]["issue_rate_untrained_pct"] is not None


# --- the cross-table attack -----------------------------------------------------------------------------


def scenario_small_trained_group() -> World:
    """One country: 40 sites audited in 2026-Q2, of which 3 were trained on WAGES in 2026-Q1 (one with a
    WAGES finding), and 4 more trained sites not audited then (the cell passes its threshold)."""
    w = World()
    names = sites(w, "s", 40, "BD", finding_every=4)
    sites(w, "t", 4, "BD", q2=False)
    for name in [*names[:3], "t0", "t1", "t2", "t3"]:
        w.train(name, WAGES)
    return w


def scenario_country_vs_all() -> World:
    """BD: 60 sites audited in Q2, 22 trained; VN: 30, 3 trained (+3 trained, not audited). The ALL
    trained group (25) and BD's (22) pass; VN's (3) does not."""
    w = World()
    bd = sites(w, "b", 60, "BD")
    vn = sites(w, "v", 30, "VN", finding_every=2)
    sites(w, "x", 3, "VN", q2=False)
    for name in [*bd[:22], *vn[:3], "x0", "x1", "x2"]:
        w.train(name, WAGES)
    return w


def scenario_large_groups() -> World:
    """BD: 60 sites audited in Q2, 22 trained; VN: 50, 25 trained. Every group, country and ALL, passes
    the primary rules, so the populations-only recovery rule lets every rate show."""
    w = World()
    bd = sites(w, "b", 60, "BD")
    vn = sites(w, "v", 50, "VN", finding_every=2)
    for name in [*bd[:22], *vn[:25]]:
        w.train(name, WAGES)
    return w


def scenario_one_group_fails_insider() -> World:
    """BD: 75 sites audited in Q2: 40 trained, 35 not, 33 of which list the member M (the untrained group
    fails the insider rule, the trained one passes). KH: 2 sites audited in Q2, which issue-prevalence
    suppresses, and so it withholds BD's country cell too: the split of BD is not pinned. Both ALL
    groups pass on their own, but beside the ALL cell, which shows no outcomes, one of them must be
    withheld: the smaller, untrained one (37 sites against 40)."""
    w = World()
    trained = sites(w, "b", 40, "BD")
    sites(w, "m", 33, "BD", members=[Ref("M")])
    sites(w, "o", 2, "BD", finding_every=1)
    sites(w, "k", 2, "KH", finding_every=2)
    for name in trained:
        w.train(name, WAGES)
    return w


SCENARIOS = {
    "small trained group beside a published issue-prevalence cell": scenario_small_trained_group,
    "country groups beside the ALL margin": scenario_country_vs_all,
}


def attacked(w: World) -> list[str]:
    held = view(release(w, Q2_CLOSED))
    return attack(held, "2026-Q1", "2026-Q2", "WAGES", w.truth(WAGES))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_cross_table_attack_finds_nothing(name: str) -> None:
    assert attacked(SCENARIOS[name]()) == []


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_cross_table_attack_succeeds_with_the_protection_switched_off(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the group family's view rules (only each group's own primary rules), a rate is shown
    beside a withheld one, and the attacker pins the withheld group's count."""
    monkeypatch.setattr(capacity_building, "first_violation", lambda *args, **kwargs: None)
    found = attacked(SCENARIOS[name]())
    assert found and all("capacity-building" in f or "issue-prevalence" in f for f in found), found


def test_a_group_that_fails_on_its_own_nulls_its_rate_not_the_others() -> None:
    w = scenario_one_group_fails_insider()
    records = release(w, Q2_CLOSED)
    bd = cb(records, "BD")["measures"]
    assert bd["issue_rate_trained_pct"] is not None
    assert bd["issue_rate_untrained_pct"] is None
    assert attack(view(records), "2026-Q1", "2026-Q2", "WAGES", w.truth(WAGES)) == []


def test_a_small_group_beside_a_published_country_cell_nulls_its_country_and_all_not_the_others() -> None:
    """BD: 60 sites audited in Q2, 22 trained; VN: 40, 10 trained (below outcome_min). Both country
    cells of issue-prevalence show outcomes. VN's untrained rate would give its trained one away
    (their counts add up to VN's published one), and so would the ALL rates (minus BD's): those go.
    Once neither VN group shows, what VN's published cell pins is its own business (all or none of its
    sites had the finding), so BD, whose groups both pass, keeps both rates."""
    w = World()
    bd = sites(w, "b", 60, "BD")
    vn = sites(w, "v", 40, "VN", finding_every=2)
    for name in [*bd[:22], *vn[:10]]:
        w.train(name, WAGES)
    records = release(w, Q2_CLOSED)
    rates = {c: cb(records, c)["measures"] for c in ("BD", "VN", "ALL")}
    assert rates["BD"]["issue_rate_trained_pct"] is not None
    assert rates["BD"]["issue_rate_untrained_pct"] is not None
    for country in ("VN", "ALL"):
        assert rates[country]["issue_rate_trained_pct"] is None
        assert rates[country]["issue_rate_untrained_pct"] is None
    assert attack(view(records), "2026-Q1", "2026-Q2", "WAGES", w.truth(WAGES)) == []


def test_a_small_group_nulls_both_rates_where_the_other_would_give_it_away() -> None:
    bd = cb(release(scenario_small_trained_group(), Q2_CLOSED), "BD")["measures"]
    assert bd["sites_trained"] == 7
    assert bd["issue_rate_trained_pct"] is None and bd["issue_rate_untrained_pct"] is None


# --- registry and the differential-privacy mode ---------------------------------------------------------


def test_the_table_is_registered() -> None:
    assert CAPACITY_BUILDING in TABLES


def test_the_differential_privacy_mode_refuses_capacity_building() -> None:
    with pytest.raises(NoiseParamsError, match="capacity-building"):
        NoiseParams(frozenset({CAPACITY_BUILDING}))


def test_a_rate_changes_only_when_k_delta_sites_changed_under_the_message() -> None:
    """One untrained site gains a finding on the topic (another only changes severity): the ALL cell
    keeps its last release (held); four more gain one: five changed, it is re-sent with the new rate."""
    w = scenario_large_groups()
    log = ReleaseLog()
    first = cb(plan_release(w.state(), log, PARAMS, Q2_CLOSED).records, "ALL")
    assert first["measures"]["issue_rate_untrained_pct"] is not None
    w.audit("a-b30", "b30", (WAGES, Severity.MINOR), end=Q2)  # had a major one: no change to the rates
    w.audit("a-b31", "b31", (WAGES, Severity.MINOR), end=Q2)  # had none: one site changed
    held = plan_release(w.state(), log, PARAMS, Q2_CLOSED + timedelta(hours=1))
    assert not [r for r in held.records if r[0] == CB_TOPIC and b'"country":"ALL"' in r[1]]
    assert held.held > 0
    for i in (32, 34, 35, 37):
        w.audit(f"a-b{i}", f"b{i}", (WAGES, Severity.MINOR), end=Q2)
    again = cb(plan_release(w.state(), log, PARAMS, Q2_CLOSED + timedelta(hours=2)).records, "ALL")
    assert again["revision"] == 1
    assert again["measures"]["issue_rate_untrained_pct"] > first["measures"]["issue_rate_untrained_pct"]
