"""The subscriber's view of issue-prevalence, as series: what a forecast may use, and nothing else.

A series is one (country, sector, issue) of the issue-prevalence table across periods. Its values are
the `rate_pct` of the *published messages*: the release log's last message per cell, which is exactly
what a subscriber of the compacted topic holds. A cell held by the revision rule keeps the value it was
last published with; a revision replaces the value; a cell whose last message is suppressed or withholds
its outcomes, and a period without a cell, are gaps.

Gaps: a forecast uses the run of consecutive published values that ends at the table's latest period
(`Series.values`), at most `MAX_PERIODS` of them. It does not fill gaps: a withheld value is unknown to
the subscriber, and an imputed one would be a guess the forecast then presents as data; a gap before
the run just shortens the series (and `periods_used` says how much was used).

Nothing here reads the normalised state: the only input is the log's messages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from schemas.exchange.aggregates import ISSUE_PREVALENCE, IssuePrevalenceMessage

from ..release import Message, message_key
from ..schedule import granularity_of, next_period, previous_period

MAX_PERIODS: Final = 20
"""At most five years of quarters (or twenty months) go into one forecast: bounds the fit's cost, and
older levels say little about the next period."""

SeriesKey = tuple[str, str, str]  # (country, sector, issue)


def season_length(period: str) -> int:
    """Periods per year: 4 for quarters, 12 for months."""
    return 4 if granularity_of(period) == "quarter" else 12


@dataclass(frozen=True, slots=True)
class Series:
    """The published values one forecast uses: `values[-1]` is the rate published for `last_period`."""

    country: str
    sector: str
    issue: str
    last_period: str
    values: tuple[float, ...]

    @property
    def target(self) -> str:
        return next_period(self.last_period)

    @property
    def cell(self) -> dict[str, str]:
        """The forecast's cell: the series' coordinates at the target period."""
        return {"period": self.target, "country": self.country, "sector": self.sector, "issue": self.issue}

    @property
    def key(self) -> bytes:
        """The forecast's message key (compact JSON, sorted keys), as the table's own keys."""
        return message_key(self.cell)


def published_rates(messages: Iterable[Message]) -> dict[SeriesKey, dict[str, float | None]]:
    """Per series, period -> the `rate_pct` its last published message shows, or None (suppressed, or
    outcomes withheld). Messages of other tables are ignored."""
    out: dict[SeriesKey, dict[str, float | None]] = defaultdict(dict)
    for message in messages:
        if not isinstance(message, IssuePrevalenceMessage) or message.table != ISSUE_PREVALENCE:
            continue
        cell = message.cell
        rate = None if message.measures is None else message.measures.rate_pct
        out[(cell.country, cell.sector, cell.issue)][cell.period] = rate
    return dict(out)


def latest_periods(rates: dict[SeriesKey, dict[str, float | None]]) -> dict[str, str]:
    """Per granularity ("quarter", "month"), the latest period the table has published any cell for."""
    latest: dict[str, str] = {}
    for periods in rates.values():
        for period in periods:
            g = granularity_of(period)
            if g not in latest or period > latest[g]:
                latest[g] = period
    return latest


def trailing_run(
    periods: Mapping[str, float | None], last: str, limit: int = MAX_PERIODS
) -> tuple[float, ...]:
    """The consecutive published values ending at `last` (oldest first), at most `limit`; empty if the
    cell at `last` shows no outcomes."""
    out: list[float] = []
    period = last
    while len(out) < limit:
        value = periods.get(period)
        if value is None:
            break
        out.append(value)
        period = previous_period(period)
    return tuple(reversed(out))


def series_of(messages: Iterable[Message], min_periods: int, limit: int = MAX_PERIODS) -> list[Series]:
    """Every series whose cell at the table's latest period is published with outcomes and which has at
    least `min_periods` consecutive published values ending there; in forecast-key order."""
    rates = published_rates(messages)
    latest = latest_periods(rates)
    out: list[Series] = []
    for (country, sector, issue), periods in rates.items():
        last = latest[granularity_of(next(iter(periods)))]
        values = trailing_run(periods, last, limit)
        if len(values) >= min_periods:
            out.append(Series(country, sector, issue, last, values))
    return sorted(out, key=lambda s: s.key)
