"""Periods and the release schedule (aggregates.md, "Population" and "Release schedule"). Pure.

* A **period** is a calendar quarter `2026-Q1` (the default) or, if the deployment chooses, a calendar
  month `2026-01`. An audit belongs to the period of its end date. Periods are UTC calendar days:
  `period_bounds` gives the first day and the day after the last.
* A period is **closed** once its end (midnight UTC after its last day) plus a grace period (default 30
  days) has been reached: `is_closed`. Only closed periods are released; nothing of an open period
  leaves the exchange. E.g. 2026-Q1 ends 2026-04-01T00:00Z and is closed from 2026-05-01T00:00Z on, so
  the release at 2026-05-01T00:00:00Z (aggregates.md's example `release_id`) is its first.
* Releases happen **only at scheduled times**: on a grid of multiples of the cadence (default one hour)
  counted from the UTC epoch. `due_releases` lists the grid times after the last release up to now;
  each is a release whose `release_id` is that time. A release at time T covers the periods closed at T.
* Time comes from a `Clock`, so that tests and replays inject it (`ManualClock`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, Literal, Protocol

Granularity = Literal["quarter", "month"]

DEFAULT_GRACE: Final = timedelta(days=30)
DEFAULT_CADENCE: Final = timedelta(hours=1)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_QUARTER: Final = re.compile(r"(\d{4})-Q([1-4])")
_MONTH: Final = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def period_of(day: date, granularity: Granularity = "quarter") -> str:
    """The period a calendar day belongs to: `2026-Q1` or, for months, `2026-01`.

    Cached (`_period_of`): a plan asks it of every audit and every training, and they fall on a few
    hundred days a year. This typed function is what callers see, so that their arguments stay
    checked (a cache's wrapper takes anything)."""
    if isinstance(day, datetime):  # a datetime never equals a date: it would not meet a cached answer
        raise TypeError("period_of takes a calendar date, not a datetime")
    return _period_of(day, granularity)


@lru_cache(maxsize=8192)
def _period_of(day: date, granularity: str) -> str:
    if granularity == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if granularity == "month":
        return f"{day.year:04d}-{day.month:02d}"
    raise ValueError(f"unknown period granularity {granularity!r}")


def period_bounds(period: str) -> tuple[date, date]:
    """(first day, day after the last day) of a period; raises ValueError for anything else."""
    if m := _QUARTER.fullmatch(period):
        year, first_month, months = int(m[1]), 3 * int(m[2]) - 2, 3
    elif m := _MONTH.fullmatch(period):
        year, first_month, months = int(m[1]), int(m[2]), 1
    else:
        raise ValueError(f"not a period (2026-Q1 or 2026-01): {period!r}")
    start = date(year, first_month, 1)
    end_month = first_month + months
    end = date(year + 1, 1, 1) if end_month > 12 else date(year, end_month, 1)
    return start, end


def granularity_of(period: str) -> Granularity:
    period_bounds(period)
    return "quarter" if "Q" in period else "month"


def next_period(period: str) -> str:
    """The period after `period`, at its granularity: 2026-Q4 -> 2027-Q1, 2026-12 -> 2027-01."""
    return period_of(period_bounds(period)[1], granularity_of(period))


def previous_period(period: str) -> str:
    """The period before `period`, at its granularity: 2027-Q1 -> 2026-Q4, 2027-01 -> 2026-12."""
    return period_of(period_bounds(period)[0] - timedelta(days=1), granularity_of(period))


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def closes_at(period: str, grace: timedelta = DEFAULT_GRACE) -> datetime:
    """The instant from which the period is closed: its end (midnight UTC) plus the grace period."""
    if grace < timedelta(0):
        raise ValueError("the grace period cannot be negative")
    return _utc_midnight(period_bounds(period)[1]) + grace


def is_closed(period: str, now: datetime, grace: timedelta = DEFAULT_GRACE) -> bool:
    """True once `closes_at(period, grace)` has been reached (at that very instant, too)."""
    return _aware(now, "now") >= closes_at(period, grace)


def due_releases(
    last_release_at: datetime | None, now: datetime, cadence: timedelta = DEFAULT_CADENCE
) -> list[datetime]:
    """The scheduled release times t with last_release_at < t <= now, oldest first.

    Scheduled times are the UTC epoch plus whole multiples of `cadence`. With no release yet
    (`last_release_at` None) only the latest scheduled time <= now is due: the schedule does not
    reach back to 1970.
    """
    if cadence <= timedelta(0):
        raise ValueError("the cadence must be positive")
    now = _aware(now, "now")
    step = cadence // timedelta(microseconds=1)
    latest = (now - EPOCH) // timedelta(microseconds=1) // step
    if last_release_at is None:
        first = latest
    else:
        last = _aware(last_release_at, "last_release_at")
        first = (last - EPOCH) // timedelta(microseconds=1) // step + 1
    return [EPOCH + timedelta(microseconds=k * step) for k in range(first, latest + 1)]


# --- clocks -------------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock, in UTC and whole seconds (release times carry whole seconds)."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


class ManualClock:
    """A clock that moves only when told to: for tests and replays."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = _aware(when, "when")

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


"""A ManualClock that nobody advances."""
