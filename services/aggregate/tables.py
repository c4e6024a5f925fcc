"""The cells of the `issue-prevalence` and `forced-labour` tables (aggregates.md, "Tables"), pure.

Both tables share one population per cell: the contributing sites with at least one current audit
whose end date falls in the cell's period, and whose resolved site's country and sector (from its
`ResolvedSite` record) match the cell's (`ALL` matches anything). Cells are produced for
`period x country x sector` and the margins `country x ALL`, `ALL x sector`, `ALL x ALL`; only
combinations with at least one audited site exist, since only those can have a contributing site.

Per site and period the audits are merged first, so a site audited twice (or on both platforms) in a
period counts once: its severity for an issue is the highest of its findings on that issue in the
period, its indicators the union of its findings' indicators.

`issue-prevalence` has a cell for *every* issue of `Issue` wherever the population exists, including
issues no site has (`sites_with_issue` 0): the zero is information, and the pattern of which cells
exist then depends on the population only, never on outcomes (aggregates.md, "Disclosure control").

Outcome values are as they will be published: `rate_pct` a float carrying the half-up rounded
one-decimal value (`schemas.exchange.aggregates.share_pct`, exact in `Decimal`); `by_severity` and
`by_indicator` with every key, zeros included. `Cell.additive` flattens the additive counts
(`sites_with_issue`, `by_severity.critical`,
`sites_with_indicator`, `by_indicator.DEBT_BONDAGE`, ...); `rate_pct` is a share, not additive.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from schemas.exchange.aggregates import (
    FORCED_LABOUR,
    ISSUE_PREVALENCE,
    LABOUR_FLAGS,
    LABOUR_RELATIONS,
    share_pct,
)
from schemas.taxonomy import ForcedLabourIndicator, Issue, Severity

from .contributions import Contributions, Population
from .held import HeldLabourRelations
from .model import ALL, Cell, CellKey, SiteInfo, UnitCounts, additive_counts
from .population import Granularity, NormalizedState, contributing, current_audits, period_of

_RANK: Final = {Severity.MINOR: 0, Severity.MAJOR: 1, Severity.CRITICAL: 2}
SEVERITIES: Final = (Severity.CRITICAL, Severity.MAJOR, Severity.MINOR)


@dataclass(slots=True)
class SitePeriod:
    """One contributing site's current audits of one period, merged."""

    country: str
    sector: str
    severity: dict[Issue, Severity] = field(default_factory=dict)  # highest per issue
    indicators: set[ForcedLabourIndicator] = field(default_factory=set)
    # The latest audit of the period (by end date; on a tie, the latest event time) and what it says
    # of labour relations: `labour-relations` counts the flags of that audit alone.
    latest: tuple[date, int] | None = None
    labour: HeldLabourRelations | None = None


def audited_sites(
    state: NormalizedState,
    granularity: Granularity = "quarter",
    sites: Mapping[str, SiteInfo] | None = None,
) -> dict[str, dict[str, SitePeriod]]:
    """period -> resolved site id -> the site's merged audits of the period (sites with >= 1 audit).

    `sites` is `contributing(state)`, if the caller already has it."""
    if sites is None:
        sites = contributing(state)
    out: dict[str, dict[str, SitePeriod]] = defaultdict(dict)
    for rid, audit in current_audits(state, sites):
        by_site = out[period_of(audit.audit_end, granularity)]
        entry = by_site.get(rid)
        if entry is None:
            record = state.resolved_sites[rid]
            entry = by_site[rid] = SitePeriod(country=record.country, sector=record.sector.value)
        when = (audit.audit_end, audit.updated_at_ms)
        if entry.latest is None or when > entry.latest:
            entry.latest, entry.labour = when, audit.labour_relations
        for finding in audit.findings:
            current = entry.severity.get(finding.issue)
            if current is None or _RANK[finding.severity] > _RANK[current]:
                entry.severity[finding.issue] = finding.severity
            entry.indicators.update(finding.fl_indicators)
    return dict(out)


