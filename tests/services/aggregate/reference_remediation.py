"""An independent reference computation of the `remediation` table, from the raw simulator feed.

Like `reference`, it shares no code with production: nothing from ``services``, ``schemas.platform`` or
``schemas.shared``. It builds on `reference`'s own parsing (latest event per entity, existing platform
sites, resolution) and adds what aggregates.md says of `remediation`:

- a finding is a finding of a current audit (latest audit event an upsert, its platform site existing)
  with its reference on that audit: Sedex ``findingRef`` of a ``NonCompliance`` or
  ``CollaborativeActionRequired`` finding (observations and good examples are no findings), amfori
  ``findingId`` of a performance-area or zero-tolerance finding;
- it counts when the latest corrective-action event of that finding (``CorrectiveActionUpdated`` /
  ``remediation.updated``, highest version) names the same audit and finding;
- closed: Sedex ``Closed`` with ``closedDate``, amfori ``RESOLVED`` with the UTC day of ``resolvedAt``;
  ``NOT_RESOLVED`` is not closed. Due: Sedex ``dueDate``, amfori the UTC day of ``deadline``;
- period and days to close from the audit's end day (Sedex ``auditEnd``, amfori UTC day of
  ``auditDate``); country from the resolved site; overdue when not closed and due before the UTC day
  of the release time.

Public API: ``remediation(feed, release_at, granularity="quarter")``: cell key (compact sorted-key
JSON, ``period``, ``country`` or ``ALL``, ``issue``) -> raw measures (before disclosure control) plus
``"_sites"``, the set of reference resolved-site ids behind the cell's findings (the population the
disclosure rules count), ``"closed_on_time"`` (the count behind the share) and ``"_contributions"``:
site -> what its findings bring to the cell at that release time (closed with their days and
timeliness, open overdue, open), which the revision rule and the differencing attack compare.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from schemas.taxonomy import BSCI_PERFORMANCE_AREAS, SMETA_CLAUSES, ZERO_TOLERANCE_CATEGORIES
from simulator.feed import Feed
from simulator.message import FeedMessage
from tests.services.aggregate.reference import (
    ALL,
    Event,
    audit_end_day,
    cell_key,
    current_audits,
    feed_state,
    pct,
    period_of_day,
)


@dataclass(frozen=True)
class Action:
    closed: date | None
    due: date


def _utc_day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def finding_issues(event: Event) -> dict[str, str]:
    """An audit event's findings: platform finding reference -> issue code."""
    b = event.body
    out: dict[str, str] = {}
    if event.platform == "sedex":
        clauses = SMETA_CLAUSES[b["methodology"]["version"]]
        for f in b["findings"]:
            if f["type"] in ("NonCompliance", "CollaborativeActionRequired"):
                out[f["findingRef"]] = clauses[f["clause"]].value
        return out
    for area in b["performanceAreas"]:
        for f in area["findings"]:
            out[f["findingId"]] = BSCI_PERFORMANCE_AREAS[area["pa"]].value
    for z in b["zeroTolerance"]:
        out[z["findingId"]] = ZERO_TOLERANCE_CATEGORIES[z["category"]].value
    return out


def action_of(event: Event) -> Action:
    b = event.body
    if event.platform == "sedex":
        closed = date.fromisoformat(b["closedDate"]) if b["status"] == "Closed" else None
        return Action(closed=closed, due=date.fromisoformat(b["dueDate"]))
    closed = _utc_day(b["resolvedAt"]) if b["state"] == "RESOLVED" else None
    return Action(closed=closed, due=_utc_day(b["deadline"]))


def _median(values: list[int]) -> float:
    v = sorted(values)
    n = len(v)
    return float(v[n // 2]) if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def remediation(
    feed: Feed | Iterable[FeedMessage], release_at: datetime, granularity: str = "quarter"
) -> dict[str, dict[str, Any]]:
    """remediation cell key -> raw measures and ``_sites`` at the release time ``release_at``."""
    latest, _, resolution, sites = feed_state(feed)
    today = release_at.astimezone(UTC).date()

    # (platform, audit ref) -> (resolved site, end day, finding ref -> issue), for current audits
    audits: dict[tuple[str, str], tuple[str, date, dict[str, str]]] = {}
    for entity, event, rid in current_audits(latest, resolution):
        audits[(entity[1], entity[2])] = (
            rid,
            audit_end_day(event),
            finding_issues(event),
        )

    # cell -> list of (site, days to close or None, on time, overdue)
    cells: dict[str, list[tuple[str, int | None, bool, bool]]] = {}
    for entity, event in latest.items():
        if entity[0] != "finding":
            continue
        _, platform, audit_ref, finding_ref = entity
        audit = audits.get((platform, audit_ref))
        if audit is None or finding_ref not in audit[2]:
            continue
        site_id, end, issues = audit
        action = action_of(event)
        days = None if action.closed is None else (action.closed - end).days
        on_time = action.closed is not None and action.closed <= action.due
        overdue = action.closed is None and action.due < today
        period = period_of_day(end, granularity)
        for country in (sites[site_id].country, ALL):
            key = cell_key(period=period, country=country, issue=issues[finding_ref])
            cells.setdefault(key, []).append((site_id, days, on_time, overdue))

    out: dict[str, dict[str, Any]] = {}
    for key, rows in cells.items():
        days_list = [d for _, d, _, _ in rows if d is not None]
        closed = len(days_list)
        timely = sum(1 for _, _, t, _ in rows if t)
        out[key] = {
            "findings": len(rows),
            "closed": closed,
            "closed_on_time_pct": pct(timely, closed) if closed else None,
            "median_days_to_close": _median(days_list) if closed else None,
            "open_overdue": sum(1 for _, _, _, o in rows if o),
            "closed_on_time": timely,
            "_sites": {s for s, _, _, _ in rows},
            "_contributions": {
                site: tuple(sorted((d if d is not None else -1, t, o) for s, d, t, o in rows if s == site))
                for site in {s for s, _, _, _ in rows}
            },
        }
    return out
