"""An independent reference of the `capacity-building` table (aggregates.md), raw, before disclosure.

Like `reference.py`, whose parsing, resolution and audits it builds on, it shares no code with the
production pipeline: nothing from ``services``, ``schemas.platform`` or ``schemas.shared``. The
training-topic crosswalk of taxonomy.md ("Training topics") is written out again here on purpose.

For every cell `period x country x topic` (topic = issue code, country `ALL` the margin) of a period
closed at ``release_at`` (its end plus ``grace_days``), with at least one trained contributing site:

- ``sites_trained``: distinct contributing resolved sites with a completion on the topic whose
  completion day (Sedex `completedOn`; amfori `completedAt`, its UTC day) falls in the period;
  ``participants``: summed over those completions (the latest version of each);
- the groups: the country's contributing sites with a current audit in the next period, split into
  those trained (as above) and the others; each rate is 100 x (group sites with a finding on the topic
  in a next-period audit) / group size, half up to one decimal, ``None`` for an empty group, and both
  ``None`` while the next period is not closed at ``release_at``;
- ``_sites``, ``_trained_group``, ``_untrained_group``: the reference's resolved-site ids behind them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from simulator.feed import Feed
from simulator.message import FeedMessage
from tests.services.aggregate.reference import ALL, Reference, compute, latest_events, pct, period_of_day

# taxonomy.md "Training topics", written out again.
SEDEX_TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "FORCED_LABOUR_MODERN_SLAVERY": ("FORCED_LABOUR",),
    "RESPONSIBLE_RECRUITMENT": ("RESPONSIBLE_RECRUITMENT",),
    "HEALTH_AND_SAFETY": ("HEALTH_SAFETY",),
    "WAGES_AND_HOURS": ("WAGES", "WORKING_HOURS"),
    "WORKER_VOICE": ("FREEDOM_OF_ASSOCIATION",),
    "ENVIRONMENT": ("ENVIRONMENT",),
    "BUSINESS_ETHICS": ("BUSINESS_ETHICS",),
    "MANAGEMENT_SYSTEMS": ("MANAGEMENT_SYSTEMS",),
}
AMFORI_TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "forced-labour": ("FORCED_LABOUR",),
    "responsible-recruitment": ("RESPONSIBLE_RECRUITMENT",),
    "ohs": ("HEALTH_SAFETY",),
    "fair-remuneration": ("WAGES",),
    "working-hours": ("WORKING_HOURS",),
    "social-dialogue": ("FREEDOM_OF_ASSOCIATION",),
    "environment": ("ENVIRONMENT",),
    "ethics": ("BUSINESS_ETHICS",),
    "child-labour": ("CHILD_LABOUR",),
    "grievance-mechanisms": ("MANAGEMENT_SYSTEMS",),
}


def _key(**coords: str) -> str:
    return json.dumps(coords, sort_keys=True, separators=(",", ":"))


def _period_after(period: str) -> tuple[date, str]:
    """(first day after the period, the next period), for `2025-Q4` or `2025-12`."""
    year, rest = period.split("-")
    if rest.startswith("Q"):
        month = 3 * int(rest[1:]) + 1
        granularity = "quarter"
    else:
        month = int(rest) + 1
        granularity = "month"
    first = date(int(year) + (month > 12), (month - 1) % 12 + 1, 1)
    return first, period_of_day(first, granularity)


def _closed(period: str, release_at: datetime, grace_days: int) -> bool:
    end, _ = _period_after(period)
    return datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=grace_days) <= release_at


def capacity_building(
    feed: Feed | Iterable[FeedMessage],
    release_at: datetime,
    granularity: str = "quarter",
    grace_days: int = 30,
    *,
    ref: Reference | None = None,
) -> dict[str, dict[str, Any]]:
    """capacity-building cell key -> raw measures and the site sets behind them. `ref` is
    `reference.compute(feed, granularity)` if the caller has it already."""
    messages = list(feed.messages if isinstance(feed, Feed) else feed)
    ref = compute(messages, granularity) if ref is None else ref
    trained: dict[tuple[str, str, str], dict[str, int]] = {}
    for entity, event in latest_events(messages).items():
        if entity[0] != "training":
            continue
        site_id = ref.resolution.get((event.platform, str(event.site)))
        if site_id is None:
            continue  # not a contributing site
        b = event.body
        if event.platform == "sedex":
            day, issues = date.fromisoformat(b["completedOn"]), SEDEX_TOPICS[b["topic"]]
        else:
            day = datetime.fromtimestamp(b["completedAt"] / 1000, tz=UTC).date()
            issues = AMFORI_TOPICS[b["topic"]]
        period = period_of_day(day, granularity)
        for issue in issues:
            for country in (ref.sites[site_id].country, ALL):
                by_site = trained.setdefault((period, country, issue), {})
                by_site[site_id] = by_site.get(site_id, 0) + b["participants"]

    out: dict[str, dict[str, Any]] = {}
    for (period, country, topic), by_site in sorted(trained.items()):
        if not _closed(period, release_at, grace_days):
            continue
        _, after = _period_after(period)
        next_closed = _closed(after, release_at, grace_days)
        audited = {
            site_id: issues
            for (p, site_id), issues in ref.severity.items()
            if p == after and country in (ALL, ref.sites[site_id].country)
        }
        trained_group = {s for s in audited if s in by_site} if next_closed else set()
        untrained_group = {s for s in audited if s not in by_site} if next_closed else set()

        def rate(group: set[str], topic: str = topic, audited: dict[str, Any] = audited) -> float | None:
            if not group:
                return None
            return pct(sum(1 for s in group if topic in audited[s]), len(group))

        out[_key(country=country, period=period, topic=topic)] = {
            "sites_trained": len(by_site),
            "participants": sum(by_site.values()),
            "issue_rate_trained_pct": rate(trained_group),
            "issue_rate_untrained_pct": rate(untrained_group),
            "_sites": set(by_site),
            "_trained_group": trained_group,
            "_untrained_group": untrained_group,
        }
    return out