AuditedSites = Mapping[str, Mapping[str, SitePeriod]]


def populations(
    state: NormalizedState, granularity: Granularity = "quarter", audited: AuditedSites | None = None
) -> dict[tuple[str, str, str], dict[str, SitePeriod]]:
    """(period, country, sector) -> the cell's population, margins (`ALL`) included.

    `audited` is `audited_sites(state, granularity)` if the caller has it (or a selection of its
    periods); every table's cells derive from that one pass over the state."""
    out: dict[tuple[str, str, str], dict[str, SitePeriod]] = defaultdict(dict)
    by_period = audited_sites(state, granularity) if audited is None else audited
    for period, by_site in by_period.items():
        for rid, entry in by_site.items():
            for country in (entry.country, ALL):
                for sector in (entry.sector, ALL):
                    out[(period, country, sector)][rid] = entry
    return dict(out)


def outcomes_from_counts(table: str, counts: Mapping[str, int], audited_sites: int) -> dict[str, Any]:
    """A cell's outcome measures as published, from its base counts (`by_severity.*` for an issue cell;
    `sites_with_indicator` and `by_indicator.*` for a forced-labour cell): the one place their shape
    and their derived measures (`sites_with_issue`, `rate_pct`) are made, exact or noisy."""
    if table == ISSUE_PREVALENCE:
        by_severity = {s.value: counts[f"by_severity.{s.value}"] for s in SEVERITIES}
        with_issue = sum(by_severity.values())
        return {
            "sites_with_issue": with_issue,
            "by_severity": by_severity,
            "rate_pct": share_pct(with_issue, audited_sites),
        }
    if table == FORCED_LABOUR:
        return {
            "sites_with_indicator": counts["sites_with_indicator"],
            "by_indicator": {i.value: counts[f"by_indicator.{i.value}"] for i in ForcedLabourIndicator},
        }
    if table == LABOUR_RELATIONS:
        return {flag: counts[flag] for flag in LABOUR_FLAGS}
    raise ValueError(f"no outcome measures for table {table!r}")


def _cell(
    key: CellKey,
    population: dict[str, SitePeriod],
    outcomes: dict[str, Any],
    additive: Iterable[str],
    contribution: Callable[[SitePeriod], str] | Mapping[str, str],
    unit_counts: UnitCounts,
    shared: Population | None = None,
) -> Cell:
    """`contribution`: each site's token from its entry, or the non-empty tokens already made.
    `shared`: the population's sites, when several cells share the population (an issue-prevalence
    population has a cell per issue): one `Population` held for all of them."""
    pop = Population(sorted(population)) if shared is None else shared
    tokens: Mapping[str, str]
    if callable(contribution):
        tokens = {site: token for site in pop.sites if (token := contribution(population[site]))}
    else:
        tokens = contribution
    flat = additive_counts(outcomes)
    return Cell(
        key=key,
        sites=pop.members,
        population={"audited_sites": len(population)},
        outcomes=outcomes,
        additive={name: flat[name] for name in additive},
        contributions=Contributions(pop, tokens),
        unit_counts=unit_counts,
    )


def severity_counts(token: str) -> tuple[int, dict[str, int]]:
    """What a site with this issue-cell token (its highest severity, "" for none) adds to the cell."""
    return (1, {"sites_with_issue": 1, f"by_severity.{token}": 1} if token else {})


def indicator_counts(token: str) -> tuple[int, dict[str, int]]:
    """What a site with this forced-labour token (its sorted indicators) adds to the cell."""
    if not token:
        return (1, {})
    return (1, {"sites_with_indicator": 1, **{f"by_indicator.{i}": 1 for i in token.split(",")}})


def flag_counts(token: str) -> tuple[int, dict[str, int]]:
    """What a site with this labour-relations token (four 0/1 flags) adds to the cell."""
    return (1, {flag: 1 for flag, bit in zip(LABOUR_FLAGS, token, strict=True) if bit == "1"})


