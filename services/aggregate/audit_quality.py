"""The cells of the `audit-quality` table (aggregates.md, `audit-quality`), pure.

Cells are `period x audit_firm x country` and `period x audit_firm x ALL`. Unlike the other tables,
the unit counted is the *audit*: `audits` (P) is the firm's current audits of the period at
contributing sites (in the country), `sites` (P) their distinct resolved sites. The disclosure rules
still count sites (the cell's population is its sites: >= 10 of them, the insider rule per supplier
and member), because the sites are what is protected; the firm is published on purpose.

Per audit (`AuditFacts`):

* its announcement (`unannounced_pct`, `semi_announced_pct`), whether it has no finding at all
  (`zero_finding_pct`), its number of findings (`mean_findings_per_audit`);
* whether its auditor-days are below taxonomy.md's minimum for the *site's* workforce
  (`below_minimum_days_pct`): the workforce total of the resolved site's most recent site event among
  its platform sites (greatest event time, then the platform whose name sorts first, then the smaller
  platform site id), the rule that gives a resolved site its country and sector;
* whether it was *followed*: another current audit of the same resolved site, by a different firm
  (another APSCA id) on either platform, ending 1 to 180 days after it (of any period, closed or not:
  the later audit is not published, only the share); and whether it was *missed*: such a later audit
  found a critical finding on an issue this audit reported no finding on.

`critical_missed_pct` = missed / followed, `null` when no audit of the cell was followed.

What enters `Cell.additive` (the unknowns of the no-exact-recovery LP): a share whose denominator is
published is a count in disguise (at these sizes `unannounced_pct x audits / 100` gives the count
exactly), so each of the four shares enters as its numerator (`unannounced`, `semi_announced`,
`zero_finding`, `below_minimum_days`). They add up from countries to ALL because an audit has one site
and a site one country. `critical_missed_pct`'s denominator is itself an outcome that is never
published; both its numerator and its denominator (`critical_missed`, `critical_followed`) enter as if
the subscriber knew them for every shown cell: that overstates the attacker and can only withhold
more. `mean_findings_per_audit` does not enter: a mean over `audits` rounded to one decimal pins the
total only to an interval of `audits / 10` findings, and the outcome and residual rules keep every
remainder at >= 20 sites (so >= 20 audits), a window of at least two findings.

Contributions (revision rule): a site's token in a cell is the sorted list of its audits' facts in
the cell (announcement, zero finding, below minimum, followed, missed, number of findings), so a
site whose audit is revised, or whose audit becomes missed because a later audit arrived (even one of
an open period), is a changed site, and the cell is re-sent only when k_delta real sites changed.

The firm's name (`cell.audit_firm_name`, a label, not a coordinate) is the name on the firm's current
audit with the latest event time among the audits of the periods released (so an audit of an open
period cannot change what a release says); a name the message model would refuse (one that looks like
a date, an id or an address) is passed over, and a firm with no publishable name is named by its id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from schemas.exchange.aggregates import (
    AUDIT_FIRM_ID,
    AUDIT_FIRM_NAME,
    AUDIT_QUALITY,
    mean_one_decimal,
    share_pct,
)
from schemas.shared.models import Announcement
from schemas.taxonomy import Issue, Severity, min_auditor_days

from .held import HeldAudit
from .model import ALL, Cell, CellKey, SiteInfo, joined_contributions
from .population import Granularity, NormalizedState, contributing, current_audits, participating, period_of

FOLLOW_UP_DAYS: Final = (1, 180)  # aggregates.md: a later audit 1 to 180 days after the end date
_ANNOUNCEMENT: Final = {
    Announcement.ANNOUNCED: "A",
    Announcement.SEMI_ANNOUNCED: "S",
    Announcement.UNANNOUNCED: "U",
}


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """One current audit of a contributing site, as audit-quality reads it."""

    site: str  # resolved site id
    firm: str  # APSCA firm id, as sent
    firm_name: str
    end: date
    event_ms: int
    announcement: Announcement
    findings: int
    reported: frozenset[Issue]  # issues with at least one finding
    critical: frozenset[Issue]  # issues with a critical finding
    below_minimum: bool
    followed: bool = False
    missed: bool = False

    def token(self) -> str:
        """What this audit brings to its cells, for the revision rule (no id, no time)."""
        flags = (self.findings == 0, self.below_minimum, self.followed, self.missed)
        return (
            _ANNOUNCEMENT[self.announcement] + "".join("1" if f else "0" for f in flags) + f":{self.findings}"
        )


_FLAG_COUNTS: Final = ("zero_finding", "below_minimum_days", "critical_followed", "critical_missed")
_ANNOUNCEMENT_COUNTS: Final = {"U": "unannounced", "S": "semi_announced"}


def audit_counts(token: str) -> tuple[int, dict[str, int]]:
    """What a site whose audits have this joined token (`AuditFacts.token`, one per audit) adds to a
    cell: one population unit and the additive counts of each audit."""
    counts: dict[str, int] = {}
    audits = token.split(",") if token else []
    for audit in audits:
        facts = audit.split(":", 1)[0]
        names = [_ANNOUNCEMENT_COUNTS.get(facts[0])]
        names += [name for name, bit in zip(_FLAG_COUNTS, facts[1:], strict=True) if bit == "1"]
        for name in names:
            if name is not None:
                counts[name] = counts.get(name, 0) + 1
    return len(audits), counts


def site_workforce(state: NormalizedState, resolved_site_id: str) -> int | None:
    """The workforce total of the resolved site's most recent site event among its platform sites
    (greatest event time; on a tie the platform whose name sorts first, then the smaller site id)."""
    records = [
        record
        for p in participating(state, state.resolved_sites[resolved_site_id])
        if (record := state.platform_sites.get(p)) is not None
    ]
    if not records:
        return None
    recent = min(records, key=lambda r: (-r.updated_at_ms, r.platform, r.site_id))
    return recent.workforce_total


def _facts(rid: str, audit: HeldAudit, workforce: int | None) -> AuditFacts:
    return AuditFacts(
        site=rid,
        firm=audit.audit_firm,
        firm_name=audit.audit_firm_name,
        end=audit.audit_end,
        event_ms=audit.updated_at_ms,
        announcement=audit.announcement,
        findings=len(audit.findings),
        reported=frozenset(f.issue for f in audit.findings),
        critical=frozenset(f.issue for f in audit.findings if f.severity is Severity.CRITICAL),
        below_minimum=workforce is not None and audit.auditor_days < min_auditor_days(workforce),
    )


def with_follow_ups(audits: Iterable[AuditFacts]) -> list[AuditFacts]:
    """Each audit with `followed` and `missed` set from the other audits of its site (pure)."""
    by_site: dict[str, list[AuditFacts]] = defaultdict(list)
    for a in audits:
        by_site[a.site].append(a)
    out: list[AuditFacts] = []
    low, high = FOLLOW_UP_DAYS
    for site in sorted(by_site):
        group = by_site[site]
        for a in group:
            later = [b for b in group if b.firm != a.firm and low <= (b.end - a.end).days <= high]
            missed = any(b.critical - a.reported for b in later)
            out.append(replace(a, followed=bool(later), missed=missed))
    return out


def audit_facts(state: NormalizedState, sites: Mapping[str, SiteInfo] | None = None) -> list[AuditFacts]:
    """Every current audit of a contributing site, with its follow-ups, in audit id order per site."""
    if sites is None:
        sites = contributing(state)
    workforce: dict[str, int | None] = {}
    facts = []
    for rid, audit in current_audits(state, sites):
        if rid not in workforce:
            workforce[rid] = site_workforce(state, rid)
        facts.append(_facts(rid, audit, workforce[rid]))
    return with_follow_ups(facts)


def _publishable(value: str, adapter: TypeAdapter[str]) -> bool:
    """Whether the message model accepts `value` (a firm id or name): what is not, is not published."""
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def firm_names(audits: Iterable[AuditFacts]) -> dict[str, str]:
    """Firm id -> its name as last reported: the name on its audit with the latest event time (then
    the greatest name, so that the choice is deterministic), among names the message accepts."""
    latest: dict[str, tuple[int, str]] = {}
    for a in audits:
        if not _publishable(a.firm_name, AUDIT_FIRM_NAME):
            continue
        when = (a.event_ms, a.firm_name)
        if a.firm not in latest or when > latest[a.firm]:
            latest[a.firm] = when
    return {firm: name for firm, (_, name) in latest.items()}


def measures_of(audits: Collection[AuditFacts]) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    """(population, outcomes, additive counts) of a cell with these audits (at least one)."""
    n = len(audits)
    counts = {
        "unannounced": sum(a.announcement is Announcement.UNANNOUNCED for a in audits),
        "semi_announced": sum(a.announcement is Announcement.SEMI_ANNOUNCED for a in audits),
        "zero_finding": sum(a.findings == 0 for a in audits),
        "below_minimum_days": sum(a.below_minimum for a in audits),
        "critical_followed": sum(a.followed for a in audits),
        "critical_missed": sum(a.missed for a in audits),
    }
    followed = counts["critical_followed"]
    outcomes: dict[str, Any] = {
        "unannounced_pct": share_pct(counts["unannounced"], n),
        "semi_announced_pct": share_pct(counts["semi_announced"], n),
        "zero_finding_pct": share_pct(counts["zero_finding"], n),
        "mean_findings_per_audit": mean_one_decimal(sum(a.findings for a in audits), n),
        "below_minimum_days_pct": share_pct(counts["below_minimum_days"], n),
        "critical_missed_pct": share_pct(counts["critical_missed"], followed) if followed else None,
    }
    population = {"audits": n, "sites": len({a.site for a in audits})}
    return population, outcomes, counts


def audit_quality(
    state: NormalizedState,
    granularity: Granularity = "quarter",
    periods: Collection[str] | None = None,
    sites: Mapping[str, SiteInfo] | None = None,
) -> list[Cell]:
    """Every `audit-quality` cell of `periods` (all periods if None) with at least one contributing
    site, sorted by key. Follow-up audits are looked for in every period, `periods` or not.

    `sites` is `contributing(state)`, if the caller already has it."""
    if sites is None:
        sites = contributing(state)
    facts = audit_facts(state, sites)
    country_of = {rid: state.resolved_sites[rid].country for rid in sites}
    groups: dict[tuple[str, str, str], list[AuditFacts]] = defaultdict(list)
    released: list[AuditFacts] = []
    for a in facts:
        period = period_of(a.end, granularity)
        if periods is not None and period not in periods:
            continue
        if not _publishable(a.firm, AUDIT_FIRM_ID):
            continue  # not an APSCA firm id: no firm to publish it under
        released.append(a)
        for country in (country_of[a.site], ALL):
            groups[(period, a.firm, country)].append(a)
    names = firm_names(released)
    cells: list[Cell] = []
    for (period, firm, country), audits in groups.items():
        population, outcomes, counts = measures_of(audits)
        contributions = joined_contributions(audits)
        cells.append(
            Cell(
                key=CellKey.of(AUDIT_QUALITY, period=period, audit_firm=firm, country=country),
                sites=frozenset(contributions),
                population=population,
                outcomes=outcomes,
                additive=counts,
                contributions=contributions,
                labels={"audit_firm_name": names.get(firm, firm)},
                unit_counts=audit_counts,
            )
        )
    return sorted(cells, key=lambda c: c.key)
