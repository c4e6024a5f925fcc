"""Sedex change events -> shared records.

A deliberate mirror of `amfori.py`: the contract gives each platform its own format, so each has its own
mapping with the same functions in the same order, and a reader compares the two side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from schemas.platform import sedex as sx
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

PLATFORM: Final = "sedex"

AUDIT_TYPES: Final[Mapping[str, shared.AuditType]] = MappingProxyType(
    {
        "Full Initial": shared.AuditType.FULL_INITIAL,
        "Periodic": shared.AuditType.FULL_PERIODIC,
        "Full Follow-up": shared.AuditType.FOLLOW_UP_FULL,
        "Partial Follow-up": shared.AuditType.FOLLOW_UP_PARTIAL,
        "Desktop Follow-up": shared.AuditType.FOLLOW_UP_DESKTOP,
    }
)
ANNOUNCEMENTS: Final[Mapping[str, shared.Announcement]] = MappingProxyType(
    {
        "Announced": shared.Announcement.ANNOUNCED,
        "Semi-announced": shared.Announcement.SEMI_ANNOUNCED,
        "Unannounced": shared.Announcement.UNANNOUNCED,
    }
)
SEVERITIES: Final[Mapping[str, Severity]] = MappingProxyType(
    {"Critical": Severity.CRITICAL, "Major": Severity.MAJOR, "Minor": Severity.MINOR}
)
FINDING_TYPES: Final = frozenset({"NonCompliance", "CollaborativeActionRequired"})
"""Finding types that are findings; ``Observation`` and ``GoodExample`` are dropped (taxonomy.md)."""
STATUSES: Final[Mapping[str, shared.CorrectiveActionStatus]] = MappingProxyType(
    {
        "Open": shared.CorrectiveActionStatus.OPEN,
        "ProgressMade": shared.CorrectiveActionStatus.IN_PROGRESS,
        "Closed": shared.CorrectiveActionStatus.CLOSED,
    }
)


def methodology(version: str) -> str:
    return f"SMETA-{version}"


def map_sedex(event: sx.SedexEvent, ctx: MappingContext) -> list[Output]:
    with invalid_record():
        return _map(event, ctx)


def _map(event: sx.SedexEvent, ctx: MappingContext) -> list[Output]:
    match event:
        case sx.SiteUpserted():
            return [_site(event, ctx)]
        case sx.SiteRemoved():
            site_id = ctx.site_id(PLATFORM, event.site_ref)
            return [_output(OutputKind.PLATFORM_SITE, site_id, None, event)]
        case sx.AuditPublished() | sx.AuditRevised():
            return [_audit(event, ctx)]
        case sx.AuditWithdrawn():
            audit_id = ctx.audit_id(PLATFORM, event.payload.audit_ref)
            return [_output(OutputKind.AUDIT, audit_id, None, event)]
        case sx.CorrectiveActionUpdated():
            return [_corrective_action(event, ctx)]
        case sx.ConsentChanged():
            return [_consent(event, ctx)]
        case sx.TrainingCompleted():
            return [_training(event, ctx)]
    raise MappingError(MappingErrorCode.UNKNOWN_EVENT, "not a Sedex event type the mapping knows")


def _output(kind: OutputKind, key: str, value: shared.SharedRecord | None, event: sx.SedexEvent) -> Output:
    return Output(kind, key, value, key, event.entity_version, event.occurred_at_ms)


def _site(event: sx.SiteUpserted, ctx: MappingContext) -> Output:
    p = event.payload
    cw = ctx.crosswalk
    members = [
        shared.MemberRef(
            member_id=ctx.member_id(PLATFORM, c.company_ref),
            lei_id=None if c.lei is None else ctx.lei_id(c.lei),
        )
        for c in p.linked_customers
    ]
    site_id = ctx.site_id(PLATFORM, event.site_ref)
    site = shared.PlatformSite(
        site_id=site_id,
        platform=PLATFORM,
        company_id=ctx.company_id(PLATFORM, event.company_ref),
        version=event.entity_version,
        updated_at_ms=event.occurred_at_ms,
        country=p.address.country,
        sector=sector_for(p.product_category.unspsc, cw.unspsc_sector_prefixes),
        workforce_total=p.workers.total,
        workforce_band=workforce_band(p.workers.total),
        members=members,
        os_id_sealed=ctx.seal_os_id(p.os_id),
        address_id=ctx.address_id(p.site_name, p.address.street, p.address.city, p.address.country),
    )
    return _output(OutputKind.PLATFORM_SITE, site_id, site, event)


def _findings(event: sx.AuditPublished | sx.AuditRevised, ctx: MappingContext) -> list[shared.Finding]:
    p = event.payload
    version = p.methodology.version
    cw = ctx.crosswalk
    clauses = lookup(
        cw.smeta_clauses, version, MappingErrorCode.UNKNOWN_CLAUSE, f"SMETA {version} clause table"
    )
    findings: list[shared.Finding] = []
    seen: set[str] = set()
    for i, f in enumerate(p.findings):
        if f.type not in FINDING_TYPES:
            continue
        where = f"payload.findings[{i}]"
        if f.finding_ref in seen:
            raise MappingError(
                MappingErrorCode.DUPLICATE_FINDING, f"{where}.findingRef repeats an earlier one"
            )
        seen.add(f.finding_ref)
        issue = lookup(
            clauses, f.clause, MappingErrorCode.UNKNOWN_CLAUSE, f"{where}.clause (SMETA {version})"
        )
        if f.severity is None:
            raise MappingError(MappingErrorCode.UNKNOWN_SEVERITY, f"{where}.severity is missing")
        severity = lookup(SEVERITIES, f.severity, MappingErrorCode.UNKNOWN_SEVERITY, f"{where}.severity")
        indicators = [
            lookup(cw.sedex_fl_tags, tag, MappingErrorCode.UNKNOWN_FL_CODE, f"{where}.flTags[{j}]")
            for j, tag in enumerate(f.fl_tags)
        ]
        finding_id = ctx.finding_id(PLATFORM, p.audit_ref, f.finding_ref)
        findings.append(
            shared.Finding(
                finding_id=finding_id,
                source_code=f"{methodology(version)}:{f.clause}",
                issue=issue,
                severity=severity,
                fl_indicators=indicators,
            )
        )
    return findings


def _audit(event: sx.AuditPublished | sx.AuditRevised, ctx: MappingContext) -> Output:
    p = event.payload
    rep = p.worker_representation
    audit_id = ctx.audit_id(PLATFORM, p.audit_ref)
    findings = _findings(event, ctx)
    audit = shared.Audit(
        audit_id=audit_id,
        platform=PLATFORM,
        site_id=ctx.site_id(PLATFORM, event.site_ref),
        company_id=ctx.company_id(PLATFORM, event.company_ref),
        version=event.entity_version,
        updated_at_ms=event.occurred_at_ms,
        methodology=methodology(p.methodology.version),
        audit_type=AUDIT_TYPES[p.audit_type],
        announcement=ANNOUNCEMENTS[p.announcement],
        audit_end=p.audit_end,
        auditor_days=p.auditor_days,
        audit_firm=p.audit_company.apsca_firm_id,
        audit_firm_name=p.audit_company.name,
        workers_interviewed=p.workers_interviewed,
        labour_relations=shared.LabourRelations(
            has_union=rep.trade_union,
            has_worker_committee=rep.worker_committee,
            has_collective_agreement=rep.collective_agreement,
            has_grievance_mechanism=rep.grievance_mechanism,
        ),
        findings=findings,
    )
    return _output(OutputKind.AUDIT, audit_id, audit, event)


def _corrective_action(event: sx.CorrectiveActionUpdated, ctx: MappingContext) -> Output:
    p = event.payload
    finding_id = ctx.finding_id(PLATFORM, p.audit_ref, p.finding_ref)
    action = shared.CorrectiveAction(
        finding_id=finding_id,
        audit_id=ctx.audit_id(PLATFORM, p.audit_ref),
        platform=PLATFORM,
        site_id=ctx.site_id(PLATFORM, event.site_ref),
        version=event.entity_version,
        updated_at_ms=event.occurred_at_ms,
        status=STATUSES[p.status],
        due_date=p.due_date,
        closed_date=p.closed_date,
    )
    return _output(OutputKind.CORRECTIVE_ACTION, finding_id, action, event)


def _consent(event: sx.ConsentChanged, ctx: MappingContext) -> Output:
    company_id = ctx.company_id(PLATFORM, event.company_ref)
    consent = shared.Consent(
        company_id=company_id,
        platform=PLATFORM,
        version=event.entity_version,
        updated_at_ms=event.occurred_at_ms,
        granted=event.payload.granted,
    )
    return _output(OutputKind.CONSENT, company_id, consent, event)


def _training(event: sx.TrainingCompleted, ctx: MappingContext) -> Output:
    p = event.payload
    issues = lookup(
        ctx.crosswalk.sedex_training_topics, p.topic, MappingErrorCode.UNKNOWN_TRAINING_TOPIC, "payload.topic"
    )
    training_id = ctx.training_id(PLATFORM, p.training_ref)
    training = shared.Training(
        training_id=training_id,
        platform=PLATFORM,
        site_id=ctx.site_id(PLATFORM, event.site_ref),
        company_id=ctx.company_id(PLATFORM, event.company_ref),
        version=event.entity_version,
        updated_at_ms=event.occurred_at_ms,
        issues=list(issues),
        completed_on=p.completed_on,
        participants=p.participants,
    )
    return _output(OutputKind.TRAINING, training_id, training, event)
