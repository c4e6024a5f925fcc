"""Ingest's Prometheus metrics. Labels are bounded: platform, event type (known types only) and
reason class."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from .reasons import ReasonClass


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.consumed = Counter(
            "sx_ingest_messages_consumed_total",
            "Messages read from a platform topic.",
            ["platform"],
            registry=self.registry,
        )
        self.accepted = Counter(
            "sx_ingest_messages_accepted_total",
            "Platform events admitted and forwarded to normalize (first delivery only).",
            ["platform", "event_type"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "sx_ingest_duplicates_total",
            "Redelivered platform events (same platform and event id) not forwarded again.",
            ["platform"],
            registry=self.registry,
        )
        self.replays = Counter(
            "sx_ingest_replays_total",
            "Messages read again at a position already processed (restart, rebalance): re-sent, "
            "not counted as new.",
            ["platform"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "sx_ingest_messages_dead_lettered_total",
            "Messages written to the dead-letter topic, by reason class.",
            ["platform", "reason"],
            registry=self.registry,
        )
        self.seen_loads = Counter(
            "sx_ingest_seen_loads_total",
            "Reads of the seen topic's partitions after an assignment (start-up, rebalance).",
            registry=self.registry,
        )
        self.partitions_owned = Gauge(
            "sx_ingest_partitions_owned",
            "Platform-topic partitions assigned to this instance (several instances share the group's).",
            registry=self.registry,
        )
        self.processing = Histogram(
            "sx_ingest_processing_seconds",
            "Time from reading a message to handing its output to the producer.",
            ["platform"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        for platform in ("sedex", "amfori"):
            # Pre-create the series so dashboards show a zero, not a gap, before the first rejection.
            self.consumed.labels(platform)
            self.duplicates.labels(platform)
            self.replays.labels(platform)
            for reason in ReasonClass:
                self.dead_lettered.labels(platform, reason.value)

    @staticmethod
    def observe_times(histogram: Any, seconds: float, times: int) -> None:
        """`histogram.observe(seconds)` `times` times, as one addition to the sum and to one bucket.

        prometheus-client has no weighted observation, and observing once per message of a batch
        (each call a lock and a walk of the buckets) was 3 % of ingest's time. This adds to the
        histogram child's own counters, private attributes of prometheus-client; `test_metrics`
        checks that the exposition equals `times` calls of `observe`, so an upgrade that changes them
        fails there."""
        if times <= 0:
            return
        histogram._sum.inc(seconds * times)
        for bucket, bound in zip(histogram._buckets, histogram._upper_bounds, strict=True):
            if seconds <= bound:
                bucket.inc(times)
                break

    def child(self, metric: MetricWrapperBase, *labels: str) -> Any:
        """`metric.labels(*labels)`, looked up once: `labels()` takes a lock and builds a key each call."""
        key = (metric._name, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found
