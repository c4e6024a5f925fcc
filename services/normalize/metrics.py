"""Normalize's Prometheus metrics. Labels are bounded: 2 platforms, 7 record kinds, a fixed set of reasons."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NormalizeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.active = Gauge(
            "sx_normalize_active",
            "1 on the active normalize instance (it holds the lease and consumes), 0 on a standby.",
            registry=self.registry,
        )
        self.takeover = Gauge(
            "sx_normalize_takeover_seconds",
            "From being handed the lease to starting to consume: waiting for the previous active's group "
            "membership to end, reading the followed state to its end, restoring the resolver.",
            registry=self.registry,
        )
        self.events_in = Counter(
            "sx_normalize_events_consumed_total",
            "Accepted events read.",
            ["platform"],
            registry=self.registry,
        )
        self.records_out = Counter(
            "sx_normalize_records_produced_total",
            "Records produced per output kind (tombstones included).",
            ["kind"],
            registry=self.registry,
        )
        self.tombstones = Counter(
            "sx_normalize_tombstones_produced_total",
            "Tombstones produced per output kind.",
            ["kind"],
            registry=self.registry,
        )
        self.stale = Counter(
            "sx_normalize_stale_events_total",
            "Entity updates at or below the version already applied: ignored.",
            ["platform"],
            registry=self.registry,
        )
        self.version_jumps = Counter(
            "sx_normalize_version_jumps_total",
            "Entity updates applied more than 1,000 versions above the entity's last: every real version "
            "below them is stale from then on, so each one deserves a look (docs/normalize.md).",
            ["platform"],
            registry=self.registry,
        )
        self.replays = Counter(
            "sx_normalize_replays_total",
            "Updates read again after a crash (same event, same version): produced again.",
            ["platform"],
            registry=self.registry,
        )
        self.resolution = Counter(
            "sx_normalize_resolution_changes_total",
            "Platform-site resolution changes: assigned (new), moved (to another resolved site), retracted.",
            ["change"],
            registry=self.registry,
        )
        self.failures = Counter(
            "sx_normalize_mapping_failures_total",
            "Accepted events normalize could not map, dead-lettered.",
            ["reason"],
            registry=self.registry,
        )
        self.mapping = Histogram(
            "sx_normalize_mapping_seconds",
            "Time to map one batch of accepted events (stage 1: parse, map, pseudonymise, serialise), in "
            "this process or in the mapper processes; it overlaps the previous batch's writes.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.mapper_processes = Gauge(
            "sx_normalize_mapper_processes",
            "Processes that map events for this instance (NORMALIZE_MAPPER_PROCESSES; 0: mapped in this "
            "process).",
            registry=self.registry,
        )
        self.processing = Histogram(
            "sx_normalize_processing_seconds",
            "Time to version-check and resolve one mapped accepted event (stage 2, in this process).",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.resolved_sites = Gauge(
            "sx_normalize_resolved_sites",
            "Resolved sites currently held by the resolver.",
            registry=self.registry,
        )
        for platform in ("sedex", "amfori"):
            self.events_in.labels(platform)
            self.stale.labels(platform)
            self.version_jumps.labels(platform)
            self.replays.labels(platform)
        for change in ("assigned", "moved", "retracted"):
            self.resolution.labels(change)
