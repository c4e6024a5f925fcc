"""An independent reference computation of the `audit-quality` table, from the raw simulator feed.

Like ``reference.py`` (whose parsing, version rule, resolution and findings it reuses), it imports
nothing from ``services``, ``schemas.platform`` or ``schemas.shared``, and writes the rules out again
from the contract (aggregates.md `audit-quality`, taxonomy.md "Workforce bands"):

- an audit counts iff its latest event is not a withdrawal and its platform site exists; it belongs to
  the period of its end date, and to the firm of its ``apscaFirmId`` (an id not shaped like
  ``APSCA-F-00123`` makes no cell);
- cells ``period x audit_firm x country`` and ``period x audit_firm x ALL``, with the country of the
  audited resolved site;
- ``audits`` and ``sites`` (P); the shares of unannounced, semi-announced, zero-finding audits and of
  audits below the minimum auditor-days for the site's workforce (the workforce total of the resolved
  site's most recent site event, by the same rule as its country); the mean number of findings;
- ``critical_missed_pct``: of the cell's audits followed 1 to 180 days after their end date by a
  current audit of the same resolved site by a different firm (either platform, any period), the share
  where such an audit found a critical finding on an issue the first audit had no finding on; ``None``
  when no audit of the cell was followed;
- the firm's name: on its audit with the latest event time (then the greatest name) among the audits
  of ``periods`` (the periods released; all periods by default).

``audit_quality(feed)`` returns cell key (compact sorted JSON, without the firm's name) -> the raw
measures before disclosure control, plus ``_sites`` (the reference's resolved-site ids), ``_firm_name``,
and for the attack suite ``_counts`` (the counts behind the shares) and ``_contributions`` (per site,
what its audits bring to the cell, to count the sites a revision changed).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from simulator.feed import Feed
from simulator.message import FeedMessage
from tests.services.aggregate.reference import (
    ALL,
    audit_end_day,
    audit_findings,
    cell_key,
    current_audits,
    feed_state,
    pct,
    period_of_day,
)

AUDIT_QUALITY: Final = "audit-quality"
FIRM_ID: Final = re.compile(r"APSCA-F-[0-9]{5}")
# taxonomy.md: minimum on-site auditor-days for a workforce, 1–50 -> 1.5, ..., more than 1200 -> 5.
MIN_DAYS: Final = ((50, 1.5), (250, 3.0), (550, 3.5), (800, 4.0), (1200, 4.5))
FOLLOW_WINDOW: Final = (1, 180)


def minimum_days(workforce: int) -> float:
    for bound, days in MIN_DAYS:
        if workforce <= bound:
            return days
    return 5.0


def mean_tenths(total: int, count: int) -> float:
    """A mean rounded half up to one decimal."""
    return float((Decimal(total) / Decimal(count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class RefAudit:
    site: str  # resolved site
    firm: str
    name: str
    end: date
    time_ms: int
    announcement: str  # "U", "S" or "A"
    findings: int
    issues: frozenset[str]
    critical: frozenset[str]
    below: bool


def _workforce(body: dict[str, Any], platform: str) -> int:
    return int(body["workers"]["total"] if platform == "sedex" else body["workforce"]["total"])


def audits_of(feed: Feed | Iterable[FeedMessage]) -> tuple[list[RefAudit], dict[str, Any]]:
    """Every current audit of an existing platform site, and the resolved sites."""
    latest, existing, resolution, sites = feed_state(feed)
    # Per resolved site, the workforce of its most recent site event (as for its country).
    recent: dict[str, tuple[tuple[int, str, str], int]] = {}
    for (platform, ref), site in existing.items():
        body = latest[("site", platform, ref)].body
        order = (-site.time_ms, platform, ref)
        rid = resolution[(platform, ref)]
        if rid not in recent or order < recent[rid][0]:
            recent[rid] = (order, _workforce(body, platform))
    out: list[RefAudit] = []
    for _, event, rid in current_audits(latest, resolution):
        b = event.body
        company = b["auditCompany"] if event.platform == "sedex" else b["auditingCompany"]
        raw = b["announcement"] if event.platform == "sedex" else b["announcementType"]
        announcement = {"Unannounced": "U", "UNANNOUNCED": "U", "Semi-announced": "S", "SEMI_ANNOUNCED": "S"}
        days = b["auditorDays"] if event.platform == "sedex" else b["manDays"]
        findings = audit_findings(event)
        out.append(
            RefAudit(
                site=rid,
                firm=company["apscaFirmId"],
                name=company["name"],
                end=audit_end_day(event),
                time_ms=event.time_ms,
                announcement=announcement.get(raw, "A"),
                findings=len(findings),
                issues=frozenset(f.issue for f in findings),
                critical=frozenset(f.issue for f in findings if f.severity == "critical"),
                below=float(days) < minimum_days(recent[rid][1]),
            )
        )
    return out, sites


def follow_ups(audits: list[RefAudit]) -> dict[int, tuple[bool, bool]]:
    """Index of an audit -> (followed, missed), by brute force over all pairs of the same site."""
    out: dict[int, tuple[bool, bool]] = {}
    for i, a in enumerate(audits):
        followed = missed = False
        for b in audits:
            if b.site != a.site or b.firm == a.firm:
                continue
            if FOLLOW_WINDOW[0] <= (b.end - a.end).days <= FOLLOW_WINDOW[1]:
                followed = True
                if b.critical - a.issues:
                    missed = True
        out[i] = (followed, missed)
    return out


def audit_quality(
    feed: Feed | Iterable[FeedMessage], granularity: str = "quarter", periods: Collection[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Cell key -> raw measures (before disclosure control), `_sites`, `_firm_name` and `_counts`."""
    audits, sites = audits_of(feed)
    follow = follow_ups(audits)
    groups: dict[str, list[int]] = {}
    names: dict[str, tuple[int, str]] = {}
    for i, a in enumerate(audits):
        period = period_of_day(a.end, granularity)
        if periods is not None and period not in periods:
            continue
        if not FIRM_ID.fullmatch(a.firm):
            continue
        if a.firm not in names or (a.time_ms, a.name) > names[a.firm]:
            names[a.firm] = (a.time_ms, a.name)
        for country in (sites[a.site].country, ALL):
            groups.setdefault(cell_key(audit_firm=a.firm, country=country, period=period), []).append(i)
    out: dict[str, dict[str, Any]] = {}
    for key, members in groups.items():
        cell = [audits[i] for i in members]
        n = len(cell)
        followed = sum(1 for i in members if follow[i][0])
        missed = sum(1 for i in members if follow[i][1])
        counts = {
            "unannounced": sum(1 for a in cell if a.announcement == "U"),
            "semi_announced": sum(1 for a in cell if a.announcement == "S"),
            "zero_finding": sum(1 for a in cell if a.findings == 0),
            "below_minimum_days": sum(1 for a in cell if a.below),
            "critical_followed": followed,
            "critical_missed": missed,
            "findings": sum(a.findings for a in cell),
        }
        firm = cell[0].firm
        out[key] = {
            "audits": n,
            "sites": len({a.site for a in cell}),
            "unannounced_pct": pct(counts["unannounced"], n),
            "semi_announced_pct": pct(counts["semi_announced"], n),
            "zero_finding_pct": pct(counts["zero_finding"], n),
            "mean_findings_per_audit": mean_tenths(counts["findings"], n),
            "below_minimum_days_pct": pct(counts["below_minimum_days"], n),
            "critical_missed_pct": pct(missed, followed) if followed else None,
            "_sites": {a.site for a in cell},
            "_firm_name": names[firm][1],
            "_counts": counts,
            "_contributions": {
                site: tuple(
                    sorted(
                        (audits[i].announcement, audits[i].findings, audits[i].below, *follow[i])
                        for i in members
                        if audits[i].site == site
                    )
                )
                for site in {a.site for a in cell}
            },
        }
    return out
