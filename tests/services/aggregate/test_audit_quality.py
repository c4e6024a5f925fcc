"""The `audit-quality` table: its cells against the independent reference on simulator feeds, each
measure on crafted worlds (the 1- and 180-day bounds of critical_missed_pct, the same firm excluded,
the other platform counted, a follow-up of an open period counted, the null case), the >= 10-site
threshold and the insider rule on the table, the revision rule on a change made by a later audit, and
the differential-privacy mode refused."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.exchange.aggregates import AUDIT_QUALITY, AuditQualityMeasures, share_pct
from schemas.shared.models import Announcement
from schemas.taxonomy import Issue, Severity
from services.aggregate import disclosure
from services.aggregate.audit_quality import audit_quality
from services.aggregate.disclosure import DisclosureParams, Status
from services.aggregate.model import ALL, Cell, CellKey
from services.aggregate.noise import NoiseParams, NoiseParamsError
from services.aggregate.planner import plan_release
from services.aggregate.population import contributing
from services.aggregate.release import ReleaseLog
from services.aggregate.settings import AggregateSettings
from services.normalize.pseudonymise import IdKind
from simulator.feed import generate_feed
from tests.services.aggregate.hand_built import Q1_DAY, World, pid
from tests.services.aggregate.reference import sites as reference_sites
from tests.services.aggregate.reference_audit_quality import audit_quality as reference_audit_quality
from tests.services.aggregate.test_attacks import normalized
from tests.services.normalize.test_engine import PSEUDONYMS

F1, F2 = "APSCA-F-00123", "APSCA-F-00217"
Q1_RELEASE = datetime(2026, 5, 1, tzinfo=UTC)  # 2026-Q1 is closed, 2026-Q2 open


def cell(cells: list[Cell], firm: str = F1, country: str = ALL, period: str = "2026-Q1") -> Cell:
    key = CellKey.of(AUDIT_QUALITY, period=period, audit_firm=firm, country=country)
    return {c.key: c for c in cells}[key]


# --- against the reference --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [5, 11, 23])
def test_every_cell_equals_the_reference_on_a_simulator_feed(seed: int) -> None:
    feed = generate_feed(seed, 120, start=date(2025, 1, 1), months=12)
    state = normalized(feed.messages)
    cells = audit_quality(state)
    expected = reference_audit_quality(feed)
    got = {c.key.message_key().decode(): c for c in cells}
    assert set(got) == set(expected)
    # sites are matched through their platform sites (the reference's raw refs, pseudonymised)
    platform_sites = {rid: frozenset(r.platform_site_ids) for rid, r in state.resolved_sites.items()}
    ref_platform_sites = {
        s: frozenset(
            PSEUDONYMS.pseudonym(IdKind.PLATFORM_SITE, f"{p}:{ref}") for p, ref in site.platform_sites
        )
        for s, site in reference_sites(feed).items()
    }
    for key, ref in expected.items():
        c = got[key]
        assert {**c.population, **c.outcomes} == {k: v for k, v in ref.items() if not k.startswith("_")}, key
        assert c.labels == {"audit_firm_name": ref["_firm_name"]}
        assert {platform_sites[s] for s in c.sites} == {ref_platform_sites[s] for s in ref["_sites"]}
        counts = ref["_counts"]
        assert dict(c.additive) == {k: v for k, v in counts.items() if k != "findings"}
        AuditQualityMeasures.model_validate({**c.population, **c.outcomes})
    # not vacuous: the feed has follow-ups by other firms, some of which found what was missed
    assert sum(c.additive["critical_followed"] for c in cells if c.key.get("country") == ALL) > 0
    assert any(c.outcomes["critical_missed_pct"] not in (None, 0.0) for c in cells)


def test_the_reference_restricted_to_released_periods_names_firms_from_those_only() -> None:
    feed = generate_feed(5, 60, start=date(2025, 1, 1), months=9)
    state = normalized(feed.messages)
    periods = {"2025-Q1", "2025-Q2"}
    got = {c.key.message_key().decode(): c for c in audit_quality(state, periods=periods)}
    expected = reference_audit_quality(feed, periods=periods)
    assert set(got) == set(expected) and got
    assert all(got[k].labels["audit_firm_name"] == expected[k]["_firm_name"] for k in got)
    assert all(got[k].outcomes["critical_missed_pct"] == expected[k]["critical_missed_pct"] for k in got)


# --- each measure on crafted worlds -------------------------------------------------------------------


def test_audits_sites_shares_and_mean() -> None:
    w = World()
    a, b, c = w.site("a"), w.site("b"), w.site("c", country="CN")
    w.audit("a1", a, Q1_DAY, (Issue.WAGES, Severity.MAJOR), announcement=Announcement.UNANNOUNCED)
    w.audit("a2", a, date(2026, 3, 1), announcement=Announcement.SEMI_ANNOUNCED)  # same firm, same site
    w.audit("b1", b, Q1_DAY, (Issue.WAGES, Severity.MINOR), (Issue.HEALTH_SAFETY, Severity.MINOR))
    w.audit("c1", c, Q1_DAY, (Issue.WAGES, Severity.MINOR), announcement=Announcement.UNANNOUNCED)
    cells = audit_quality(w.state)
    total = cell(cells)
    assert total.population == {"audits": 4, "sites": 3}
    assert total.outcomes == {
        "unannounced_pct": 50.0,
        "semi_announced_pct": 25.0,
        "zero_finding_pct": 25.0,
        "mean_findings_per_audit": 1.0,
        "below_minimum_days_pct": 0.0,
        "critical_missed_pct": None,
    }
    bd = cell(cells, country="BD")
    assert bd.population == {"audits": 3, "sites": 2}
    assert bd.outcomes["mean_findings_per_audit"] == 1.0 and bd.outcomes["unannounced_pct"] == 33.3
    # an audit has one site and a site one country: every count adds up from countries to ALL
    cn = cell(cells, country="CN")
    assert all(total.additive[k] == bd.additive[k] + cn.additive[k] for k in total.additive)
    assert set(total.additive) == {
        "unannounced",
        "semi_announced",
        "zero_finding",
        "below_minimum_days",
        "critical_followed",
        "critical_missed",
    }
    # the key has the coordinates only; the firm's name is a label
    assert total.key.message_key() == b'{"audit_firm":"APSCA-F-00123","country":"ALL","period":"2026-Q1"}'
    assert total.labels == {"audit_firm_name": "Example Assurance Ltd"}


def test_a_mean_rounds_half_up() -> None:
    w = World()
    sites = [w.site(f"s{i}") for i in range(4)]
    for i, s in enumerate(sites):  # 0 + 0 + 0 + 1 findings = 0.25 -> 0.3
        w.audit(f"x{i}", s, Q1_DAY, *([(Issue.WAGES, Severity.MINOR)] if i == 3 else []))
    assert cell(audit_quality(w.state)).outcomes["mean_findings_per_audit"] == 0.3


@pytest.mark.parametrize(
    ("workforce", "days", "below"),
    [
        (50, 1.5, False),
        (50, 1.0, True),
        (51, 2.5, True),  # 51-250: 3 days
        (51, 3.0, False),
        (1200, 4.5, False),
        (1201, 4.5, True),  # more than 1200: 5 days
    ],
)
def test_below_minimum_days_follows_the_workforce_table(workforce: int, days: float, below: bool) -> None:
    w = World()
    w.audit("x", w.site("s", workforce=(workforce,)), Q1_DAY, days=days)
    assert cell(audit_quality(w.state)).additive["below_minimum_days"] == int(below)


def test_the_workforce_is_the_site_s_most_recent_site_event() -> None:
    """A site on two platforms: the workforce of its most recent site event (like its country)."""
    w = World()
    site = w.site("s", platforms=("sedex", "amfori"), workforce=(40, 300), updated=(5, 9))
    w.audit("x", site, Q1_DAY, days=3.0)  # 3 days: enough for 40 workers, below 3.5 for 300
    assert cell(audit_quality(w.state)).additive["below_minimum_days"] == 1
    held = w.state.platform_sites[pid("site", "sedex:s")]
    w.state.platform_sites[pid("site", "sedex:s")] = dataclasses.replace(held, updated_at_ms=10)
    assert cell(audit_quality(w.state)).additive["below_minimum_days"] == 0


def followed_world(
    gap_days: int, *, firm: str = F2, platform: str = "sedex", issue: Issue = Issue.WAGES
) -> World:
    w = World()
    site = w.site("s", platforms=("sedex", "amfori"))
    w.audit("first", site, Q1_DAY, (Issue.HEALTH_SAFETY, Severity.MINOR))
    later = Q1_DAY + timedelta(days=gap_days)
    w.audit("later", site, later, (issue, Severity.CRITICAL), firm=firm, platform=platform)
    return w


@pytest.mark.parametrize(("gap", "followed"), [(0, False), (1, True), (90, True), (180, True), (181, False)])
def test_critical_missed_counts_follow_ups_1_to_180_days_later(gap: int, followed: bool) -> None:
    first = cell(audit_quality(followed_world(gap).state))
    assert first.additive["critical_followed"] == int(followed)
    assert first.outcomes["critical_missed_pct"] == (100.0 if followed else None)


def test_an_earlier_audit_is_no_follow_up() -> None:
    w = followed_world(-30)
    first = cell(audit_quality(w.state))
    assert first.additive["critical_followed"] == 0 and first.outcomes["critical_missed_pct"] is None


def test_a_follow_up_by_the_same_firm_does_not_count() -> None:
    first = cell(audit_quality(followed_world(60, firm=F1).state))
    assert first.outcomes["critical_missed_pct"] is None


def test_a_follow_up_on_the_other_platform_counts() -> None:
    first = cell(audit_quality(followed_world(60, platform="amfori").state))
    assert first.outcomes["critical_missed_pct"] == 100.0


def test_a_critical_finding_on_an_issue_the_firm_reported_is_not_missed() -> None:
    """The firm reported health and safety (a minor finding); the later critical one is on it."""
    first = cell(audit_quality(followed_world(60, issue=Issue.HEALTH_SAFETY).state))
    assert first.additive["critical_followed"] == 1 and first.outcomes["critical_missed_pct"] == 0.0


def test_a_follow_up_in_an_open_period_counts_and_is_not_published() -> None:
    w = followed_world(100)  # 2026-05-12: 2026-Q2, open at the Q1 release
    cells = audit_quality(w.state, periods={"2026-Q1"})
    assert {c.key.period for c in cells} == {"2026-Q1"}
    assert cell(cells).outcomes["critical_missed_pct"] == 100.0


def test_a_follow_up_of_a_site_that_no_longer_exists_does_not_count() -> None:
    w = followed_world(60, platform="amfori")
    del w.state.platform_sites[pid("site", "amfori:s")]  # the amfori site was removed
    assert cell(audit_quality(w.state)).outcomes["critical_missed_pct"] is None


def test_the_firm_name_is_the_latest_reported_and_never_one_that_looks_like_an_id_or_a_date() -> None:
    w = World()
    a, b = w.site("a"), w.site("b", country="CN")
    w.audit("a1", a, Q1_DAY, firm_name="Old Name Ltd", event_ms=5)
    w.audit("b1", b, Q1_DAY, firm_name="New Name Ltd", event_ms=9)
    cells = audit_quality(w.state)
    assert {c.labels["audit_firm_name"] for c in cells} == {"New Name Ltd"}  # one name per firm
    w.audit("b1", b, Q1_DAY, firm_name="New Name 2026-05-01 k1.rsite.0123456789abcdef", event_ms=10)
    assert {c.labels["audit_firm_name"] for c in audit_quality(w.state)} == {"Old Name Ltd"}
    w.audit("a1", a, Q1_DAY, firm_name="Line one\nline two", event_ms=11)
    assert {c.labels["audit_firm_name"] for c in audit_quality(w.state)} == {F1}  # no name left: the id


def test_an_audit_firm_id_not_shaped_like_an_apsca_id_makes_no_cell() -> None:
    w = World()
    w.audit("x", w.site("s"), Q1_DAY, firm="k1.company.0123456789abcdef0123456789abcdef")
    assert audit_quality(w.state) == []


# --- disclosure control -------------------------------------------------------------------------------


def firm_world(
    n: int, *, owner_of: dict[int, str] | None = None, member_of: dict[int, str] | None = None
) -> World:
    w = World()
    for i in range(n):
        owner = (owner_of or {}).get(i)
        member = (member_of or {}).get(i)
        site = w.site(f"s{i}", owner=owner, members=[member] if member else [])
        w.audit(f"a{i}", site, Q1_DAY, (Issue.WAGES, Severity.MINOR))
    return w


DEFAULTS = DisclosureParams()


def status(w: World, params: DisclosureParams = DEFAULTS) -> Status:
    cells = audit_quality(w.state)
    decided = disclosure.decide(cells, contributing(w.state), params)
    return decided.status(cell(cells).key)


def test_an_audit_quality_cell_needs_ten_sites() -> None:
    assert status(firm_world(9)) is Status.SUPPRESSED  # enough for any other table (k_sites = 5)
    assert status(firm_world(10)) is Status.POPULATION_ONLY  # below outcome_min (20)
    assert status(firm_world(20)) is Status.PUBLISHED
    assert status(firm_world(14), DisclosureParams(audit_quality_min_sites=15)) is Status.SUPPRESSED


def test_the_insider_rule_holds_per_supplier_and_per_member() -> None:
    # one supplier owns 18 of 20 sites: it would see the other two
    assert status(firm_world(20, owner_of={i: "big" for i in range(18)})) is Status.SUPPRESSED
    assert status(firm_world(20, owner_of={i: "big" for i in range(17)})) is Status.PUBLISHED
    # one member is linked to 18 of 20 sites
    assert status(firm_world(20, member_of={i: "brand" for i in range(18)})) is Status.SUPPRESSED


def test_the_message_model_refuses_shares_that_no_count_gives_and_lets_critical_missed_alone_be_null() -> (
    None
):
    shown = {
        "audits": 20,
        "sites": 20,
        "unannounced_pct": 10.0,
        "semi_announced_pct": 35.0,
        "zero_finding_pct": 50.0,
        "mean_findings_per_audit": 1.3,
        "below_minimum_days_pct": 5.0,
        "critical_missed_pct": None,
    }
    AuditQualityMeasures.model_validate(shown)
    AuditQualityMeasures.model_validate({**shown, **dict.fromkeys(list(shown)[2:])})
    for bad in (
        {"unannounced_pct": 12.0},  # no count of 20 gives 12.0
        {"unannounced_pct": 70.0, "semi_announced_pct": 35.0},  # more than every audit
        {"sites": 21},
        {"zero_finding_pct": None},  # all or none, critical_missed_pct apart
        {"mean_findings_per_audit": 1.25},
    ):
        with pytest.raises(ValidationError):
            AuditQualityMeasures.model_validate({**shown, **bad})


# --- the revision rule on a change a later audit makes ---------------------------------------------------


def test_a_later_audit_of_an_open_period_changes_a_released_cell_only_under_the_revision_rule() -> None:
    """24 sites audited by F1 in Q1, released at the Q1 release. Later audits by F2 in Q2 (still open)
    find critical issues F1 did not report: each makes one site's contribution to F1's cell differ,
    so the cell is re-sent only once k_delta (5) real sites changed."""
    w = World()
    sites = [w.site(f"s{i}") for i in range(24)]
    for i, s in enumerate(sites):
        w.audit(f"f1-{i}", s, Q1_DAY)
    log = ReleaseLog()
    key = CellKey.of(AUDIT_QUALITY, period="2026-Q1", audit_firm=F1, country="BD")

    def release(hour: int) -> dict[str, Any] | None:
        plan = plan_release(w.state, log, DisclosureParams(), Q1_RELEASE + timedelta(hours=hour))
        for topic, k, value, _ in plan.records:
            if topic == "exchange.aggregates.audit-quality.v1" and k == key.message_key():
                doc: dict[str, Any] = json.loads(value)
                return doc
        return None

    first = release(0)
    assert first is not None and first["measures"]["critical_missed_pct"] is None
    assert first["cell"]["audit_firm_name"] == "Example Assurance Ltd"
    for i in range(4):
        w.audit(f"f2-{i}", sites[i], date(2026, 4, 20), (Issue.WAGES, Severity.CRITICAL), firm=F2)
    assert release(1) is None  # four changed sites: held
    w.audit("f2-4", sites[4], date(2026, 4, 20), (Issue.WAGES, Severity.CRITICAL), firm=F2)
    again = release(2)
    assert again is not None and again["revision"] == 1
    assert again["measures"]["critical_missed_pct"] == 100.0  # the five followed audits all missed
    assert all(k.period == "2026-Q1" for k, _ in log.items())  # nothing of the open Q2


# --- no differential-privacy mode -----------------------------------------------------------------


def test_the_noisy_mode_is_refused_for_audit_quality_with_a_reason() -> None:
    with pytest.raises(NoiseParamsError, match=r"audit-quality.*shares of audits"):
        NoiseParams(frozenset({"audit-quality", "forced-labour"}))
    with pytest.raises(NoiseParamsError, match="audit-quality"):
        AggregateSettings(dp_tables="forced-labour,audit-quality").noise_params()
    assert NoiseParams(frozenset({"forced-labour"})).enabled


def test_shares_are_exact_counts_at_these_sizes() -> None:
    """Why the numerators are additive: a one-decimal share of n <= 1000 audits gives its count back."""
    for n in (10, 37, 999):
        assert len({share_pct(k, n) for k in range(n + 1)}) == n + 1
