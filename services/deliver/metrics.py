"""deliver's Prometheus metrics. Labels are bounded: the configured endpoint names (never a URL), a
closed set of outcomes and of failure reasons (`schemas.exchange.deliver.DeadLetterReason`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.exchange.deliver import DeadLetterReason

OUTCOMES: Final = ("delivered", "failed")
REASONS: Final[tuple[str, ...]] = get_args(DeadLetterReason)


class DeliverMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, endpoints: Iterable[str] = ()) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.attempts = Counter(
            "sx_deliver_attempts_total",
            "Webhook POSTs, by endpoint and outcome (delivered: a 2xx answer; failed: anything else).",
            ["endpoint", "outcome"],
            registry=r,
        )
        self.failures = Counter(
            "sx_deliver_failures_total",
            "Failed webhook POSTs, by endpoint and reason: http_4xx, http_5xx, http_other, timeout, "
            "connect, transport.",
            ["endpoint", "reason"],
            registry=r,
        )
        self.dead_letters = Counter(
            "sx_deliver_dead_letters_total",
            "Releases given up on for an endpoint after the configured attempts (exchange.deliver.dlq.v1).",
            ["endpoint"],
            registry=r,
        )
        self.delivered = Counter(
            "sx_deliver_releases_delivered_total",
            "Releases an endpoint acknowledged (2xx).",
            ["endpoint"],
            registry=r,
        )
        self.latency = Histogram(
            "sx_deliver_latency_seconds",
            "Time of one webhook POST, from sending to the answer (or the failure).",
            ["endpoint"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.backlog = Gauge(
            "sx_deliver_backlog_releases",
            "Complete releases not yet done (delivered or dead-lettered) for an endpoint.",
            ["endpoint"],
            registry=r,
        )
        self.invalid = Counter(
            "sx_deliver_messages_invalid_total",
            "Public messages or release markers that could not be read (skipped; never expected).",
            registry=r,
        )
        for endpoint in endpoints:
            self.dead_letters.labels(endpoint)
            self.delivered.labels(endpoint)
            self.backlog.labels(endpoint).set(0)
            self.latency.labels(endpoint)
            for outcome in OUTCOMES:
                self.attempts.labels(endpoint, outcome)
            for reason in REASONS:
                self.failures.labels(endpoint, reason)
