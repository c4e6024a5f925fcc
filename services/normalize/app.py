"""The normalize faust app: one agent over the accepted topic, the `Normalizer` doing the work.

Resolution is global (a factory's two platform sites may sit in any partitions), so one normalize
process owns every partition of the accepted topic: the active one, which holds the lease (others
stand by, `standby.py`); its state is rebuilt from its own compacted output topics when it becomes
active (`restore`), not from faust tables (see docs/ingest.md on why). Sends are
at-least-once, like ingest's, and the engine makes a replay produce the same bytes again.

Nothing raw leaves: the log names record kinds, reason codes and coordinates only; every key and
value produced is pseudonymised by the mapping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC, SiteResolution
from services.faust_app import make_app, raw_topic
from services.web import install_endpoints, worker_health

from .dead_letter import dead_letter_record
from .engine import Normalizer, Outcome, Record, Rejected, step
from .mapping import OutputKind
from .metrics import NormalizeMetrics
from .settings import NormalizeSettings

log = logging.getLogger("sx.normalize")

# The metric label of every output topic: the mapping's record kinds, then the resolver's two.
_KIND_OF_TOPIC = {
    **{kind.topic: kind.value for kind in OutputKind},
    SITE_RESOLUTION_TOPIC: "site-resolution",
    RESOLVED_SITES_TOPIC: "resolved-site",
}


def create_app(
    settings: NormalizeSettings,
    normalizer: Normalizer,
    catch_up: list[Record] | None = None,
    registry: CollectorRegistry | None = None,
    key_ids: Mapping[str, Any] | None = None,
    takeover_seconds: float | None = None,
) -> faust.App:
    metrics = NormalizeMetrics(registry)
    metrics.active.set(1)  # a worker runs only in the instance that holds the lease (standby.py)
    if takeover_seconds is not None:
        metrics.takeover.set(takeover_seconds)
    app = make_app(settings)
    source = raw_topic(app, settings.accepted_topic)
    outputs: dict[str, Any] = {}
    dlq = raw_topic(app, settings.dlq_topic, partitions=settings.partitions)

    def output(topic: str) -> Any:
        if topic not in outputs:
            outputs[topic] = raw_topic(app, settings.topic(topic), partitions=settings.partitions)
        return outputs[topic]

    async def produce(records: list[Record]) -> None:
        for r in records:
            await output(r.topic).send(key=r.key.encode(), value=r.value, headers=list(r.headers))
            kind = _KIND_OF_TOPIC.get(r.topic)
            if kind is not None:
                metrics.records_out.labels(kind).inc()
                if r.value is None:
                    metrics.tombstones.labels(kind).inc()

    def count_resolution(outcome: Outcome) -> None:
        for change in outcome.resolution_changes:
            if change.topic != SITE_RESOLUTION_TOPIC:
                continue
            if not isinstance(change.value, SiteResolution):
                metrics.resolution.labels("retracted").inc()
            elif change.previous is None:
                metrics.resolution.labels("assigned").inc()
            else:
                metrics.resolution.labels("moved").inc()

    async def dead_letter(message: Any, rejected: Rejected) -> None:
        """A pointer, not a copy (see schemas.exchange.dead_letter)."""
        value, headers = dead_letter_record(
            message.topic, message.partition, message.offset, rejected.reason_class, rejected.reason
        )
        await dlq.send(key=None, value=value, headers=headers)
        metrics.failures.labels(rejected.reason_class).inc()
        log.warning(
            "dead-lettered at %s[%d]@%d: %s",
            message.topic,
            message.partition,
            message.offset,
            rejected.reason_class,
        )

    async def handle(message: Any) -> None:
        started = time.perf_counter()
        done = step(normalizer, message.value)
        if done.platform is not None:
            metrics.events_in.labels(done.platform).inc()
        outcome = done.result
        if isinstance(outcome, Rejected):
            if outcome.error is not None:
                log.error(
                    "normalize failed at %s[%d]@%d",
                    message.topic,
                    message.partition,
                    message.offset,
                    exc_info=outcome.error,
                )
            await dead_letter(message, outcome)
            return
        platform = done.platform or ""
        await produce(outcome.records)
        metrics.stale.labels(platform).inc(outcome.stale)
        metrics.version_jumps.labels(platform).inc(outcome.jumps)
        metrics.replays.labels(platform).inc(outcome.replayed)
        count_resolution(outcome)
        metrics.resolved_sites.set(normalizer.resolver.resolved_site_count)
        metrics.processing.observe(time.perf_counter() - started)

    @app.agent(source, name="normalize")
    async def normalize(stream: Any) -> None:
        async for event in stream.events():
            await handle(event.message)

    if catch_up:

        async def reconcile() -> None:
            """Bring the resolution topics level with the state restored at start-up."""
            await produce(catch_up)

        app.task(reconcile)

    def health() -> dict[str, Any]:
        # Key ids are labels like "k1", never key material: which key writes, which ones the state holds.
        return worker_health(app, key_ids=dict(key_ids or {}), role="active")

    install_endpoints(app, metrics.registry, health)
    return app
