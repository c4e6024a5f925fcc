"""Golden tests: each amfori event type, through ingest's envelope, to its full shared output.

Mirrors test_sedex_golden.py event for event: each platform's own vocabulary, in and out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from schemas.shared import models as shared
from schemas.taxonomy import ForcedLabourIndicator as FL
from schemas.taxonomy import Issue, Sector, Severity, WorkforceBand
from services.normalize.mapping import Output, OutputKind
from services.normalize.pseudonymise import IdKind
from services.normalize.seal import Sealer
from tests.fixtures.examples import amfori_monitoring

from .expected import Expected, labour_relations

MapRaw = Callable[[dict[str, Any]], list[Output]]
Pseud = Callable[[IdKind, str], str]

TIMESTAMP = 1_771_405_200_000  # 2026-02-18T09:00:00Z


@pytest.fixture
def expect(P: Pseud) -> Expected:
    return Expected(P, "amfori", company_ref="050-0012345", site_ref="050-0012345-001", at_ms=TIMESTAMP)


def envelope(event_type: str, version: int, data: dict[str, Any], site: bool = True) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "specVersion": "1",
        "id": "0c8f9a3e-1d2b-4c5d-8e9f-a0b1c2d3e4f6",
        "type": event_type,
        "timestamp": TIMESTAMP,
        "version": version,
        "legalEntityAmforiId": "050-0012345",
        "data": data,
    }
    if site:
        raw["siteAmforiId"] = "050-0012345-001"
    return raw


def site_data() -> dict[str, Any]:
    return {
        "name": "Chattogram Denim Mills",
        "localName": "চট্টগ্রাম ডেনিম মিলস",
        "address": {
            "street": "Road 5, Kalurghat I/A",
            "city": "Chattogram",
            "zip": "4208",
            "country": {"numeric": "050", "name": "Bangladesh"},
        },
        "osId": "BD2019876XYZ789",
        "gicsSubIndustry": "25203030",
        "workforce": {"total": 1200, "femalePct": 61.5, "migrantPct": 0},
        "businessPartners": [
            {"amforiId": "528-0004321", "role": "PARTNER"},
            {"amforiId": "276-0001234", "role": "RSP_HOLDER", "lei": "5299000J2N45DDNE4Y28"},
        ],
    }


def test_site_updated(map_raw: MapRaw, P: Pseud, sealer: Sealer, expect: Expected) -> None:
    [out] = map_raw(envelope("site.updated", 2, site_data()))
    assert out == expect.platform_site(
        2,
        country="BD",
        sector=Sector.APPAREL_TEXTILES,
        workforce_total=1200,
        workforce_band=WorkforceBand.B1000_PLUS,
        members=[
            shared.MemberRef(
                member_id=P(IdKind.MEMBER, "amfori:276-0001234"),
                lei_id=P(IdKind.MEMBER, "lei:5299000J2N45DDNE4Y28"),
                role=shared.MemberRole.RSP_HOLDER,
            ),
            shared.MemberRef(
                member_id=P(IdKind.MEMBER, "amfori:528-0004321"), role=shared.MemberRole.PARTNER
            ),
        ],
        os_id_sealed=sealer.seal("BD2019876XYZ789"),
        # the name, not the local name
        address_id=P(IdKind.ADDRESS, "chattogram denim mills|road 5 kalurghat i a|chattogram|BD"),
    )
    assert isinstance(out.value, shared.PlatformSite)
    assert [m.member_id for m in out.value.members] == sorted(m.member_id for m in out.value.members)


def test_site_deleted_is_a_tombstone_of_the_platform_site(map_raw: MapRaw, expect: Expected) -> None:
    [out] = map_raw(envelope("site.deleted", 9, {}))
    assert out == expect.tombstone(OutputKind.PLATFORM_SITE, expect.site_id, 9)


def test_monitoring_completed(map_raw: MapRaw, expect: Expected) -> None:
    raw = amfori_monitoring()
    raw["data"]["performanceAreas"].append(
        {
            "pa": 7,
            "rating": "C",
            "findings": [
                {
                    "findingId": "F-3",
                    "questionRef": "PA7.Q12",
                    "crucial": False,
                    "answer": "NO",
                    "indicators": [],
                    "comment": "First-aid kit incomplete.",
                }
            ],
        }
    )
    raw["data"]["zeroTolerance"] = [
        {"findingId": "Z-1", "category": "FORCED_LABOUR", "comment": "Gate locked at night."},
        {"findingId": "Z-2", "category": "BRIBERY", "comment": "Auditor offered a gift."},
    ]
    [out] = map_raw(raw)

    def finding(ref: str, code: str, issue: Issue, severity: Severity, *fl: FL) -> shared.Finding:
        return expect.finding("MON-88231", ref, f"BSCI-2.0:{code}", issue, severity, *fl)

    assert out == expect.audit(
        "MON-88231",
        1,
        methodology="BSCI-2.0",
        audit_type=shared.AuditType.FULL,
        announcement=shared.Announcement.SEMI_ANNOUNCED,
        audit_end=date(2026, 2, 17),  # 1771286400000 is 2026-02-17T00:00:00Z
        auditor_days=3.5,
        audit_firm="APSCA-F-00123",
        audit_firm_name="Example Assurance Ltd",
        workers_interviewed=None,
        labour_relations=labour_relations(union=False, committee=True, cba=False, grievance=True),
        findings=[
            finding("F-1", "PA6.Q3", Issue.WORKING_HOURS, Severity.MAJOR, FL.EXCESSIVE_OVERTIME),
            finding(
                "F-2", "PA11.Q1", Issue.FORCED_LABOUR, Severity.MINOR, FL.RETENTION_OF_IDENTITY_DOCUMENTS
            ),
            finding("F-3", "PA7.Q12", Issue.HEALTH_SAFETY, Severity.MINOR),
            finding(
                "Z-1", "ZT:FORCED_LABOUR", Issue.FORCED_LABOUR, Severity.CRITICAL, FL.ABUSE_OF_VULNERABILITY
            ),
            finding("Z-2", "ZT:BRIBERY", Issue.BUSINESS_ETHICS, Severity.CRITICAL),
        ],
    )
    assert isinstance(out.value, shared.Audit)
    ids = [f.finding_id for f in out.value.findings]
    assert ids == sorted(ids)


def test_monitoring_updated_follow_up_unannounced_appointed_rep(map_raw: MapRaw, expect: Expected) -> None:
    raw = amfori_monitoring()
    raw["type"] = "monitoring.updated"
    raw["version"] = 3
    data = raw["data"]
    data.update(
        monitoringType="FOLLOW_UP_AUDIT",
        announcementType="UNANNOUNCED",
        auditDate=1_771_286_399_999,  # 2026-02-16T23:59:59.999Z: still the 16th in UTC
        manDays=1,
        performanceAreas=[],
        workersVoice={
            "union": "PRESENT",
            "workersRepresentative": "APPOINTED",
            "cba": True,
            "grievanceChannel": False,
        },
    )
    [out] = map_raw(raw)
    assert out == expect.audit(
        "MON-88231",
        3,
        methodology="BSCI-2.0",
        audit_type=shared.AuditType.FOLLOW_UP,
        announcement=shared.Announcement.UNANNOUNCED,
        audit_end=date(2026, 2, 16),
        auditor_days=1.0,
        audit_firm="APSCA-F-00123",
        audit_firm_name="Example Assurance Ltd",
        workers_interviewed=None,
        labour_relations=labour_relations(union=True, committee=False, cba=True, grievance=False),
        findings=[],
    )


def test_monitoring_cancelled_is_a_tombstone_of_the_audit(map_raw: MapRaw, expect: Expected) -> None:
    [out] = map_raw(envelope("monitoring.cancelled", 4, {"monitoringId": "MON-88231"}))
    assert out == expect.tombstone(OutputKind.AUDIT, expect.id(IdKind.AUDIT, "MON-88231"), 4)


def test_remediation_resolved(map_raw: MapRaw, expect: Expected) -> None:
    data = {
        "monitoringId": "MON-88231",
        "findingId": "F-1",
        "state": "RESOLVED",
        "deadline": 1_776_643_200_000,  # 2026-04-20T00:00:00Z
        "resolvedAt": 1_775_001_599_000,  # 2026-03-31T23:59:59Z
    }
    [out] = map_raw(envelope("remediation.updated", 2, data))
    assert out == expect.corrective_action(
        "MON-88231",
        "F-1",
        2,
        status=shared.CorrectiveActionStatus.CLOSED,
        due_date=date(2026, 4, 20),
        closed_date=date(2026, 3, 31),
    )


def test_remediation_open_in_progress_not_resolved(map_raw: MapRaw) -> None:
    base = {"monitoringId": "MON-1", "findingId": "F-1", "deadline": 1_776_643_200_000}
    statuses = []
    for version, state in enumerate(("OPEN", "IN_PROGRESS", "NOT_RESOLVED"), start=1):
        [out] = map_raw(envelope("remediation.updated", version, {**base, "state": state}))
        assert isinstance(out.value, shared.CorrectiveAction)
        assert out.value.closed_date is None and out.value.due_date == date(2026, 4, 20)
        statuses.append(out.value.status)
    assert statuses == [
        shared.CorrectiveActionStatus.OPEN,
        shared.CorrectiveActionStatus.IN_PROGRESS,
        shared.CorrectiveActionStatus.NOT_RESOLVED,
    ]
    assert not shared.CorrectiveActionStatus.NOT_RESOLVED.is_closed


def test_consent_updated(map_raw: MapRaw, expect: Expected) -> None:
    raw = envelope("consent.updated", 5, {"purpose": "aggregate-exchange", "status": "REVOKED"}, site=False)
    [out] = map_raw(raw)
    assert out == expect.consent(5, granted=False)
    raw["data"]["status"] = "GRANTED"
    [granted] = map_raw(raw)
    assert isinstance(granted.value, shared.Consent) and granted.value.granted is True


def test_academy_completion(map_raw: MapRaw, expect: Expected) -> None:
    data = {
        "completionId": "AC-7781",
        "courseId": "BSCI-FR-2",
        "topic": "fair-remuneration",
        "completedAt": 1_768_953_600_000,  # 2026-01-21T00:00:00Z
        "participants": 3,
    }
    [out] = map_raw(envelope("academy.completion", 1, data))
    assert out == expect.training(
        "AC-7781", 1, issues=[Issue.WAGES], completed_on=date(2026, 1, 21), participants=3
    )
