"""amfori change events -> shared records. Dates are the UTC day of amfori's epoch-ms timestamps.

A deliberate mirror of `sedex.py`: the contract gives each platform its own format, so each has its own
mapping with the same functions in the same order, and a reader compares the two side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from schemas.platform import amfori as af
from schemas.platform.common import numeric_country, utc_day
from schemas.shared import models as shared
from schemas.taxonomy import Severity, sector_for, workforce_band

from .records import (
    MappingContext,
    MappingError,
    MappingErrorCode,
    Output,
    OutputKind,
    invalid_record,
    lookup,
)

PLATFORM: Final = "amfori"

AUDIT_TYPES: Final[Mapping[str, shared.AuditType]] = MappingProxyType(
    {"FULL_AUDIT": shared.AuditType.FULL, "FOLLOW_UP_AUDIT": shared.AuditType.FOLLOW_UP}
)
ANNOUNCEMENTS: Final[Mapping[str, shared.Announcement]] = MappingProxyType(
    {
        "FULLY_ANNOUNCED": shared.Announcement.ANNOUNCED,
        "SEMI_ANNOUNCED": shared.Announcement.SEMI_ANNOUNCED,
        "UNANNOUNCED": shared.Announcement.UNANNOUNCED,
    }
)
# taxonomy.md "Severity": crucial and NO is major, any other performance-area finding minor,
# any zero-tolerance finding critical.
PA_SEVERITIES: Final[Mapping[tuple[bool, str], Severity]] = MappingProxyType(
    {
        (True, "NO"): Severity.MAJOR,
        (True, "PARTIALLY"): Severity.MINOR,
        (False, "NO"): Severity.MINOR,
        (False, "PARTIALLY"): Severity.MINOR,
    }
)
ZERO_TOLERANCE_SEVERITY: Final = Severity.CRITICAL
STATES: Final[Mapping[str, shared.CorrectiveActionStatus]] = MappingProxyType(
    {
        "OPEN": shared.CorrectiveActionStatus.OPEN,
        "IN_PROGRESS": shared.CorrectiveActionStatus.IN_PROGRESS,
        "RESOLVED": shared.CorrectiveActionStatus.CLOSED,
        "NOT_RESOLVED": shared.CorrectiveActionStatus.NOT_RESOLVED,
    }
)
ROLES: Final[Mapping[str, shared.MemberRole]] = MappingProxyType(
    {"RSP_HOLDER": shared.MemberRole.RSP_HOLDER, "PARTNER": shared.MemberRole.PARTNER}
)


def methodology(version: str) -> str:
    return f"BSCI-{version}"


def map_amfori(event: af.AmforiEvent, ctx: MappingContext) -> list[Output]:
    with invalid_record():
        return _map(event, ctx)


def _map(event: af.AmforiEvent, ctx: MappingContext) -> list[Output]:
    match event:
        case af.SiteUpdated():
            return [_site(event, ctx)]
        case af.SiteDeleted():
            site_id = ctx.site_id(PLATFORM, event.site_amfori_id)
            return [_output(OutputKind.PLATFORM_SITE, site_id, None, event)]
        case af.MonitoringCompleted() | af.MonitoringUpdated():
            return [_audit(event, ctx)]
        case af.MonitoringCancelled():
            audit_id = ctx.audit_id(PLATFORM, event.data.monitoring_id)
            return [_output(OutputKind.AUDIT, audit_id, None, event)]
        case af.RemediationUpdated():
            return [_corrective_action(event, ctx)]
        case af.ConsentUpdated():
            return [_consent(event, ctx)]
        case af.AcademyCompletion():
            return [_training(event, ctx)]
    raise MappingError(MappingErrorCode.UNKNOWN_EVENT, "not an amfori event type the mapping knows")


def _output(kind: OutputKind, key: str, value: shared.SharedRecord | None, event: af.AmforiEvent) -> Output:
    return Output(kind, key, value, key, event.version, event.timestamp)


def alpha_2(numeric: str) -> str:
    country = numeric_country(numeric)
    if country is None:
        raise MappingError(
            MappingErrorCode.UNKNOWN_COUNTRY, "data.address.country.numeric is not an ISO country"
        )
    return country


def _site(event: af.SiteUpdated, ctx: MappingContext) -> Output:
    d = event.data
    country = alpha_2(d.address.country.numeric)
    members = [
        shared.MemberRef(
            member_id=ctx.member_id(PLATFORM, bp.amfori_id),
            lei_id=None if bp.lei is None else ctx.lei_id(bp.lei),
            role=ROLES[bp.role],
        )
        for bp in d.business_partners
    ]
    site_id = ctx.site_id(PLATFORM, event.site_amfori_id)
    site = shared.PlatformSite(
        site_id=site_id,
        platform=PLATFORM,
        company_id=ctx.company_id(PLATFORM, event.legal_entity_amfori_id),
        version=event.version,
        updated_at_ms=event.timestamp,
        country=country,
        sector=sector_for(d.gics_sub_industry, ctx.crosswalk.gics_sector_prefixes),
        workforce_total=d.workforce.total,
        workforce_band=workforce_band(d.workforce.total),
        members=members,
        os_id_sealed=ctx.seal_os_id(d.os_id),
        address_id=ctx.address_id(d.name, d.address.street, d.address.city, country),
    )
    return _output(OutputKind.PLATFORM_SITE, site_id, site, event)


def _question_area(question_ref: str) -> int | None:
    head, _, _ = question_ref.partition(".")
    return int(head[2:]) if head.startswith("PA") and head[2:].isdigit() else None


def _findings(
    event: af.MonitoringCompleted | af.MonitoringUpdated, ctx: MappingContext
) -> list[shared.Finding]:
    d = event.data
    cw = ctx.crosswalk
    method = methodology(d.methodology_version)
    findings: list[shared.Finding] = []
    seen: set[str] = set()
    for i, area in enumerate(d.performance_areas):
        issue = lookup(
            cw.bsci_performance_areas,
            area.pa,
            MappingErrorCode.UNKNOWN_PERFORMANCE_AREA,
            f"data.performanceAreas[{i}].pa",
        )
        for j, f in enumerate(area.findings):
            where = f"data.performanceAreas[{i}].findings[{j}]"
            if _question_area(f.question_ref) != area.pa:
                raise MappingError(
                    MappingErrorCode.INCONSISTENT_QUESTION,
                    f"{where}.questionRef is not a question of its performance area",
                )
            if f.finding_id in seen:
                raise MappingError(
                    MappingErrorCode.DUPLICATE_FINDING, f"{where}.findingId repeats an earlier one"
                )
            seen.add(f.finding_id)
            severity = PA_SEVERITIES[(f.crucial, f.answer)]
            indicators = [
                lookup(
                    cw.amfori_fl_indicators,
                    code,
                    MappingErrorCode.UNKNOWN_FL_CODE,
                    f"{where}.indicators[{k}]",
                )
                for k, code in enumerate(f.indicators)
            ]
            finding_id = ctx.finding_id(PLATFORM, d.monitoring_id, f.finding_id)
            findings.append(
                shared.Finding(
                    finding_id=finding_id,
                    source_code=f"{method}:{f.question_ref}",
                    issue=issue,
                    severity=severity,
                    fl_indicators=indicators,
                )
            )
    for i, z in enumerate(d.zero_tolerance):
        where = f"data.zeroTolerance[{i}]"
        if z.finding_id in seen:
            raise MappingError(
                MappingErrorCode.DUPLICATE_FINDING, f"{where}.findingId repeats an earlier one"
            )
        seen.add(z.finding_id)
        zt_issue = lookup(
            cw.zero_tolerance_categories,
            z.category,
            MappingErrorCode.UNKNOWN_ZERO_TOLERANCE,
            f"{where}.category",
        )
        indicator = cw.zero_tolerance_indicator.get(z.category)
        zt_id = ctx.finding_id(PLATFORM, d.monitoring_id, z.finding_id)
        findings.append(
            shared.Finding(
                finding_id=zt_id,
                source_code=f"{method}:ZT:{z.category}",
                issue=zt_issue,
                severity=ZERO_TOLERANCE_SEVERITY,
                fl_indicators=[] if indicator is None else [indicator],
            )
        )
    return findings


def _audit(event: af.MonitoringCompleted | af.MonitoringUpdated, ctx: MappingContext) -> Output:
    d = event.data
    voice = d.workers_voice
    audit_id = ctx.audit_id(PLATFORM, d.monitoring_id)
    findings = _findings(event, ctx)
    audit = shared.Audit(
        audit_id=audit_id,
        platform=PLATFORM,
        site_id=ctx.site_id(PLATFORM, event.site_amfori_id),
        company_id=ctx.company_id(PLATFORM, event.legal_entity_amfori_id),
        version=event.version,
        updated_at_ms=event.timestamp,
        methodology=methodology(d.methodology_version),
        audit_type=AUDIT_TYPES[d.monitoring_type],
        announcement=ANNOUNCEMENTS[d.announcement_type],
        audit_end=utc_day(d.audit_date),
        auditor_days=d.man_days,
        audit_firm=d.auditing_company.apsca_firm_id,
        audit_firm_name=d.auditing_company.name,
        workers_interviewed=None,
        labour_relations=shared.LabourRelations(
            has_union=voice.union == "PRESENT",
            # taxonomy.md: an appointed representative is not counted.
            has_worker_committee=voice.workers_representative == "ELECTED",
            has_collective_agreement=voice.cba,
            has_grievance_mechanism=voice.grievance_channel,
        ),
        findings=findings,
    )
    return _output(OutputKind.AUDIT, audit_id, audit, event)


def _corrective_action(event: af.RemediationUpdated, ctx: MappingContext) -> Output:
    d = event.data
    finding_id = ctx.finding_id(PLATFORM, d.monitoring_id, d.finding_id)
    action = shared.CorrectiveAction(
        finding_id=finding_id,
        audit_id=ctx.audit_id(PLATFORM, d.monitoring_id),
        platform=PLATFORM,
        site_id=ctx.site_id(PLATFORM, event.site_amfori_id),
        version=event.version,
        updated_at_ms=event.timestamp,
        status=STATES[d.state],
        due_date=utc_day(d.deadline),
        closed_date=None if d.resolved_at is None else utc_day(d.resolved_at),
    )
    return _output(OutputKind.CORRECTIVE_ACTION, finding_id, action, event)


def _consent(event: af.ConsentUpdated, ctx: MappingContext) -> Output:
    company_id = ctx.company_id(PLATFORM, event.legal_entity_amfori_id)
    consent = shared.Consent(
        company_id=company_id,
        platform=PLATFORM,
        version=event.version,
        updated_at_ms=event.timestamp,
        granted=event.data.status == "GRANTED",
    )
    return _output(OutputKind.CONSENT, company_id, consent, event)


def _training(event: af.AcademyCompletion, ctx: MappingContext) -> Output:
    d = event.data
    issues = lookup(
        ctx.crosswalk.amfori_training_topics, d.topic, MappingErrorCode.UNKNOWN_TRAINING_TOPIC, "data.topic"
    )
    training_id = ctx.training_id(PLATFORM, d.completion_id)
    training = shared.Training(
        training_id=training_id,
        platform=PLATFORM,
        site_id=ctx.site_id(PLATFORM, event.site_amfori_id),
        company_id=ctx.company_id(PLATFORM, event.legal_entity_amfori_id),
        version=event.version,
        updated_at_ms=event.timestamp,
        issues=list(issues),
        completed_on=utc_day(d.completed_at),
        participants=d.participants,
    )
    return _output(OutputKind.TRAINING, training_id, training, event)
