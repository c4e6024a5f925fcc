"""The shared records: pseudonym-only ids, canonical lists, strictness, JSON round trips."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.shared import models as shared
from schemas.taxonomy import ForcedLabourIndicator as FL
from schemas.taxonomy import Issue, Sector, Severity, WorkforceBand


def pid(kind: str, n: int = 0) -> str:
    return f"k1.{kind}.{n:032x}"


def site(**changes: Any) -> shared.PlatformSite:
    fields: dict[str, Any] = {
        "site_id": pid("site"),
        "platform": "sedex",
        "company_id": pid("company"),
        "version": 1,
        "updated_at_ms": 0,
        "country": "BD",
        "sector": Sector.OTHER,
        "workforce_total": 10,
        "workforce_band": WorkforceBand.B1_49,
        "members": [],
        "os_id_sealed": None,
        "address_id": pid("addr"),
    }
    return shared.PlatformSite(**{**fields, **changes})


def finding(n: int, **changes: Any) -> shared.Finding:
    fields: dict[str, Any] = {
        "finding_id": pid("finding", n),
        "source_code": "SMETA-7.0:1",
        "issue": Issue.FORCED_LABOUR,
        "severity": Severity.MINOR,
        "fl_indicators": [],
    }
    return shared.Finding(**{**fields, **changes})


def audit(**changes: Any) -> shared.Audit:
    fields: dict[str, Any] = {
        "audit_id": pid("audit"),
        "platform": "amfori",
        "site_id": pid("site"),
        "company_id": pid("company"),
        "version": 2,
        "updated_at_ms": 1,
        "methodology": "BSCI-2.0",
        "audit_type": shared.AuditType.FULL,
        "announcement": shared.Announcement.ANNOUNCED,
        "audit_end": date(2026, 1, 1),
        "auditor_days": 2.5,
        "audit_firm": "APSCA-F-00123",
        "audit_firm_name": "Example Assurance Ltd",
        "workers_interviewed": None,
        "labour_relations": shared.LabourRelations(
            has_union=True,
            has_worker_committee=False,
            has_collective_agreement=False,
            has_grievance_mechanism=True,
        ),
        "findings": [finding(2), finding(1)],
    }
    return shared.Audit(**{**fields, **changes})


def examples() -> list[Any]:
    return [
        site(
            members=[shared.MemberRef(member_id=pid("member", 1), lei_id=pid("member", 2))],
            os_id_sealed="k1.sealed.AbC-_9",
        ),
        audit(),
        shared.CorrectiveAction(
            finding_id=pid("finding"),
            audit_id=pid("audit"),
            platform="sedex",
            site_id=pid("site"),
            version=1,
            updated_at_ms=5,
            status=shared.CorrectiveActionStatus.CLOSED,
            due_date=date(2026, 3, 1),
            closed_date=date(2026, 2, 1),
        ),
        shared.Consent(
            company_id=pid("company"), platform="amfori", version=3, updated_at_ms=0, granted=False
        ),
        shared.Training(
            training_id=pid("training"),
            platform="sedex",
            site_id=pid("site"),
            company_id=pid("company"),
            version=1,
            updated_at_ms=0,
            issues=[Issue.WORKING_HOURS, Issue.WAGES],
            completed_on=date(2026, 1, 2),
            participants=4,
        ),
    ]


@pytest.mark.parametrize("record", examples(), ids=lambda r: type(r).__name__)
def test_json_round_trip(record: Any) -> None:
    text = record.model_dump_json()
    assert type(record).model_validate_json(text) == record
    assert '"schema_version":1' in text


def test_topics_are_the_contracts() -> None:
    assert {t: m.__name__ for t, m in shared.SHARED_TOPICS.items()} == {
        "exchange.normalized.platform-sites.v1": "PlatformSite",
        "exchange.normalized.audits.v1": "Audit",
        "exchange.normalized.corrective-actions.v1": "CorrectiveAction",
        "exchange.normalized.consents.v1": "Consent",
        "exchange.normalized.trainings.v1": "Training",
    }


@pytest.mark.parametrize(
    "raw",
    [
        "sedex:ZS1098453",
        "ZS1098453",
        "k1.audit.00000000000000000000000000000000",
        "k1.site.XYZ",
        "K1.site." + "0" * 32,
    ],
)
def test_an_id_field_takes_only_a_pseudonym_of_its_kind(raw: str) -> None:
    with pytest.raises(ValidationError):
        site(site_id=raw)


def test_os_id_must_be_sealed() -> None:
    with pytest.raises(ValidationError):
        site(os_id_sealed="BD2024123ABC123")


def test_unknown_fields_are_forbidden_and_records_frozen() -> None:
    with pytest.raises(ValidationError):
        site(site_name="Dhaka Knit-Wear Ltd.")
    record = site()
    with pytest.raises(ValidationError):
        record.country = "VN"  # type: ignore[misc]


def test_schema_version_is_one() -> None:
    with pytest.raises(ValidationError):
        site(schema_version=2)


def test_lists_are_canonical_whatever_the_input_order() -> None:
    a = finding(1, fl_indicators=[FL.EXCESSIVE_OVERTIME, FL.DEBT_BONDAGE, FL.DEBT_BONDAGE])
    assert a.fl_indicators == [FL.DEBT_BONDAGE, FL.EXCESSIVE_OVERTIME]
    assert [f.finding_id for f in audit().findings] == [pid("finding", 1), pid("finding", 2)]
    members = [shared.MemberRef(member_id=pid("member", 3)), shared.MemberRef(member_id=pid("member", 1))]
    s = site(members=[*members, members[0]])
    assert [m.member_id for m in s.members] == [pid("member", 1), pid("member", 3)]
    assert audit(findings=[finding(1), finding(2)]).model_dump_json() == audit().model_dump_json()


def test_a_finding_id_appears_once_per_audit() -> None:
    with pytest.raises(ValidationError):
        audit(findings=[finding(1), finding(1, issue=Issue.WAGES)])


def test_a_training_has_at_least_one_issue_and_one_participant() -> None:
    record: Any = examples()[4]
    assert record.issues == [Issue.WAGES, Issue.WORKING_HOURS]
    with pytest.raises(ValidationError):
        shared.Training(**{**record.model_dump(), "issues": []})
    with pytest.raises(ValidationError):
        shared.Training(**{**record.model_dump(), "participants": 0})


@pytest.mark.parametrize("country", ["bd", "BGD", "050", ""])
def test_country_is_alpha_2(country: str) -> None:
    with pytest.raises(ValidationError):
        site(country=country)


def test_audit_type_classification() -> None:
    follow_ups = {t for t in shared.AuditType if t.is_follow_up}
    assert follow_ups == {
        shared.AuditType.FOLLOW_UP,
        shared.AuditType.FOLLOW_UP_FULL,
        shared.AuditType.FOLLOW_UP_PARTIAL,
        shared.AuditType.FOLLOW_UP_DESKTOP,
    }
    assert {t for t in shared.AuditType if not t.is_on_site} == {shared.AuditType.FOLLOW_UP_DESKTOP}


def test_only_closed_is_closed() -> None:
    assert [s for s in shared.CorrectiveActionStatus if s.is_closed] == [shared.CorrectiveActionStatus.CLOSED]


def test_no_record_has_a_field_for_names_or_free_text() -> None:
    names = {n for model in shared.SHARED_TOPICS.values() for n in model.model_fields}
    assert not names & {"name", "site_name", "street", "city", "address", "description", "comment", "os_id"}
    assert "audit_firm_name" in names  # public on purpose (aggregates.md, audit-quality)


def test_closed_date_exactly_when_closed() -> None:
    record: Any = examples()[2]
    fields = record.model_dump()
    with pytest.raises(ValidationError):
        shared.CorrectiveAction(**{**fields, "closed_date": None})
    with pytest.raises(ValidationError):
        shared.CorrectiveAction(**{**fields, "status": shared.CorrectiveActionStatus.NOT_RESOLVED})
    assert shared.CorrectiveAction(**{**fields, "status": "OPEN", "closed_date": None}).closed_date is None
