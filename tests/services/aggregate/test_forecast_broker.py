"""Forecasts released on schedule through the whole exchange against the real broker.

Ten months of both platforms go through ingest, normalize and aggregate (monthly periods, so that a
release sees the seven published periods a forecast needs). At the scheduled release, aggregate
publishes the tables and, in the same transaction, the forecasts. Checked from what a subscriber
reads on the public topics alone:

- there are forecasts, each of a series published with outcomes, for the period after the last one;
- each equals the forecast a subscriber computes from the published issue-prevalence messages (so the
  forecasts say nothing the tables did not);
- their record timestamps are the release time, and they pass the hygiene guard.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from schemas.exchange.aggregates import (
    FORECASTS_TOPIC,
    ISSUE_PREVALENCE,
    ForecastMessage,
    parse_message,
    topic_of,
)
from services.aggregate.forecast import model
from services.aggregate.forecast.messages import build_forecast
from services.aggregate.forecast.series import series_of
from services.aggregate.release import assert_hygienic
from services.kafka_auth import client_options
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.publish import publish
from tests.support.exchange import exchange, holds_everything, last_release, post_clock
from tests.support.kafka import create_topics, eventually, read_topic, unique

pytestmark = pytest.mark.broker

# Quarters up to 2025-Q4 are closed (30 days of grace). In the past: the broker refuses record timestamps
# (the release time) more than an hour ahead of its clock (log.message.timestamp.after.max.ms).
RELEASE_AT = "2026-02-15T00:00:00Z"
# A series needs 7 consecutive periods with outcomes. A margin shows outcomes only when every cell below
# does, so in a feed this small the series are leaves of a few sites a quarter: outcome_min 5 (of the
# default 20) gives them outcomes in most quarters.
OUTCOME_MIN = 5


async def test_forecasts_are_released_with_the_tables_and_follow_from_them(
    bootstrap: str, tmp_path: Path
) -> None:
    feed = generate_feed(seed=17, sites_per_platform=500, start=date(2024, 1, 1), months=24)
    x = exchange(
        bootstrap, tmp_path, unique("f"), "2024-01-01T00:00:00Z", {"AGGREGATE_OUTCOME_MIN": str(OUTCOME_MIN)}
    )
    await create_topics(bootstrap, [x.sedex, x.amfori, x.accepted])
    issue_topic, forecast_topic = x.released + topic_of(ISSUE_PREVALENCE), x.released + FORECASTS_TOPIC
    try:
        for service in x.services:
            service.start()
        for service in x.services:
            service.wait_healthy()
        await publish(feed, bootstrap, topics=x.platform_topics, security=client_options())

        async def through_everything() -> bool:
            return await holds_everything(x, bootstrap, len(feed.messages))

        await eventually(through_everything, 360, "the feed through all three services")
        post_clock(x.aggregate, RELEASE_AT)

        async def released() -> bool:
            return bool(last_release(x.aggregate) == "2026-02-15T00:00:00+00:00")

        await eventually(released, 180, f"the release at {RELEASE_AT}")
        tables = await read_topic(bootstrap, issue_topic)
        forecasts = await read_topic(bootstrap, forecast_topic)
    finally:
        x.stop()
    await delete_topics(bootstrap, [x.sedex, x.amfori, x.accepted])

    sent = [ForecastMessage.model_validate_json(r.value or b"") for r in forecasts]
    assert sent, "the release must publish forecasts"
    release_ms = int(datetime.fromisoformat(RELEASE_AT).timestamp() * 1000)
    assert {r.timestamp for r in forecasts} == {release_ms}
    for r in forecasts:
        assert_hygienic(r.value or b"")
    assert {m.cell.period for m in sent} == {"2026-Q1"} and {m.last_period for m in sent} == {"2025-Q4"}

    # What a subscriber computes from the published issue-prevalence messages alone.
    public = [parse_message(r.value or b"") for r in tables]
    at = datetime.fromisoformat(RELEASE_AT)
    expected = [build_forecast(s, at, 0) for s in series_of(public, model.MIN_PERIODS)]
    assert sorted(m.model_dump_json() for m in sent) == sorted(m.model_dump_json() for m in expected if m)
