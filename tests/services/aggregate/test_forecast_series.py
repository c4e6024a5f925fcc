"""The subscriber's view as series (services.aggregate.forecast.series), from crafted messages: held
cells keep the value last published, revisions replace values, withheld and suppressed periods and
missing cells are gaps, and a forecast uses the consecutive published run ending at the latest period."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.exchange.aggregates import share_pct
from services.aggregate.forecast import model
from services.aggregate.forecast.series import (
    MAX_PERIODS,
    Series,
    published_rates,
    season_length,
    series_of,
    trailing_run,
)
from services.aggregate.release import Message, ReleaseLog, build_message
from services.aggregate.schedule import next_period, previous_period

AT = datetime(2026, 5, 1, tzinfo=UTC)
QUARTERS = [f"{y}-Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)] + ["2026-Q1"]


def msg(
    period: str,
    sites_with_issue: int | None,
    *,
    audited: int = 40,
    country: str = "BD",
    revision: int = 0,
    suppressed: bool = False,
    issue: str = "WAGES",
    table: str = "issue-prevalence",
) -> Message:
    measures: dict[str, Any] | None
    if table == "forced-labour":
        measures = {"audited_sites": audited, "sites_with_indicator": None, "by_indicator": None}
    elif suppressed:
        measures = None
    elif sites_with_issue is None:
        measures = {"audited_sites": audited, "sites_with_issue": None, "by_severity": None, "rate_pct": None}
    else:
        measures = {
            "audited_sites": audited,
            "sites_with_issue": sites_with_issue,
            "by_severity": {"critical": 0, "major": sites_with_issue, "minor": 0},
            "rate_pct": share_pct(sites_with_issue, audited),
        }
    cell = {"period": period, "country": country, "sector": "ALL"}
    if table == "issue-prevalence":
        cell["issue"] = issue
    return build_message(table, cell, "suppressed" if suppressed else "published", measures, AT, AT, revision)


def test_periods() -> None:
    assert [next_period(p) for p in ("2025-Q3", "2025-Q4", "2025-11", "2025-12")] == [
        "2025-Q4",
        "2026-Q1",
        "2025-12",
        "2026-01",
    ]
    # the period before, at each granularity, across a year
    assert [previous_period(p) for p in ("2026-Q1", "2025-Q4", "2026-01", "2025-12")] == [
        "2025-Q4",
        "2025-Q3",
        "2025-12",
        "2025-11",
    ]
    assert (season_length("2026-Q1"), season_length("2026-01")) == (4, 12)


def test_revisions_replace_and_held_cells_keep_their_value() -> None:
    """The log holds each cell's last message: a revision replaces the value; a cell the revision rule
    held has no new message, so its old value stays in the view."""
    log = ReleaseLog()
    for period in QUARTERS:
        log.record(msg(period, 10), {})
    log.record(msg("2025-Q2", 14, revision=1), {})  # a revision
    rates = published_rates(released.message for _, released in log.items())
    series = rates[("BD", "ALL", "WAGES")]
    assert series["2025-Q2"] == 35.0 and series["2025-Q1"] == 25.0  # held: last published value
    [s] = series_of((r.message for _, r in log.items()), model.MIN_PERIODS)
    assert s.values == (25.0,) * 5 + (35.0,) + (25.0,) * 3
    assert s.last_period == "2026-Q1" and s.target == "2026-Q2"
    assert s.key == b'{"country":"BD","issue":"WAGES","period":"2026-Q2","sector":"ALL"}'


def test_withheld_suppressed_and_missing_periods_are_gaps() -> None:
    """A forecast uses only the consecutive published run that ends at the latest period: a withheld
    or suppressed period, or one without a cell, cuts the series there."""
    messages = [msg(p, 10) for p in QUARTERS]
    withheld = [m if m.cell.period != "2024-Q3" else msg("2024-Q3", None) for m in messages]
    [s] = series_of(withheld, 4)
    assert s.values == (25.0,) * 6  # 2024-Q4 .. 2026-Q1
    suppressed = [
        m if m.cell.period != "2025-Q2" else msg("2025-Q2", None, suppressed=True) for m in messages
    ]
    [s] = series_of(suppressed, 3)
    assert len(s.values) == 3
    assert series_of(suppressed, 4) == []  # too short now
    missing = [m for m in messages if m.cell.period != "2025-Q4"]
    assert [len(s.values) for s in series_of(missing, 1)] == [1]
    # The latest period withheld: no forecast at all, however long the history before it.
    assert series_of([*messages[:-1], msg("2026-Q1", None)], 1) == []


def test_only_series_at_the_tables_latest_period_and_only_issue_prevalence() -> None:
    """A series whose last cell is older than the table's latest period gets no new forecast; other
    tables' messages are not read."""
    bd = [msg(p, 10) for p in QUARTERS]
    vn = [msg(p, 12, country="VN") for p in QUARTERS[:-1]]  # no cell in 2026-Q1
    fl = [msg(p, None, table="forced-labour") for p in QUARTERS]
    assert [s.country for s in series_of([*bd, *vn, *fl], 2)] == ["BD"]


def test_trailing_run_is_capped() -> None:
    periods = {f"{y}-Q{q}": float(y - 2000) for y in range(2010, 2026) for q in (1, 2, 3, 4)}
    run = trailing_run(periods, "2025-Q4")
    assert len(run) == MAX_PERIODS and run[-1] == 25.0


def test_predict_is_deterministic_rounded_and_clamped() -> None:
    values = (0.0, 0.5, 0.0, 0.3, 0.0, 0.2, 0.1, 0.0)
    first = model.predict(values, 4)
    assert first is not None and first == model.predict(values, 4)
    assert 0.0 == first.lower <= first.point <= first.upper
    for v in (first.point, first.lower, first.upper):
        assert round(v, 1) == v
    high = model.predict((99.9, 100.0, 99.8, 100.0, 99.9, 100.0, 100.0), 4)
    assert high is not None and high.upper == 100.0
    assert model.round_pct(12.25) == 12.3 and model.round_pct(-3.0) == 0.0 and model.round_pct(101.0) == 100.0
    with pytest.raises(ValueError):
        model.predict(values[:6], 4)


def test_series_dataclass_cell() -> None:
    s = Series("ALL", "APPAREL_TEXTILES", "WAGES", "2025-Q4", (1.0,))
    assert s.cell == {"period": "2026-Q1", "country": "ALL", "sector": "APPAREL_TEXTILES", "issue": "WAGES"}


def test_predict_gives_the_same_forecast_in_another_process() -> None:
    """statsforecast's fit is deterministic across processes (a restarted service re-fits the same)."""
    import subprocess
    import sys

    series = [12.5, 14.0, 11.1, 13.3, 12.0, 15.2, 13.8, 12.9, 14.4]
    code = (
        "from services.aggregate.forecast import model; "
        f"r = model.predict({series!r}, 4); print(r.point, r.lower, r.upper)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    here = model.predict(series, 4)
    assert here is not None and out.split() == [repr(here.point), repr(here.lower), repr(here.upper)]


def test_a_model_failure_is_no_forecast(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def forecast(self, **_: object) -> object:
            raise RuntimeError("cannot fit")

    monkeypatch.setattr(model, "_models", lambda: {"AutoETS": lambda season: Broken()})
    assert model.predict([1.0] * 8, 4) is None
