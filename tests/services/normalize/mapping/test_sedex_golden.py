"""Golden tests: each Sedex event type, through ingest's envelope, to its full shared output.

Mirrors test_amfori_golden.py event for event: each platform's own vocabulary, in and out.
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
from tests.fixtures.examples import sedex_audit, sedex_audit_payload

from .expected import Expected, labour_relations

MapRaw = Callable[[dict[str, Any]], list[Output]]
Pseud = Callable[[IdKind, str], str]

OCCURRED = "2026-02-12T08:30:00Z"
OCCURRED_MS = 1_770_885_000_000  # 2026-02-12T08:30:00Z


@pytest.fixture
def expect(P: Pseud) -> Expected:
    return Expected(P, "sedex", company_ref="ZC1043921", site_ref="ZS1098453", at_ms=OCCURRED_MS)


def envelope(event_type: str, version: int, payload: dict[str, Any], site: bool = True) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "schemaVersion": 1,
        "eventId": "5b0d6c2e-8a51-4f7e-9d43-0d6f1f4f2a11",
        "eventType": event_type,
        "occurredAt": OCCURRED,
        "entityVersion": version,
        "companyRef": "ZC1043921",
        "payload": payload,
    }
    if site:
        raw["siteRef"] = "ZS1098453"
    return raw


def site_payload() -> dict[str, Any]:
    return {
        "siteName": "Dhaka Knit-Wear Ltd.",
        "address": {"street": "Plot 12, Road-3", "city": "Gazipur", "postalCode": "1700", "country": "BD"},
        "osId": "BD2024123ABC123",
        "productCategory": {"unspsc": "53102500"},
        "workers": {"total": 420, "female": 300, "migrant": 10, "temporary": 5},
        "linkedCustomers": [
            {"companyRef": "ZC2000002", "lei": "5493001KJTIIGC8Y1R12"},
            {"companyRef": "ZC2000001"},
        ],
    }


def test_site_upserted(map_raw: MapRaw, P: Pseud, sealer: Sealer, expect: Expected) -> None:
    [out] = map_raw(envelope("SiteUpserted", 3, site_payload()))
    assert out == expect.platform_site(
        3,
        country="BD",
        sector=Sector.APPAREL_TEXTILES,
        workforce_total=420,
        workforce_band=WorkforceBand.B250_999,
        members=[
            shared.MemberRef(member_id=P(IdKind.MEMBER, "sedex:ZC2000001")),
            shared.MemberRef(
                member_id=P(IdKind.MEMBER, "sedex:ZC2000002"),
                lei_id=P(IdKind.MEMBER, "lei:5493001KJTIIGC8Y1R12"),
            ),
        ],
        os_id_sealed=sealer.seal("BD2024123ABC123"),
        address_id=P(IdKind.ADDRESS, "dhaka knit wear ltd|plot 12 road 3|gazipur|BD"),
    )
    assert isinstance(out.value, shared.PlatformSite)
    assert [m.member_id for m in out.value.members] == sorted(m.member_id for m in out.value.members)
    assert out.value.os_id_sealed is not None and sealer.unseal(out.value.os_id_sealed) == "BD2024123ABC123"


def test_site_upserted_without_os_id_or_customers(map_raw: MapRaw) -> None:
    payload = site_payload()
    del payload["osId"]
    payload["linkedCustomers"] = []
    payload["workers"] = {"total": 49, "female": 0, "migrant": 0, "temporary": 0}
    [out] = map_raw(envelope("SiteUpserted", 1, payload))
    assert isinstance(out.value, shared.PlatformSite)
    assert out.value.os_id_sealed is None
    assert out.value.members == []
    assert out.value.workforce_band is WorkforceBand.B1_49


def test_site_removed_is_a_tombstone_of_the_platform_site(map_raw: MapRaw, expect: Expected) -> None:
    [out] = map_raw(envelope("SiteRemoved", 4, {}))
    assert out == expect.tombstone(OutputKind.PLATFORM_SITE, expect.site_id, 4)


def _example_audit_payload() -> dict[str, Any]:
    payload: dict[str, Any] = sedex_audit()["payload"]
    payload["findings"] += [
        {
            "findingRef": "CAR-1",
            "type": "CollaborativeActionRequired",
            "clause": "5A",
            "severity": "Minor",
            "flTags": [],
            "description": "Wages below the living-wage benchmark.",
        },
        {
            "findingRef": "OBS-1",
            "type": "Observation",
            "clause": "3",
            "flTags": ["THREATS"],
            "description": "Fire exits partly blocked.",
        },
        {
            "findingRef": "GE-1",
            "type": "GoodExample",
            "clause": "2",
            "flTags": [],
            "description": "Elected committee meets monthly.",
        },
    ]
    return payload


def test_audit_published(map_raw: MapRaw, expect: Expected) -> None:
    [out] = map_raw(envelope("AuditPublished", 1, _example_audit_payload()))

    def finding(ref: str, clause: str, issue: Issue, severity: Severity, *fl: FL) -> shared.Finding:
        return expect.finding("SMETA-2026-000871", ref, f"SMETA-7.0:{clause}", issue, severity, *fl)

    assert out == expect.audit(
        "SMETA-2026-000871",
        1,
        methodology="SMETA-7.0",
        audit_type=shared.AuditType.FULL_PERIODIC,
        announcement=shared.Announcement.SEMI_ANNOUNCED,
        audit_end=date(2026, 2, 11),
        auditor_days=3.0,
        audit_firm="APSCA-F-00123",
        audit_firm_name="Example Assurance Ltd",
        workers_interviewed=18,
        labour_relations=labour_relations(union=False, committee=True, cba=False, grievance=True),
        findings=[
            finding("NC-1", "6", Issue.WORKING_HOURS, Severity.MAJOR, FL.EXCESSIVE_OVERTIME),
            finding(
                "NC-2",
                "1A",
                Issue.RESPONSIBLE_RECRUITMENT,
                Severity.CRITICAL,
                FL.DEBT_BONDAGE,
                FL.RETENTION_OF_IDENTITY_DOCUMENTS,
            ),
            finding("CAR-1", "5A", Issue.WAGES, Severity.MINOR),
        ],
    )
    assert isinstance(out.value, shared.Audit)
    ids = [f.finding_id for f in out.value.findings]
    assert ids == sorted(ids) and len(ids) == 3  # the observation and the good example are dropped


def test_audit_revised_smeta_6_1_desktop_follow_up(map_raw: MapRaw, expect: Expected) -> None:
    payload = sedex_audit_payload(
        auditRef="SMETA-2025-000100",
        methodology={"scheme": "SMETA", "version": "6.1", "pillars": 2},
        auditType="Desktop Follow-up",
        announcement="Unannounced",
        auditStart="2025-12-30",
        auditEnd="2025-12-31",
        auditorDays=0.5,
        auditCompany={"name": "Veritas Ethical Audits GmbH", "apscaFirmId": "APSCA-F-00217"},
        workersInterviewed=0,
        workerRepresentation={
            "tradeUnion": True,
            "workerCommittee": False,
            "collectiveAgreement": True,
            "grievanceMechanism": False,
        },
        findings=[
            {
                "findingRef": "NC-9",
                "type": "NonCompliance",
                "clause": "10A",
                "severity": "Major",
                "flTags": ["DECEPTION"],
                "description": "Right-to-work checks missing.",
            }
        ],
    )
    [out] = map_raw(envelope("AuditRevised", 2, payload))
    assert out == expect.audit(
        "SMETA-2025-000100",
        2,
        methodology="SMETA-6.1",
        audit_type=shared.AuditType.FOLLOW_UP_DESKTOP,
        announcement=shared.Announcement.UNANNOUNCED,
        audit_end=date(2025, 12, 31),
        auditor_days=0.5,
        audit_firm="APSCA-F-00217",
        audit_firm_name="Veritas Ethical Audits GmbH",
        workers_interviewed=0,
        labour_relations=labour_relations(union=True, committee=False, cba=True, grievance=False),
        findings=[
            expect.finding(
                "SMETA-2025-000100",
                "NC-9",
                "SMETA-6.1:10A",
                Issue.RESPONSIBLE_RECRUITMENT,
                Severity.MAJOR,
                FL.DECEPTION,
            )
        ],
    )


def test_audit_withdrawn_is_a_tombstone_of_the_audit(map_raw: MapRaw, expect: Expected) -> None:
    [out] = map_raw(envelope("AuditWithdrawn", 5, {"auditRef": "SMETA-2026-000871"}))
    assert out == expect.tombstone(OutputKind.AUDIT, expect.id(IdKind.AUDIT, "SMETA-2026-000871"), 5)


def test_corrective_action_closed(map_raw: MapRaw, expect: Expected) -> None:
    payload = {
        "auditRef": "SMETA-2026-000871",
        "findingRef": "NC-1",
        "status": "Closed",
        "dueDate": "2026-04-11",
        "closedDate": "2026-03-30",
        "verification": "OnSite",
    }
    [out] = map_raw(envelope("CorrectiveActionUpdated", 3, payload))
    assert out == expect.corrective_action(
        "SMETA-2026-000871",
        "NC-1",
        3,
        status=shared.CorrectiveActionStatus.CLOSED,
        due_date=date(2026, 4, 11),
        closed_date=date(2026, 3, 30),
    )


def test_corrective_action_open_and_progress_made(map_raw: MapRaw) -> None:
    base = {"auditRef": "A-1", "findingRef": "F-1", "dueDate": "2026-04-11", "verification": "Desktop"}
    [opened] = map_raw(envelope("CorrectiveActionUpdated", 1, {**base, "status": "Open"}))
    [progress] = map_raw(envelope("CorrectiveActionUpdated", 2, {**base, "status": "ProgressMade"}))
    assert isinstance(opened.value, shared.CorrectiveAction) and isinstance(
        progress.value, shared.CorrectiveAction
    )
    assert (opened.value.status, opened.value.closed_date) == (shared.CorrectiveActionStatus.OPEN, None)
    assert (progress.value.status, progress.value.closed_date) == (
        shared.CorrectiveActionStatus.IN_PROGRESS,
        None,
    )
    assert opened.key == progress.key == opened.version_entity


def test_consent_changed(map_raw: MapRaw, expect: Expected) -> None:
    raw = envelope("ConsentChanged", 7, {"scope": "AGGREGATE_EXCHANGE", "granted": False}, site=False)
    [out] = map_raw(raw)
    assert out == expect.consent(7, granted=False)
    raw["payload"]["granted"] = True
    [granted] = map_raw(raw)
    assert isinstance(granted.value, shared.Consent) and granted.value.granted is True


def test_training_completed_wages_and_hours_is_two_issues(map_raw: MapRaw, expect: Expected) -> None:
    payload = {
        "trainingRef": "TR-00042",
        "courseCode": "SX-WH-101",
        "topic": "WAGES_AND_HOURS",
        "completedOn": "2026-01-20",
        "participants": 14,
    }
    [out] = map_raw(envelope("TrainingCompleted", 1, payload))
    assert out == expect.training(
        "TR-00042",
        1,
        issues=[Issue.WAGES, Issue.WORKING_HOURS],
        completed_on=date(2026, 1, 20),
        participants=14,
    )
