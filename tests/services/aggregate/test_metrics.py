"""Aggregate's schedule metrics: the last release time is read from the releaser at each scrape, so the
"release late" alert sees what the releaser knows, and it is NaN (never 0, which would read as 1970 and
fire the alert at once) before any release is known."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from prometheus_client import CollectorRegistry

from services.aggregate.metrics import AggregateMetrics


def test_last_release_follows_the_releaser_and_the_cadence_is_exported() -> None:
    registry = CollectorRegistry()
    metrics = AggregateMetrics(registry)
    last: list[datetime | None] = [None]
    metrics.follow_schedule(lambda: last[0], 3600)
    before = registry.get_sample_value("sx_aggregate_last_release_timestamp_seconds")
    assert before is not None and math.isnan(before)
    last[0] = datetime(2026, 5, 1, tzinfo=UTC)
    assert registry.get_sample_value("sx_aggregate_last_release_timestamp_seconds") == 1777593600.0
    assert registry.get_sample_value("sx_aggregate_release_cadence_seconds") == 3600.0


def test_the_state_gauge_counts_every_input_kind() -> None:
    """`sx_aggregate_state_records{kind}`: what aggregate holds of each input topic, which an operator
    (and the end-to-end test) compares with the topic itself. A world with corrective actions and
    trainings: every kind of record is counted, none stays at zero."""
    from schemas.shared.models import CorrectiveActionStatus
    from schemas.taxonomy import Issue, Severity
    from services.aggregate.population import INPUT_KINDS
    from tests.services.aggregate.crafted import Crafted

    w = Crafted()
    for i in range(3):
        name = w.site(f"S{i}")
        w.audit(f"{name}-a", name, (Issue.WAGES, Severity.MAJOR))
        w.corrective_action(f"{name}-a", 0, due=date(2026, 6, 1), status=CorrectiveActionStatus.OPEN)
    state = w.state()
    registry = CollectorRegistry()
    AggregateMetrics(registry).set_state_sizes(state)
    held = {
        kind: registry.get_sample_value("sx_aggregate_state_records", {"kind": kind})
        for kind in INPUT_KINDS.values()
    }
    assert held["platform-site"] == len(state.platform_sites) == 3
    assert held["audit"] == len(state.audits) == 3
    assert held["corrective-action"] == len(state.corrective_actions) == 3
    assert held["training"] == len(state.trainings)
    assert all(value is not None for value in held.values()), held


def test_forecasts_sent_are_counted_by_method() -> None:
    from collections import Counter

    from services.aggregate.forecast import ForecastPlan
    from services.aggregate.planner import ReleasePlan

    registry = CollectorRegistry()
    metrics = AggregateMetrics(registry)
    assert registry.get_sample_value("sx_aggregate_forecasts_sent_total", {"method": "AutoETS"}) == 0.0
    plan = ReleasePlan(
        "2026-05-01T00:00:00Z", forecasts=ForecastPlan(sent_by=Counter(AutoETS=7), unchanged=3)
    )
    metrics.observe_release(plan, 1.0)
    metrics.observe_release(plan, 1.0)
    assert registry.get_sample_value("sx_aggregate_forecasts_sent_total", {"method": "AutoETS"}) == 14.0
    assert registry.get_sample_value("sx_aggregate_last_release_forecast_series", {"outcome": "sent"}) == 7.0
    assert (
        registry.get_sample_value("sx_aggregate_last_release_forecast_series", {"outcome": "unchanged"})
        == 3.0
    )
