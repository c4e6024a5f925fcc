"""A crafted set of public messages covering what the report must draw: published cells, population-only
cells (outcomes withheld), suppressed cells, a real zero, and a cell revised (its revision 0 must not
show)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from schemas.exchange.aggregates import (
    AnyMessage,
    AuditQualityCell,
    AuditQualityMeasures,
    AuditQualityMessage,
    ForcedLabourCell,
    ForcedLabourMeasures,
    ForcedLabourMessage,
    IndicatorCounts,
    IssuePrevalenceCell,
    IssuePrevalenceMeasures,
    IssuePrevalenceMessage,
    LabourRelationsCell,
    LabourRelationsMeasures,
    LabourRelationsMessage,
    SeverityCounts,
    share_pct,
)
from schemas.taxonomy import ForcedLabourIndicator

FIRST = datetime(2026, 5, 1, tzinfo=UTC)
SECOND = datetime(2026, 5, 1, 1, tzinfo=UTC)


M = TypeVar("M", IssuePrevalenceMessage, ForcedLabourMessage, LabourRelationsMessage, AuditQualityMessage)


def _message(kind: type[M], table: Any, cell: Any, measures: Any, revision: int = 0) -> M:
    """Published with its measures, suppressed without; revision 0 in the first release, later ones in
    the second."""
    at = SECOND if revision else FIRST
    return kind(
        schema_version=1,
        table=table,
        cell=cell,
        release_id=at,
        released_at=at.replace(second=4),
        revision=revision,
        status="published" if measures else "suppressed",
        measures=measures,
    )


def prevalence(
    country: str,
    sector: str,
    issue: str,
    audited: int | None,
    sev: tuple[int, int, int] | None = None,
    *,
    revision: int = 0,
    period: str = "2026-Q1",
) -> IssuePrevalenceMessage:
    """`audited` None: suppressed; `sev` None: population-only."""
    cell = IssuePrevalenceCell(period=period, country=country, sector=sector, issue=issue)
    measures = None
    if audited is not None:
        n = sum(sev) if sev else None
        measures = IssuePrevalenceMeasures(
            audited_sites=audited,
            sites_with_issue=n,
            by_severity=SeverityCounts(critical=sev[0], major=sev[1], minor=sev[2]) if sev else None,
            rate_pct=share_pct(n, audited) if n is not None else None,
        )
    return _message(IssuePrevalenceMessage, "issue-prevalence", cell, measures, revision)


def forced(
    country: str, sector: str, audited: int | None, counts: dict[str, int] | None
) -> ForcedLabourMessage:
    measures = None
    if audited is not None:
        by = {code.value: (counts or {}).get(code.value, 0) for code in ForcedLabourIndicator}
        measures = ForcedLabourMeasures(
            audited_sites=audited,
            sites_with_indicator=max(by.values()) if counts is not None else None,
            by_indicator=IndicatorCounts(**by) if counts is not None else None,
        )
    cell = ForcedLabourCell(period="2026-Q1", country=country, sector=sector)
    return _message(ForcedLabourMessage, "forced-labour", cell, measures)


def relations(
    country: str, sector: str, audited: int | None, flags: tuple[int, int, int, int] | None
) -> LabourRelationsMessage:
    measures = None
    if audited is not None:
        u, w, c, g = flags if flags else (None, None, None, None)
        measures = LabourRelationsMeasures(
            audited_sites=audited,
            sites_with_union=u,
            sites_with_worker_committee=w,
            sites_with_collective_agreement=c,
            sites_with_grievance_mechanism=g,
        )
    cell = LabourRelationsCell(period="2026-Q1", country=country, sector=sector)
    return _message(LabourRelationsMessage, "labour-relations", cell, measures)


def audit(
    firm: str,
    country: str,
    audits: int | None,
    shares: tuple[float, float, float, float, float | None] | None,
) -> AuditQualityMessage:
    """An audit-quality cell; `shares` None: outcomes withheld; `audits` None: suppressed."""
    measures = None
    if audits is not None:
        u, s, z, b, c = shares if shares else (None, None, None, None, None)
        measures = AuditQualityMeasures(
            audits=audits,
            sites=audits - 2,
            unannounced_pct=u,
            semi_announced_pct=s,
            zero_finding_pct=z,
            mean_findings_per_audit=None if shares is None else 1.7,
            below_minimum_days_pct=b,
            critical_missed_pct=c,
        )
    name = {"APSCA-F-00123": "Çınar Denetim <Hizmetleri> & Co", "APSCA-F-00217": "Veritas Audits"}[firm]
    cell = AuditQualityCell(period="2026-Q1", audit_firm=firm, country=country, audit_firm_name=name)
    return _message(AuditQualityMessage, "audit-quality", cell, measures)


def crafted() -> list[AnyMessage]:
    """In topic order: the revised cell's revision 0 comes before its revision 1."""
    return [
        prevalence("ALL", "ALL", "WAGES", 120, (3, 10, 17)),
        prevalence("ALL", "ALL", "WORKING_HOURS", 120, (5, 20, 14), revision=0),
        prevalence("ALL", "ALL", "CHILD_LABOUR", 120, (0, 0, 0)),  # a real zero: drawn as 0
        prevalence("ALL", "ALL", "FORCED_LABOUR", 120, None),  # population-only
        prevalence("BD", "ALL", "WAGES", 61, (2, 7, 9)),
        prevalence("VN", "ALL", "WAGES", 8, None),  # population-only
        prevalence("KH", "ALL", "WAGES", None),  # suppressed
        prevalence("ALL", "APPAREL_TEXTILES", "WAGES", 77, (3, 8, 12)),
        prevalence("ALL", "ELECTRONICS", "WAGES", None),  # suppressed
        prevalence("ALL", "ALL", "WAGES", 40, (1, 2, 3), period="2025-Q4"),  # an older period
        prevalence("ALL", "ALL", "WORKING_HOURS", 124, (6, 21, 15), revision=1),  # the revision
        forced("ALL", "ALL", 120, {"DECEPTION": 4, "EXCESSIVE_OVERTIME": 9, "DEBT_BONDAGE": 2}),
        forced("BD", "ALL", 61, {"EXCESSIVE_OVERTIME": 6}),
        forced("VN", "ALL", 8, None),  # population-only
        forced("ALL", "FOOD_AGRICULTURE", None, None),  # suppressed
        relations("ALL", "ALL", 120, (40, 55, 31, 97)),
        relations("BD", "ALL", 61, (12, 30, 9, 50)),
        relations("KH", "ALL", 6, None),  # population-only
        relations("ALL", "TOYS_LEISURE", None, None),  # suppressed
        audit("APSCA-F-00123", "ALL", 40, (10.0, 40.0, 25.0, 5.0, 50.0)),
        audit("APSCA-F-00123", "BD", 24, (12.5, 37.5, 25.0, 8.3, None)),  # nothing followed
        audit("APSCA-F-00123", "CN", 16, None),  # population-only
        audit("APSCA-F-00217", "ALL", None, None),  # suppressed
    ]
