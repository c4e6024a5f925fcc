"""Tests of the reference computation itself, on tiny hand-written feeds and on one simulator feed."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, date, datetime
from typing import Any

import pytest

from simulator.feed import AMFORI_TOPIC, SEDEX_TOPIC, generate_feed
from simulator.message import FeedMessage, encode
from tests.fixtures.examples import sedex_audit_payload
from tests.services.aggregate.reference import (
    ALL,
    INDICATORS,
    ISSUES,
    address_key,
    cell_key,
    clean,
    compute,
    forced_labour,
    issue_prevalence,
    pct,
    populations,
    sites,
)

_ids = itertools.count(1)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _iso(hours: int) -> str:
    return datetime.fromtimestamp(T0.timestamp() + hours * 3600, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(hours: int) -> int:
    return int(T0.timestamp() + hours * 3600) * 1000


def _day_ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 1000


def _uuid() -> str:
    return f"00000000-0000-4000-8000-{next(_ids):012d}"


def sedex(
    etype: str,
    version: int,
    company: str,
    payload: dict[str, Any],
    site: str | None = None,
    hours: int = 0,
    expect: str = "valid",
) -> FeedMessage:
    obj: dict[str, Any] = {
        "schemaVersion": 1,
        "eventId": _uuid(),
        "eventType": etype,
        "occurredAt": _iso(hours),
        "entityVersion": version,
        "companyRef": company,
    }
    if site is not None:
        obj["siteRef"] = site
    obj["payload"] = payload
    key = (site or company).encode()
    return FeedMessage(SEDEX_TOPIC, key, encode(obj), [], etype, expect)


def amfori(
    etype: str,
    version: int,
    company: str,
    data: dict[str, Any],
    site: str | None = None,
    hours: int = 0,
    expect: str = "valid",
) -> FeedMessage:
    obj: dict[str, Any] = {
        "specVersion": "1",
        "id": _uuid(),
        "type": etype,
        "timestamp": _ms(hours),
        "version": version,
        "legalEntityAmforiId": company,
    }
    if site is not None:
        obj["siteAmforiId"] = site
    obj["data"] = data
    key = (site or company).encode()
    return FeedMessage(AMFORI_TOPIC, key, encode(obj), [], etype, expect)


def sedex_site(
    site: str = "ZS1000001",
    company: str = "ZC1000001",
    version: int = 1,
    hours: int = 0,
    name: str = "Sunrise Garments Ltd",
    street: str = "12 Mill Road",
    city: str = "Gazipur",
    country: str = "BD",
    os_id: str | None = None,
    unspsc: str = "53101500",
    customers: list[dict[str, str]] | None = None,
) -> FeedMessage:
    payload: dict[str, Any] = {
        "siteName": name,
        "address": {"street": street, "city": city, "country": country},
    }
    if os_id:
        payload["osId"] = os_id
    payload["productCategory"] = {"unspsc": unspsc}
    payload["workers"] = {"total": 120, "female": 80, "migrant": 5, "temporary": 10}
    payload["linkedCustomers"] = customers if customers is not None else [{"companyRef": "ZC9000001"}]
    return sedex("SiteUpserted", version, company, payload, site, hours)


def amfori_site(
    site: str = "050-0012345-001",
    company: str = "050-0012345",
    version: int = 1,
    hours: int = 0,
    name: str = "Sunrise Garments Ltd",
    street: str = "12 Mill Road",
    city: str = "Gazipur",
    numeric: str = "050",
    os_id: str | None = None,
    gics: str = "25203010",
    partners: list[dict[str, str]] | None = None,
) -> FeedMessage:
    data: dict[str, Any] = {
        "name": name,
        "localName": "সূর্যোদয় গার্মেন্টস",
        "address": {"street": street, "city": city, "country": {"numeric": numeric, "name": "x"}},
    }
    if os_id:
        data["osId"] = os_id
    data["gicsSubIndustry"] = gics
    data["workforce"] = {"total": 120, "femalePct": 60.0, "migrantPct": 2.0}
    data["businessPartners"] = (
        partners if partners is not None else [{"amforiId": "276-0001234", "role": "RSP_HOLDER"}]
    )
    return amfori("site.updated", version, company, data, site, hours)


def nc(
    clause: str, severity: str = "Major", kind: str = "NonCompliance", tags: list[str] | None = None
) -> dict[str, Any]:
    f: dict[str, Any] = {"findingRef": f"NC-{next(_ids)}", "type": kind, "clause": clause}
    if kind in ("NonCompliance", "CollaborativeActionRequired"):
        f["severity"] = severity
    f["flTags"] = tags or []
    f["description"] = "text"
    return f


def sedex_audit(
    findings: list[dict[str, Any]],
    audit: str = "SMETA-2026-0000001",
    site: str = "ZS1000001",
    company: str = "ZC1000001",
    version: int = 1,
    methodology: str = "7.0",
    end: str = "2026-02-11",
    hours: int = 1,
    etype: str = "AuditPublished",
) -> FeedMessage:
    payload = sedex_audit_payload(
        auditRef=audit,
        methodology={"scheme": "SMETA", "version": methodology, "pillars": 4},
        announcement="Announced",
        auditStart=end,
        auditEnd=end,
        findings=findings,
    )
    return sedex(etype, version, company, payload, site, hours)


def pa_finding(crucial: bool, answer: str, indicators: list[str] | None = None) -> dict[str, Any]:
    return {
        "findingId": f"F-{next(_ids)}",
        "questionRef": "PA6.Q3",
        "crucial": crucial,
        "answer": answer,
        "indicators": indicators or [],
        "comment": "text",
    }


def monitoring(
    areas: list[dict[str, Any]],
    zero_tolerance: list[dict[str, Any]] | None = None,
    monitoring_id: str = "MON-1",
    site: str = "050-0012345-001",
    company: str = "050-0012345",
    version: int = 1,
    day: str = "2026-02-17",
    hours: int = 1,
) -> FeedMessage:
    data = {
        "monitoringId": monitoring_id,
        "monitoringInitiative": "amfori BSCI",
        "methodologyVersion": "2.0",
        "monitoringType": "FULL_AUDIT",
        "announcementType": "SEMI_ANNOUNCED",
        "auditDate": _day_ms(day),
        "manDays": 3.5,
        "auditingCompany": {"name": "Example Assurance Ltd", "apscaFirmId": "APSCA-F-00123"},
        "auditor": {"name": "B. Auditor"},
        "overallRating": "C",
        "performanceAreas": areas,
        "zeroTolerance": zero_tolerance or [],
        "workersVoice": {
            "union": "ABSENT",
            "workersRepresentative": "ELECTED",
            "cba": False,
            "grievanceChannel": True,
        },
    }
    etype = "monitoring.completed" if version == 1 else "monitoring.updated"
    return amfori(etype, version, company, data, site, hours)


def redeliver(m: FeedMessage) -> FeedMessage:
    return FeedMessage(m.topic, m.key, m.value, m.headers, m.kind, "redelivery")


def total(feed: list[FeedMessage], period: str = "2026-Q1") -> dict[str, Any]:
    return compute(feed).forced_labour.get(cell_key(country=ALL, period=period, sector=ALL), {})


def cell(feed: list[FeedMessage], issue: str, period: str = "2026-Q1", **coords: str) -> dict[str, Any]:
    key = cell_key(
        country=coords.get("country", ALL), issue=issue, period=period, sector=coords.get("sector", ALL)
    )
    return compute(feed).issue_prevalence[key]


# --- helpers ---------------------------------------------------------------------------------------------


def test_clean_and_address_key() -> None:
    assert clean("  Çınar  Denetim, A.Ş. ") == "cinar denetim a s"
    assert clean("Unit-3/B (Gate 2)") == "unit 3 b gate 2"
    assert address_key("Sunrise Garments Ltd.", "12, Mill Road", "GAZIPUR", "BD") == (
        "sunrise garments ltd|12 mill road|gazipur|BD"
    )


def test_pct_rounds_half_up() -> None:
    assert pct(1, 16) == 6.3  # 6.25: half up, where float round() would give 6.2
    assert pct(1, 8) == 12.5
    assert pct(2, 3) == 66.7
    assert pct(1, 6) == 16.7
    assert pct(0, 7) == 0.0
    assert pct(7, 7) == 100.0
    assert pct(1, 400) == 0.3  # 0.25


def test_cell_key_is_compact_sorted_json() -> None:
    key = cell_key(sector="APPAREL_TEXTILES", period="2026-Q1", issue="WAGES", country="BD")
    assert key == '{"country":"BD","issue":"WAGES","period":"2026-Q1","sector":"APPAREL_TEXTILES"}'


# --- sites and resolution --------------------------------------------------------------------------------


def test_one_audited_site_fills_every_issue_cell_and_all_margins() -> None:
    feed = [sedex_site(), sedex_audit([nc("5", "Minor")])]
    ref = compute(feed)
    assert set(ref.populations) == {
        cell_key(country=c, period="2026-Q1", sector=s)
        for c in ("BD", ALL)
        for s in ("APPAREL_TEXTILES", ALL)
    }
    assert len(ref.issue_prevalence) == 4 * len(ISSUES)
    assert cell(feed, "WAGES", country="BD", sector="APPAREL_TEXTILES") == {
        "audited_sites": 1,
        "sites_with_issue": 1,
        "by_severity": {"critical": 0, "major": 0, "minor": 1},
        "rate_pct": 100.0,
    }
    assert cell(feed, "CHILD_LABOUR") == {
        "audited_sites": 1,
        "sites_with_issue": 0,
        "by_severity": {"critical": 0, "major": 0, "minor": 0},
        "rate_pct": 0.0,
    }
    assert total(feed) == {
        "audited_sites": 1,
        "sites_with_indicator": 0,
        "by_indicator": dict.fromkeys(INDICATORS, 0),
    }


def test_same_os_id_on_both_platforms_counts_once() -> None:
    os_id = "BD2026001ABC123"
    feed = [
        sedex_site(os_id=os_id, name="Sunrise"),
        amfori_site(os_id=os_id, name="Completely different name", street="Elsewhere 1"),
        sedex_audit([nc("6", "Minor")]),
        monitoring([{"pa": 6, "rating": "D", "findings": [pa_finding(True, "NO")]}]),
    ]
    ref = compute(feed)
    assert set(ref.sites) == {os_id}
    assert ref.sites[os_id].platform_sites == {("sedex", "ZS1000001"), ("amfori", "050-0012345-001")}
    assert ref.sites[os_id].owners == {"sedex:ZC1000001", "amfori:050-0012345"}
    assert ref.populations[cell_key(country=ALL, period="2026-Q1", sector=ALL)] == {os_id}
    # The site's highest severity on the issue over both platforms' audits.
    assert cell(feed, "WORKING_HOURS")["by_severity"] == {"critical": 0, "major": 1, "minor": 0}


def test_same_address_key_without_os_id_counts_once() -> None:
    feed = [
        sedex_site(name="Sunrise Garments Ltd.", street="12, Mill Road", city="Gazipur"),
        amfori_site(name="SUNRISE GARMENTS LTD", street="12 Mill  Road", city="gazipur"),
        sedex_audit([]),
        monitoring([]),
    ]
    ref = compute(feed)
    key = "sunrise garments ltd|12 mill road|gazipur|BD"
    assert set(ref.sites) == {key}
    assert total(feed)["audited_sites"] == 1


def test_address_match_takes_the_smallest_os_id_of_existing_sites() -> None:
    feed = [
        sedex_site(site="ZS1000001", company="ZC1000001", os_id="BD2026009ZZZ999"),
        sedex_site(site="ZS1000002", company="ZC1000002", os_id="BD2026001AAA111"),
        amfori_site(),  # same address, no osId
    ]
    ref = compute(feed)
    assert ref.resolution[("amfori", "050-0012345-001")] == "BD2026001AAA111"
    # Once the smaller one is removed, the next smallest among existing sites.
    feed.append(sedex("SiteRemoved", 2, "ZC1000002", {}, "ZS1000002", hours=5))
    assert compute(feed).resolution[("amfori", "050-0012345-001")] == "BD2026009ZZZ999"


def test_different_countries_do_not_match() -> None:
    feed = [sedex_site(country="BD"), amfori_site(numeric="356"), sedex_audit([]), monitoring([])]
    ref = compute(feed)
    assert len(ref.sites) == 2
    assert {s.country for s in ref.sites.values()} == {"BD", "IN"}
    assert total(feed)["audited_sites"] == 2


def test_country_sector_and_principal_owner_from_most_recent_site_event() -> None:
    os_id = "BD2026001ABC123"
    feed = [
        sedex_site(os_id=os_id, hours=0, unspsc="53111600"),  # footwear
        amfori_site(os_id=os_id, hours=3, gics="30201010"),  # food (prefix 302)
        sedex_audit([]),
    ]
    site = compute(feed).sites[os_id]
    assert (site.sector, site.principal_owner) == ("FOOD_AGRICULTURE", "amfori:050-0012345")
    feed.append(sedex_site(os_id=os_id, version=2, hours=7, unspsc="53111600"))
    site = compute(feed).sites[os_id]
    assert (site.sector, site.principal_owner) == ("FOOTWEAR_LEATHER", "sedex:ZC1000001")
    # A tie in time goes to "amfori" (sorts before "sedex").
    feed.append(amfori_site(os_id=os_id, version=2, hours=7, gics="99999999"))
    site = compute(feed).sites[os_id]
    assert (site.sector, site.principal_owner) == ("OTHER", "amfori:050-0012345")


def test_members_merge_by_lei() -> None:
    lei = "5493001KJTIIGC8Y1R12"
    feed = [
        sedex_site(
            os_id="BD2026001ABC123",
            customers=[{"companyRef": "ZC9000001", "lei": lei}, {"companyRef": "ZC9000002"}],
        ),
        amfori_site(
            os_id="BD2026001ABC123",
            partners=[
                {"amforiId": "276-0001234", "role": "RSP_HOLDER", "lei": lei},
                {"amforiId": "276-0009999", "role": "PARTNER"},
            ],
        ),
    ]
    members = sites(feed)["BD2026001ABC123"].members
    assert members == {f"lei:{lei}", "sedex:ZC9000002", "amfori:276-0009999"}


# --- versions, redeliveries, removal, consent ------------------------------------------------------------


def test_stale_version_is_ignored_whenever_it_arrives() -> None:
    v1 = sedex_audit([nc("5", "Critical")], version=1)
    v2 = sedex_audit([nc("5", "Minor")], version=2, etype="AuditRevised", hours=2)
    stale = FeedMessage(v1.topic, v1.key, v1.value, v1.headers, v1.kind, "stale")
    for feed in ([sedex_site(), v1, v2, stale], [stale, v2, sedex_site()]):
        assert cell(feed, "WAGES")["by_severity"] == {"critical": 0, "major": 0, "minor": 1}
    # A stale site version (older address, other country) changes nothing either.
    old_site = sedex_site(version=1, country="VN")
    feed = [sedex_site(version=2, hours=1), old_site, sedex_audit([])]
    assert {s.country for s in sites(feed).values()} == {"BD"}


def test_redelivery_is_ignored() -> None:
    site, audit = sedex_site(), sedex_audit([nc("3", "Major")])
    removed = sedex("SiteRemoved", 2, "ZC1000001", {}, "ZS1000001", hours=5)
    base = [site, audit]
    again = [site, audit, redeliver(audit), redeliver(site), redeliver(audit)]
    assert compute(again).issue_prevalence == compute(base).issue_prevalence
    # A late redelivery of the upsert does not bring a removed site back.
    assert total([site, audit, removed, redeliver(site)]) == {}


def test_removal_removes_the_site_and_its_audits() -> None:
    feed = [sedex_site(), amfori_site(street="Other street 9"), sedex_audit([]), monitoring([])]
    assert total(feed)["audited_sites"] == 2
    feed.append(amfori("site.deleted", 2, "050-0012345", {}, "050-0012345-001", hours=9))
    assert total(feed)["audited_sites"] == 1
    assert len(sites(feed)) == 1


def test_audit_withdrawal_removes_the_audit() -> None:
    feed = [sedex_site(), sedex_audit([nc("5")]), sedex_audit([], audit="SMETA-2", end="2026-05-02")]
    assert set(populations(feed)) >= {cell_key(country=ALL, period="2026-Q1", sector=ALL)}
    feed.append(sedex("AuditWithdrawn", 2, "ZC1000001", {"auditRef": "SMETA-2026-0000001"}, "ZS1000001"))
    keys = {json.loads(k)["period"] for k in populations(feed)}
    assert keys == {"2026-Q2"}
    feed.append(monitoring([], day="2026-03-31"))
    feed.append(amfori_site(street="Elsewhere"))
    feed.append(
        amfori("monitoring.cancelled", 2, "050-0012345", {"monitoringId": "MON-1"}, "050-0012345-001")
    )
    assert {json.loads(k)["period"] for k in populations(feed)} == {"2026-Q2"}


def test_audit_before_its_site_waits_for_it() -> None:
    audit = sedex_audit([nc("6")])
    assert compute([audit]).issue_prevalence == {}
    assert cell([audit, sedex_site(hours=5)], "WORKING_HOURS")["sites_with_issue"] == 1


def test_consent_withdrawal_removes_and_regrant_restores() -> None:
    feed = [sedex_site(), amfori_site(street="Other 1"), sedex_audit([]), monitoring([])]
    withdraw = amfori(
        "consent.updated", 1, "050-0012345", {"purpose": "aggregate-exchange", "status": "REVOKED"}
    )
    regrant = amfori(
        "consent.updated", 2, "050-0012345", {"purpose": "aggregate-exchange", "status": "GRANTED"}, hours=3
    )
    assert total(feed)["audited_sites"] == 2
    assert total([*feed, withdraw])["audited_sites"] == 1
    assert total([*feed, withdraw, regrant])["audited_sites"] == 2
    assert total([*feed, regrant, withdraw])["audited_sites"] == 2  # versions, not arrival, decide
    sedex_off = sedex("ConsentChanged", 1, "ZC1000001", {"scope": "AGGREGATE_EXCHANGE", "granted": False})
    assert total([*feed, withdraw, sedex_off]) == {}
    sedex_on = sedex("ConsentChanged", 2, "ZC1000001", {"scope": "AGGREGATE_EXCHANGE", "granted": True})
    assert total([*feed, withdraw, sedex_off, sedex_on])["audited_sites"] == 1


def test_consent_default_can_be_inverted() -> None:
    feed = [sedex_site(), sedex_audit([])]
    assert compute(feed, consent_default=False).populations == {}
    grant = sedex("ConsentChanged", 1, "ZC1000001", {"scope": "AGGREGATE_EXCHANGE", "granted": True})
    assert len(compute([*feed, grant], consent_default=False).populations) == 4


def test_withdrawn_site_takes_no_part_in_resolution() -> None:
    feed = [
        sedex_site(os_id="BD2026001ABC123"),
        amfori_site(),  # same address, no osId: resolves to the Sedex site's osId
        monitoring([]),
    ]
    assert set(sites(feed)) == {"BD2026001ABC123"}
    off = sedex("ConsentChanged", 1, "ZC1000001", {"scope": "AGGREGATE_EXCHANGE", "granted": False})
    assert set(sites([*feed, off])) == {"sunrise garments ltd|12 mill road|gazipur|BD"}


# --- findings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("methodology", "issue"), [("6.1", "RESPONSIBLE_RECRUITMENT"), ("7.0", "ENVIRONMENT")]
)
def test_clause_10a_depends_on_methodology(methodology: str, issue: str) -> None:
    feed = [sedex_site(), sedex_audit([nc("10A", "Minor")], methodology=methodology)]
    with_issue = {i for i in ISSUES if cell(feed, i)["sites_with_issue"]}
    assert with_issue == {issue}


def test_observations_and_good_examples_count_nowhere() -> None:
    feed = [
        sedex_site(),
        sedex_audit(
            [
                nc("1", kind="Observation", tags=["ID_RETAINED"]),
                nc("6", kind="GoodExample"),
                nc("5", "Minor", kind="CollaborativeActionRequired", tags=["WAGES_WITHHELD"]),
            ]
        ),
    ]
    with_issue = {i for i in ISSUES if cell(feed, i)["sites_with_issue"]}
    assert with_issue == {"WAGES"}
    fl = total(feed)
    assert fl["sites_with_indicator"] == 1
    assert {k for k, v in fl["by_indicator"].items() if v} == {"WITHHOLDING_OF_WAGES"}
    assert fl["audited_sites"] == 1


def test_highest_severity_per_site_and_indicators_counted_once_per_site() -> None:
    feed = [
        sedex_site(),
        sedex_audit([nc("1", "Minor", tags=["DEBT", "RECRUITMENT_FEES"]), nc("1", "Critical")]),
        sedex_audit([nc("1", "Major", tags=["ID_RETAINED"])], audit="SMETA-2", end="2026-03-01"),
    ]
    assert cell(feed, "FORCED_LABOUR")["by_severity"] == {"critical": 1, "major": 0, "minor": 0}
    fl = total(feed)
    assert fl["sites_with_indicator"] == 1
    assert {k: v for k, v in fl["by_indicator"].items() if v} == {
        "DEBT_BONDAGE": 1,
        "RETENTION_OF_IDENTITY_DOCUMENTS": 1,
    }


def test_amfori_severity_and_indicators() -> None:
    areas = [
        {"pa": 6, "rating": "D", "findings": [pa_finding(True, "NO", ["OVERTIME_EXCESSIVE"])]},
        {"pa": 11, "rating": "C", "findings": [pa_finding(True, "PARTIALLY", ["DOCUMENT_RETENTION"])]},
        {"pa": 5, "rating": "C", "findings": [pa_finding(False, "NO")]},
        {"pa": 1, "rating": "A", "findings": []},
    ]
    feed = [amfori_site(), monitoring(areas)]
    assert cell(feed, "WORKING_HOURS")["by_severity"] == {"critical": 0, "major": 1, "minor": 0}
    assert cell(feed, "FORCED_LABOUR")["by_severity"] == {"critical": 0, "major": 0, "minor": 1}
    assert cell(feed, "WAGES")["by_severity"] == {"critical": 0, "major": 0, "minor": 1}
    assert cell(feed, "MANAGEMENT_SYSTEMS")["sites_with_issue"] == 0
    by = total(feed)["by_indicator"]
    assert {k for k, v in by.items() if v} == {"EXCESSIVE_OVERTIME", "RETENTION_OF_IDENTITY_DOCUMENTS"}


def test_zero_tolerance_is_critical_and_forced_labour_adds_abuse_of_vulnerability() -> None:
    zt = [
        {"findingId": "ZT-1", "category": "FORCED_LABOUR", "comment": "x"},
        {"findingId": "ZT-2", "category": "BRIBERY", "comment": "x"},
    ]
    areas = [{"pa": 13, "rating": "C", "findings": [pa_finding(False, "PARTIALLY")]}]
    feed = [amfori_site(), monitoring(areas, zt)]
    assert cell(feed, "FORCED_LABOUR")["by_severity"] == {"critical": 1, "major": 0, "minor": 0}
    assert cell(feed, "BUSINESS_ETHICS")["by_severity"] == {"critical": 1, "major": 0, "minor": 0}
    fl = total(feed)
    assert fl["sites_with_indicator"] == 1
    assert {k for k, v in fl["by_indicator"].items() if v} == {"ABUSE_OF_VULNERABILITY"}
    hidden = [
        amfori_site(),
        monitoring([], [{"findingId": "Z", "category": "HIDDEN_PRODUCTION", "comment": ""}]),
    ]
    assert cell(hidden, "SUBCONTRACTING_HOMEWORK")["by_severity"]["critical"] == 1
    assert total(hidden)["sites_with_indicator"] == 0


def test_periods_are_quarters_of_the_audit_end_day() -> None:
    feed = [
        amfori_site(),
        monitoring([], day="2026-03-31", monitoring_id="M-1"),
        monitoring([], day="2026-04-01", monitoring_id="M-2"),
        sedex_site(street="Other"),
        sedex_audit([], end="2025-12-31"),
    ]
    assert {json.loads(k)["period"] for k in populations(feed)} == {"2025-Q4", "2026-Q1", "2026-Q2"}
    months = {json.loads(k)["period"] for k in compute(feed, granularity="month").populations}
    assert months == {"2025-12", "2026-03", "2026-04"}


def test_invalid_messages_are_skipped() -> None:
    bad = FeedMessage(SEDEX_TOPIC, b"ZS1", b"\xff\xfe not json", [], "x/not_utf8", "invalid:not_utf8")
    audit = sedex_audit([nc("5")])
    invalid_audit = FeedMessage(audit.topic, audit.key, audit.value, [], audit.kind, "invalid:key_mismatch")
    assert total([bad, sedex_site(), invalid_audit]) == {}


# --- a simulator feed ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Any:
    return generate_feed(3, 40, start=date(2025, 1, 1), months=6)


def _additive(measures: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in measures.items():
        if isinstance(value, dict):
            for k, v in value.items():
                out[f"{name}.{k}"] = v
        elif isinstance(value, int):
            out[name] = value
    return out


def _check_margins(table: dict[str, dict[str, Any]]) -> int:
    """Every margin equals the sum of the cells below it; returns how many sums were checked."""
    checked = 0
    groups: dict[tuple[tuple[str, str], ...], dict[tuple[str, str], dict[str, int]]] = {}
    for key, measures in table.items():
        coords = json.loads(key)
        rest = tuple(sorted((d, v) for d, v in coords.items() if d not in ("country", "sector")))
        groups.setdefault(rest, {})[(coords["country"], coords["sector"])] = _additive(measures)
    for cells in groups.values():
        inner = {cs: m for cs, m in cells.items() if ALL not in cs}
        countries = {c for c, _ in inner}
        sectors = {s for _, s in inner}
        for name in cells[(ALL, ALL)]:
            grand = cells[(ALL, ALL)][name]
            assert grand == sum(m[name] for m in inner.values())
            assert grand == sum(cells[(c, ALL)][name] for c in countries)
            assert grand == sum(cells[(ALL, s)][name] for s in sectors)
            for c in countries:
                assert cells[(c, ALL)][name] == sum(m[name] for (cc, _), m in inner.items() if cc == c)
            for s in sectors:
                assert cells[(ALL, s)][name] == sum(m[name] for (_, ss), m in inner.items() if ss == s)
            checked += 1
    return checked


def test_margins_add_up_on_a_simulator_feed(sim: Any) -> None:
    ref = compute(sim)
    assert ref.issue_prevalence and ref.forced_labour and ref.labour_relations
    assert _check_margins(ref.issue_prevalence) > 0
    assert _check_margins(ref.forced_labour) > 0
    assert _check_margins(ref.labour_relations) > 0
    for key, m in ref.issue_prevalence.items():
        assert sum(m["by_severity"].values()) == m["sites_with_issue"] <= m["audited_sites"]
        assert m["rate_pct"] == pct(m["sites_with_issue"], m["audited_sites"])
        coords = json.loads(key)
        del coords["issue"]
        assert m["audited_sites"] == len(ref.populations[cell_key(**coords)])
    for key, m in ref.forced_labour.items():
        assert set(m["by_indicator"]) == set(INDICATORS)
        assert max(m["by_indicator"].values()) <= m["sites_with_indicator"] <= m["audited_sites"]
        assert m["audited_sites"] == len(ref.populations[key]) >= 1
    # Every population site is a contributing site; each has one country and sector.
    for key, population in ref.populations.items():
        coords = json.loads(key)
        for site_id in population:
            site = ref.sites[site_id]
            assert coords["country"] in (ALL, site.country)
            assert coords["sector"] in (ALL, site.sector)
            assert site.principal_owner in site.owners


def test_simulator_feed_does_not_depend_on_arrival_order(sim: Any) -> None:
    ref = compute(sim)
    shuffled = list(sim.messages)
    random.Random(7).shuffle(shuffled)
    again = compute(shuffled)
    assert again.issue_prevalence == ref.issue_prevalence
    assert again.forced_labour == ref.forced_labour
    assert again.sites == ref.sites
    assert issue_prevalence(sim) == ref.issue_prevalence
    assert forced_labour(sim) == ref.forced_labour


def test_simulator_feed_merges_sites_across_platforms(sim: Any) -> None:
    ref = compute(sim)
    both = [s for s in ref.sites.values() if len({p for p, _ in s.platform_sites}) == 2]
    assert both, "the simulator's overlap should put some sites on both platforms"


def test_simulator_labels_agree_with_the_version_rule(sim: Any) -> None:
    """Dropping what the simulator labels redelivery or stale changes nothing: the reference found it too."""
    ref = compute(sim)
    assert sim.counts["redelivery"] and sim.counts["stale"]
    only_valid = compute([m for m in sim.messages if m.expect == "valid"])
    assert only_valid.issue_prevalence == ref.issue_prevalence
    assert only_valid.forced_labour == ref.forced_labour
    assert only_valid.sites == ref.sites
