"""The cells of the `remediation` table (aggregates.md, "Tables") at one release time, pure.

**What counts.** A finding counts when it is a finding of a current audit of a contributing site
(`population.current_audits`: withdrawn audits are absent, an audit is its latest version) and a
corrective-action record names it: the record's `audit_id` is that audit and its `finding_id` is one
of the audit's findings. A record for a finding no current audit has (the audit was withdrawn, its
site left, or the "finding" was a Sedex observation that normalize dropped) counts nowhere. The record
is the latest version of the finding's corrective action (normalize applies the version rule; the
compacted topic holds one record per finding id). The finding's period is its audit's period, its
country the country of the audit's resolved site, its issue the finding's issue.

**Cells.** `period x country x issue` and the margin `period x ALL x issue`, for every combination
with at least one such finding (a cell with no finding has no contributing site and is never sent).

**Measures.** `findings` (P) counts findings; `closed` those whose action is `CLOSED` (`NOT_RESOLVED`
is not closed); `closed_on_time_pct` the share of those closed on or before their due date;
`median_days_to_close` the median of (closed date - audit end date) in days over closed findings
(of an even count, the mean of the two middle values, so a whole or half day); `open_overdue` the
findings not closed whose due date is before the UTC day of the release time. The share and the
median are null while `closed` is 0 (a share of nothing is not 0 %).

**The rules count sites.** The cell's population for the threshold, insider, outcome and residual
rules is the set of contributing resolved sites behind its findings (`Cell.sites`), not the findings:
the exchange protects sites, and ten findings of one site are still one site. So `Cell.sites` and
`findings` differ; the message carries only `findings`.

**Additive relations** (`Cell.additive`, for the no-exact-recovery check): a finding has one audit,
one site and so one country, so `findings`, `closed`, the on-time closed count and `open_overdue` of
the countries add up to the `ALL` margin exactly; the on-time count is listed because the share and
`closed` give it away. The median is not additive and is left out. `findings` is the population
measure, the upper bound the recovery LP puts on every count of a cell.

**The clock.** `open_overdue` changes with the release time alone: at midnight UTC a finding whose due
date was yesterday becomes overdue without any input event. The revision rule must govern that too,
so each site's contribution token (`Cell.contributions`) holds everything the site brings to the cell
*at this release time*, its overdue findings included: a finding going overdue changes that site's
token, and the cell is re-sent only when at least k_delta real sites changed (and pass the insider
rule as a set), exactly as for a change of input. Tokens hold no finding ids: a change with no effect
on the measures (a finding id re-pseudonymised) is no change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from schemas.exchange.aggregates import REMEDIATION, share_pct
from schemas.taxonomy import Issue

from .model import ALL, Cell, CellKey, SiteInfo, joined_contributions
from .population import Granularity, NormalizedState, contributing, current_audits, period_of

POPULATION: Final = "findings"
ON_TIME: Final = "closed_on_time"  # the additive count behind closed_on_time_pct (never published)


@dataclass(frozen=True, slots=True)
class Remediated:
    """One finding with a corrective action, as the table sees it at one release time."""

    site: str  # resolved site id
    country: str
    period: str
    issue: Issue
    days_to_close: int | None  # None while not closed
    on_time: bool  # closed on or before the due date
    overdue: bool  # not closed, due before the release's UTC day

    def token(self) -> str:
        """What this finding brings to its cell: `c<days>+` / `c<days>-` (closed on time / late),
        `o!` (open and overdue), `o` (open, not yet overdue)."""
        if self.days_to_close is not None:
            return f"c{self.days_to_close}{'+' if self.on_time else '-'}"
        return "o!" if self.overdue else "o"


def finding_counts(token: str) -> tuple[int, dict[str, int]]:
    """What a site whose findings have this joined token (`Remediated.token`, one per finding) adds
    to a cell: one population unit per finding and its additive counts."""
    tokens = token.split(",") if token else []
    closed = [t for t in tokens if t.startswith("c")]
    return len(tokens), {
        "closed": len(closed),
        ON_TIME: sum(t.endswith("+") for t in closed),
        "open_overdue": sum(t == "o!" for t in tokens),
    }


def release_day(release_at: datetime) -> date:
    """The UTC day of the release time, which `open_overdue` compares due dates with."""
    if release_at.tzinfo is None:
        raise ValueError("a release time must be timezone-aware")
    return release_at.astimezone(UTC).date()


def remediated(
    state: NormalizedState,
    release_at: datetime,
    granularity: Granularity = "quarter",
    sites: Mapping[str, SiteInfo] | None = None,
    periods: Collection[str] | None = None,
) -> list[Remediated]:
    """Every finding with a corrective action on a current audit of a contributing site, in the given
    `periods` (all, if None), in (audit id, finding id) order."""
    today = release_day(release_at)
    audits = {audit.audit_id: (rid, audit) for rid, audit in current_audits(state, sites)}
    out: list[Remediated] = []
    for finding_id in sorted(state.corrective_actions):
        action = state.corrective_actions[finding_id]
        found = audits.get(action.audit_id)
        if found is None:
            continue
        rid, audit = found
        finding = next((f for f in audit.findings if f.finding_id == action.finding_id), None)
        if finding is None:
            continue
        period = period_of(audit.audit_end, granularity)
        if periods is not None and period not in periods:
            continue
        closed = action.closed_date if action.status.is_closed else None
        out.append(
            Remediated(
                site=rid,
                country=state.resolved_sites[rid].country,
                period=period,
                issue=finding.issue,
                days_to_close=None if closed is None else (closed - audit.audit_end).days,
                on_time=closed is not None and closed <= action.due_date,
                overdue=closed is None and action.due_date < today,
            )
        )
    return out


def median(values: Iterable[int]) -> float:
    """aggregates.md: the middle value; of an even count, the mean of the two middle values."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("a median needs at least one value")
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def outcomes_of(findings: Iterable[Remediated]) -> tuple[dict[str, Any], dict[str, int]]:
    """A cell's outcome measures as published, and its additive counts."""
    found = list(findings)
    days = [f.days_to_close for f in found if f.days_to_close is not None]
    closed = len(days)
    on_time = sum(1 for f in found if f.on_time)
    overdue = sum(1 for f in found if f.overdue)
    outcomes: dict[str, Any] = {
        "closed": closed,
        "closed_on_time_pct": share_pct(on_time, closed) if closed else None,
        "median_days_to_close": median(days) if closed else None,
        "open_overdue": overdue,
    }
    return outcomes, {"closed": closed, ON_TIME: on_time, "open_overdue": overdue}


def remediation(
    state: NormalizedState,
    release_at: datetime,
    granularity: Granularity = "quarter",
    sites: Mapping[str, SiteInfo] | None = None,
    periods: Collection[str] | None = None,
) -> list[Cell]:
    """Every `remediation` cell with at least one finding at `release_at`, sorted by key."""
    if sites is None:
        sites = contributing(state)
    groups: dict[tuple[str, str, Issue], list[Remediated]] = defaultdict(list)
    for f in remediated(state, release_at, granularity, sites, periods):
        for country in (f.country, ALL):
            groups[(f.period, country, f.issue)].append(f)
    cells: list[Cell] = []
    for (period, country, issue), findings in groups.items():
        outcomes, additive = outcomes_of(findings)
        contributions = joined_contributions(findings)
        cells.append(
            Cell(
                key=CellKey.of(REMEDIATION, period=period, country=country, issue=issue.value),
                sites=frozenset(contributions),
                population={POPULATION: len(findings)},
                outcomes=outcomes,
                additive=additive,
                contributions=contributions,
                unit_counts=finding_counts,
            )
        )
    return sorted(cells, key=lambda c: c.key)
