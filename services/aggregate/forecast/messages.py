"""The forecasts of one release, as records: from the release log's published messages only.

`plan_forecasts` runs after a release's cell messages are recorded in the log, so it sees what a
subscriber sees once the release commits. For each series with a forecast to make (`series.series_of`),
it compares the published values the forecast would use with those of the last forecast sent for that
key (`ReleaseLog.forecasts`): equal, nothing is sent (a replay, a restart or an unchanged view sends no
byte); different or new, the model is fitted and the forecast sent with the key's next revision, its
state record (message and inputs) first on the release-state topic, in the release's transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from schemas.exchange.aggregates import (
    FORECASTS_TOPIC,
    ISSUE_PREVALENCE,
    RELEASE_STATE_TOPIC,
    ForecastMessage,
    ForecastStateRecord,
)

from ..release import Record, ReleaseLog, encode_forecast
from . import model
from .series import Series, season_length, series_of


@dataclass(slots=True)
class ForecastPlan:
    records: list[Record] = field(default_factory=list)
    sent_by: Counter[str] = field(default_factory=Counter)  # method -> forecasts sent
    unchanged: int = 0  # series whose inputs are those of the forecast last sent
    no_forecast: int = 0  # the model gave no finite forecast

    @property
    def sent(self) -> int:
        return sum(self.sent_by.values())


def build_forecast(
    series: Series, release_at: datetime, revision: int, method: str = model.METHOD
) -> ForecastMessage | None:
    result = model.predict(series.values, season_length(series.last_period), method)
    if result is None:
        return None
    return ForecastMessage.model_validate(
        {
            "table": ISSUE_PREVALENCE,
            "schema_version": 1,
            "release_id": release_at,
            "released_at": release_at,  # the scheduled time, as the cells: a re-run gives the same bytes
            "revision": revision,
            "cell": series.cell,
            "rate_pct": result.point,
            "lower_80": result.lower,
            "upper_80": result.upper,
            "periods_used": len(series.values),
            "last_period": series.last_period,
            "method": method,
        }
    )


def plan_forecasts(log: ReleaseLog, release_at: datetime) -> ForecastPlan:
    """The forecast records of the release at `release_at`; `log` holds the release's messages already
    and is updated with the forecasts sent."""
    plan = ForecastPlan()
    messages = (released.message for _, released in log.items())
    for series in series_of(messages, model.MIN_PERIODS):
        previous = log.forecasts.get(series.key)
        if previous is not None and tuple(previous.inputs) == series.values:
            plan.unchanged += 1
            continue
        revision = 0 if previous is None else previous.message.revision + 1
        message = build_forecast(series, release_at, revision)
        if message is None:
            plan.no_forecast += 1
            continue
        record = ForecastStateRecord(schema_version=1, message=message, inputs=list(series.values))
        state_key, state_value = log.record_forecast(record)
        key, value, headers = encode_forecast(message)
        plan.records.append((RELEASE_STATE_TOPIC, state_key, state_value, []))
        plan.records.append((FORECASTS_TOPIC, key, value, headers))
        plan.sent_by[message.method] += 1
    return plan