def _indicators(entry: SitePeriod) -> str:
    return ",".join(sorted(i.value for i in entry.indicators))


def issue_prevalence(
    state: NormalizedState, granularity: Granularity = "quarter", audited: AuditedSites | None = None
) -> list[Cell]:
    """Every `issue-prevalence` cell with at least one contributing site, sorted by key."""
    cells: list[Cell] = []
    for (period, country, sector), population in populations(state, granularity, audited).items():
        shared = Population(sorted(population))
        # Each issue's non-empty tokens (highest severity), from one pass over the sites' findings.
        tokens: dict[Issue, dict[str, str]] = {issue: {} for issue in Issue}
        for site in shared.sites:
            for issue, severity in population[site].severity.items():
                tokens[issue][site] = severity.value
        for issue in Issue:
            severities = list(tokens[issue].values())
            counts = {f"by_severity.{s.value}": severities.count(s.value) for s in SEVERITIES}
            outcomes = outcomes_from_counts(ISSUE_PREVALENCE, counts, len(population))
            key = CellKey.of(
                ISSUE_PREVALENCE, period=period, country=country, sector=sector, issue=issue.value
            )
            additive = ["sites_with_issue", *(f"by_severity.{s.value}" for s in SEVERITIES)]
            cells.append(_cell(key, population, outcomes, additive, tokens[issue], severity_counts, shared))
    return sorted(cells, key=lambda c: c.key)


def forced_labour(
    state: NormalizedState, granularity: Granularity = "quarter", audited: AuditedSites | None = None
) -> list[Cell]:
    """Every `forced-labour` cell with at least one contributing site, sorted by key."""
    cells: list[Cell] = []
    for (period, country, sector), population in populations(state, granularity, audited).items():
        entries = population.values()
        counts = {
            "sites_with_indicator": sum(1 for e in entries if e.indicators),
            **{
                f"by_indicator.{i.value}": sum(1 for e in entries if i in e.indicators)
                for i in ForcedLabourIndicator
            },
        }
        outcomes = outcomes_from_counts(FORCED_LABOUR, counts, len(population))
        key = CellKey.of(FORCED_LABOUR, period=period, country=country, sector=sector)
        additive = ["sites_with_indicator", *(f"by_indicator.{i.value}" for i in ForcedLabourIndicator)]
        cells.append(_cell(key, population, outcomes, additive, _indicators, indicator_counts))
    return sorted(cells, key=lambda c: c.key)


# What each flag of `LabourRelations` is called as a count of `labour-relations`.
_FLAG_OF: Final = dict(
    zip(
        LABOUR_FLAGS,
        ("has_union", "has_worker_committee", "has_collective_agreement", "has_grievance_mechanism"),
        strict=True,
    )
)


def _flags(entry: SitePeriod) -> str:
    """A site's contribution to a labour-relations cell: its latest audit's four flags, as 0/1."""
    labour = entry.labour
    # Interned: sixteen values, kept once per site per cell until the cell's next release.
    return sys.intern(
        "".join("1" if labour is not None and getattr(labour, _FLAG_OF[f]) else "0" for f in LABOUR_FLAGS)
    )


def labour_relations(
    state: NormalizedState, granularity: Granularity = "quarter", audited: AuditedSites | None = None
) -> list[Cell]:
    """Every `labour-relations` cell with at least one contributing site, sorted by key."""
    cells: list[Cell] = []
    for (period, country, sector), population in populations(state, granularity, audited).items():
        tokens = [_flags(e) for e in population.values()]
        counts = {flag: sum(1 for t in tokens if t[i] == "1") for i, flag in enumerate(LABOUR_FLAGS)}
        outcomes = outcomes_from_counts(LABOUR_RELATIONS, counts, len(population))
        key = CellKey.of(LABOUR_RELATIONS, period=period, country=country, sector=sector)
        cells.append(_cell(key, population, outcomes, LABOUR_FLAGS, _flags, flag_counts))
    return sorted(cells, key=lambda c: c.key)
