"""Periods, closing, and release times on the schedule grid."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.aggregate import population
from services.aggregate.schedule import (
    Clock,
    ManualClock,
    SystemClock,
    closes_at,
    due_releases,
    granularity_of,
    is_closed,
    period_bounds,
    period_of,
)


@pytest.mark.parametrize(
    ("day", "quarter", "month"),
    [
        (date(2026, 1, 1), "2026-Q1", "2026-01"),
        (date(2026, 3, 31), "2026-Q1", "2026-03"),
        (date(2026, 4, 1), "2026-Q2", "2026-04"),
        (date(2026, 9, 30), "2026-Q3", "2026-09"),
        (date(2025, 12, 31), "2025-Q4", "2025-12"),
    ],
)
def test_period_of(day: date, quarter: str, month: str) -> None:
    assert period_of(day) == quarter == period_of(day, "quarter")
    assert period_of(day, "month") == month
    # The population module has its own period_of; the two must agree.
    assert population.period_of(day) == quarter == population.period_of(day, "quarter")
    assert population.period_of(day, "month") == month


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1)),
        ("2025-Q4", date(2025, 10, 1), date(2026, 1, 1)),
        ("2026-01", date(2026, 1, 1), date(2026, 2, 1)),
        ("2024-02", date(2024, 2, 1), date(2024, 3, 1)),
        ("2025-12", date(2025, 12, 1), date(2026, 1, 1)),
    ],
)
def test_period_bounds_are_first_day_and_day_after_last(period: str, start: date, end: date) -> None:
    assert period_bounds(period) == (start, end)
    assert period_of(start, granularity_of(period)) == period
    assert period_of(end - timedelta(days=1), granularity_of(period)) == period
    assert period_of(end, granularity_of(period)) != period


@pytest.mark.parametrize("bad", ["2026-Q0", "2026-Q5", "2026-00", "2026-13", "2026-1", "26-Q1", "2026Q1", ""])
def test_period_bounds_refuse_anything_else(bad: str) -> None:
    with pytest.raises(ValueError):
        period_bounds(bad)


def test_period_of_wants_a_day() -> None:
    with pytest.raises(TypeError):
        period_of(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        period_of(date(2026, 1, 1), "week")  # type: ignore[arg-type]


def test_a_period_closes_when_end_plus_grace_is_reached() -> None:
    closes = datetime(2026, 5, 1, tzinfo=UTC)  # 2026-04-01 + 30 days: aggregates.md's example release_id
    assert closes_at("2026-Q1") == closes
    assert not is_closed("2026-Q1", closes - timedelta(microseconds=1))
    assert is_closed("2026-Q1", closes)
    assert is_closed("2026-Q1", closes + timedelta(days=400))
    # The same instant in another offset.
    assert is_closed("2026-Q1", datetime(2026, 5, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    assert not is_closed("2026-Q1", datetime(2026, 5, 1, 1, 59, tzinfo=timezone(timedelta(hours=2))))
    # Another grace, a month period, a year boundary.
    assert is_closed("2026-Q1", datetime(2026, 4, 8, tzinfo=UTC), grace=timedelta(days=7))
    assert not is_closed("2026-Q1", datetime(2026, 4, 7, 23, tzinfo=UTC), grace=timedelta(days=7))
    assert closes_at("2025-12") == datetime(2026, 1, 31, tzinfo=UTC)
    assert closes_at("2025-Q4", grace=timedelta(0)) == datetime(2026, 1, 1, tzinfo=UTC)
    # An open period stays open however long the grace has left to run.
    assert not is_closed("2026-Q2", closes)


def test_is_closed_wants_an_aware_time_and_a_non_negative_grace() -> None:
    with pytest.raises(ValueError):
        is_closed("2026-Q1", datetime(2027, 1, 1))
    with pytest.raises(ValueError):
        is_closed("2026-Q1", datetime(2027, 1, 1, tzinfo=UTC), grace=timedelta(days=-1))


def test_due_releases_are_on_the_hourly_grid_with_a_manual_clock() -> None:
    clock = ManualClock(datetime(2026, 5, 1, 0, 0, 4, tzinfo=UTC))
    last = None
    sent: list[datetime] = []
    for step in (timedelta(0), timedelta(minutes=30), timedelta(minutes=29, seconds=56), timedelta(hours=2)):
        clock.advance(step)
        due = due_releases(last, clock.now())
        sent += due
        last = due[-1] if due else last
    assert sent == [datetime(2026, 5, 1, h, tzinfo=UTC) for h in (0, 1, 2, 3)]
    assert clock.now() == datetime(2026, 5, 1, 3, 0, 0, tzinfo=UTC)


def test_due_releases_bounds() -> None:
    at = datetime(2026, 5, 1, 10, tzinfo=UTC)
    # Strictly after the last release, up to and including now.
    assert due_releases(at, at) == []
    assert due_releases(at - timedelta(seconds=1), at) == [at]
    assert due_releases(at - timedelta(hours=3), at + timedelta(minutes=59)) == [
        at - timedelta(hours=2),
        at - timedelta(hours=1),
        at,
    ]
    assert due_releases(at, at - timedelta(hours=1)) == []
    # No release yet: only the latest grid time.
    assert due_releases(None, at + timedelta(minutes=20)) == [at]
    # Other cadences stay aligned to epoch multiples.
    assert due_releases(at, at + timedelta(minutes=40), cadence=timedelta(minutes=15)) == [
        at + timedelta(minutes=m) for m in (15, 30)
    ]
    assert due_releases(None, datetime(2026, 5, 1, 23, tzinfo=UTC), cadence=timedelta(days=1)) == [
        datetime(2026, 5, 1, tzinfo=UTC)
    ]
    assert due_releases(None, datetime(2026, 5, 1, 0, 36, tzinfo=UTC), cadence=timedelta(minutes=7)) == [
        datetime(2026, 5, 1, 0, 30, tzinfo=UTC)  # 4_232_370 * 7 minutes after the epoch, not 00:35
    ]
    with pytest.raises(ValueError):
        due_releases(None, at, cadence=timedelta(0))
    with pytest.raises(ValueError):
        due_releases(None, datetime(2026, 5, 1))


def test_clocks() -> None:
    clocks: list[Clock] = [SystemClock(), ManualClock(datetime(2026, 1, 1, tzinfo=UTC))]
    for clock in clocks:
        now = clock.now()
        assert now.tzinfo is not None and now.utcoffset() == timedelta(0) and now.microsecond == 0
    manual = ManualClock(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert manual.now() == datetime(2026, 1, 1, tzinfo=UTC) and manual.now().tzinfo is UTC
    manual.set(datetime(2026, 2, 1, tzinfo=UTC))
    assert manual.advance(timedelta(hours=1)) == datetime(2026, 2, 1, 1, tzinfo=UTC) == manual.now()
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1))
