"""Aggregate's Prometheus metrics. Labels are bounded: 3 tables, 3 statuses, 3 reasons, 5 input kinds,
the forecasting methods (`ForecastMethod`) and 3 forecast outcomes."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.exchange.aggregates import TABLES, ForecastMethod

from .population import INPUT_KINDS


class AggregateMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "sx_aggregate_records_consumed_total", "Normalised records read.", ["kind"], registry=r
        )
        self.invalid = Counter(
            "sx_aggregate_records_invalid_total",
            "Normalised records that could not be read.",
            ["kind"],
            registry=r,
        )
        self.retracted = Counter(
            "sx_aggregate_contributions_retracted_total",
            "Tombstones that removed a record the state held (site removed, audit withdrawn, "
            "resolution moved).",
            ["kind"],
            registry=r,
        )
        self.state = Gauge("sx_aggregate_state_records", "Records held in the state.", ["kind"], registry=r)
        self.releases = Counter("sx_aggregate_releases_total", "Releases committed.", registry=r)
        self.release_seconds = Histogram(
            "sx_aggregate_release_duration_seconds",
            "Time to plan and commit one release.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300),
            registry=r,
        )
        self.sent = Counter(
            "sx_aggregate_cells_sent_total",
            "Cell messages published, by wire status.",
            ["table", "status"],
            registry=r,
        )
        self.held = Counter(
            "sx_aggregate_cells_held_total",
            "Changed cells the k_delta rule kept at their last release.",
            ["table"],
            registry=r,
        )
        self.release_failures = Counter(
            "sx_aggregate_release_failures_total",
            "Releases that did not commit, by kind: fenced (another instance leads), mixed_keys (a key "
            "rotation is being read), kafka, other.",
            ["kind"],
            registry=r,
        )
        self.leader = Gauge(
            "sx_aggregate_leader", "1 while this instance holds the release lease, else 0.", registry=r
        )
        # Utility of the last release: how much the rules let through, and why cells were withheld.
        self.cells = Gauge(
            "sx_aggregate_last_release_cells",
            "Cells of the last release by outcome: passed_primary, suppressed_primary, suppressed_secondary, "
            "outcomes_withheld_primary, outcomes_withheld_secondary, published_with_outcomes, "
            "published_population_only.",
            ["table", "outcome"],
            registry=r,
        )
        self.withheld = Gauge(
            "sx_aggregate_last_release_withheld_cells",
            "Cells of the last release showing less than everything, by the rule that held them back: "
            "threshold, insider, outcome_min (primary), residual, recovery (secondary), budget (DP mode).",
            ["table", "reason"],
            registry=r,
        )
        self.noise_draws = Counter(
            "sx_aggregate_noise_draws_total",
            "Differential-privacy mode: draws of a noisy table's period, each paid from its period's budget.",
            registry=r,
        )
        self.budget_spent = Gauge(
            "sx_aggregate_privacy_budget_spent_ratio",
            "Differential-privacy mode: the largest share of any period's zCDP budget spent so far.",
            registry=r,
        )
        # Whether releases are late: the alert compares the two (deploy/prometheus/alerts.yml), so it
        # follows a deployment's cadence instead of hard-coding one.
        self.last_release = Gauge(
            "sx_aggregate_last_release_timestamp_seconds",
            "Scheduled time (Unix seconds) of the last release this instance knows of (its own, or read "
            "back from the release log when it took the lease); NaN before it knows any.",
            registry=r,
        )
        self.cadence = Gauge(
            "sx_aggregate_release_cadence_seconds", "Configured time between scheduled releases.", registry=r
        )
        self.forecasts_sent = Counter(
            "sx_aggregate_forecasts_sent_total",
            "Forecasts published on exchange.aggregates.forecasts.v1 (new, or re-sent because the published "
            "values they use changed), by method.",
            ["method"],
            registry=r,
        )
        self.forecast_series = Gauge(
            "sx_aggregate_last_release_forecast_series",
            "Series the last release forecast, by outcome: sent, unchanged (the published values it uses are "
            "those of the forecast last sent), no_forecast (the model gave no finite forecast).",
            ["outcome"],
            registry=r,
        )
        for method in get_args(ForecastMethod):
            self.forecasts_sent.labels(method)
        for kind in ("fenced", "mixed_keys", "kafka", "other"):
            self.release_failures.labels(kind)
        for kind in INPUT_KINDS.values():
            self.consumed.labels(kind)
            self.retracted.labels(kind)
        for table in TABLES:
            self.held.labels(table)
            for status in ("published", "suppressed"):
                self.sent.labels(table, status)

    def follow_schedule(self, last_release: Callable[[], datetime | None], cadence_seconds: float) -> None:
        """Read the last release time at each scrape (the releaser owns it), and record the cadence."""

        def seconds() -> float:
            at = last_release()
            return math.nan if at is None else at.timestamp()

        self.last_release.set_function(seconds)
        self.cadence.set(cadence_seconds)

    def set_state_sizes(self, state: Any) -> None:
        """One gauge per input kind (`NormalizedState.sizes`: a kind added there is counted here)."""
        for kind, n in state.sizes().items():
            self.state.labels(kind).set(n)

    def observe_draws(self, draws: int, spent_ratio: float) -> None:
        self.noise_draws.inc(draws)
        self.budget_spent.set(spent_ratio)

    def observe_release(self, plan: Any, seconds: float) -> None:
        self.releases.inc()
        self.release_seconds.observe(seconds)
        for (table, status), cells in plan.sent_by.items():
            self.sent.labels(table, status).inc(cells)
        for table, counts in plan.counts.items():
            self.held.labels(table).inc(counts.held_by_revision)
            for outcome in (
                "passed_primary",
                "suppressed_primary",
                "suppressed_secondary",
                "outcomes_withheld_primary",
                "outcomes_withheld_secondary",
                "published_with_outcomes",
                "published_population_only",
            ):
                self.cells.labels(table, outcome).set(getattr(counts, outcome))
            for reason, cells in counts.withheld_by.items():
                self.withheld.labels(table, reason).set(cells)
        forecasts = plan.forecasts
        for method, sent in forecasts.sent_by.items():
            self.forecasts_sent.labels(method).inc(sent)
        self.forecast_series.labels("sent").set(forecasts.sent)
        self.forecast_series.labels("unchanged").set(forecasts.unchanged)
        self.forecast_series.labels("no_forecast").set(forecasts.no_forecast)
