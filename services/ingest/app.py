"""The ingest worker: a batch loop over both platform topics, and the ids it has forwarded.

faust is the framework (web server, /health, /metrics, the broker probe) without its Kafka consumer
or producer: the messages go through `services.transactional_batches`, a plain aiokafka loop run as a
faust task, batch by batch, each batch's outputs (accepted, dead letters, seen records) and its input
offsets in one Kafka transaction. Why faust's per-event path is bypassed: docs/ingest.md, "Performance".
The decisions are `admit.admit` and `dedup.classify_delivery`; `batches.IngestBatches` carries them out.

Output records keep the input record's timestamp (as Kafka Streams does): the accepted and
dead-letter topics then say when the platform published, and end-to-end latency is measurable
from the output alone.

Exactly once: a batch commits with its offsets, so after a crash the batch in flight is aborted and
read again from the committed offsets. `SeenEvents` (`platform:eventId` -> the positions that carried
it, in a compacted topic co-partitioned with the input, written in the same transactions) drops a
platform redelivery (another position) and lets several instances of the group each hold the state
of their own partitions.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from services.faust_app import make_app
from services.topics import MAX_MESSAGE_BYTES as TOPIC_MAX_BYTES
from services.transactional_batches import LoopSettings, TransactionalBatches
from services.web import install_endpoints, worker_health

from .admit import AMFORI, SEDEX
from .batches import IngestBatches
from .metrics import IngestMetrics
from .seen import SeenEvents, topic_loader
from .settings import IngestSettings

log = logging.getLogger("sx.ingest")

# Room for a maximal message plus its dead-letter headers and the record-batch framing.
_PRODUCER_MAX_REQUEST_BYTES = TOPIC_MAX_BYTES + 256 * 1024


def transactional_id(settings: IngestSettings) -> str:
    """Stable per instance, so a restart fences its predecessor's open transaction at once: the
    setting, else the app id, host name and web port (two instances on one host differ by port)."""
    if settings.transactional_id:
        return settings.transactional_id
    return f"{settings.app_id}-{socket.gethostname()}-{settings.web_port}"


def loop_settings(settings: IngestSettings) -> LoopSettings:
    return LoopSettings(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.app_id,
        topics=(settings.sedex_topic, settings.amfori_topic),
        transactional_id=transactional_id(settings),
        session_timeout_ms=int(settings.session_timeout_seconds * 1000),
        # A crashed instance's open transaction blocks read_committed readers (and the seen load of
        # its partitions elsewhere) until it times out, when no restart fences it sooner.
        transaction_timeout_ms=int(settings.session_timeout_seconds * 1000),
        max_records=settings.batch_max_records,
        max_partition_fetch_bytes=_PRODUCER_MAX_REQUEST_BYTES,
        fetch_max_bytes=settings.fetch_max_bytes,
        max_request_size=_PRODUCER_MAX_REQUEST_BYTES,
        retry_backoff_ms=settings.retry_backoff_ms,
        hold_transaction_seconds=settings.hold_transaction_seconds,
    )


def create_app(
    settings: IngestSettings, seen: SeenEvents | None = None, registry: CollectorRegistry | None = None
) -> faust.App:
    platforms = {settings.sedex_topic: SEDEX.platform, settings.amfori_topic: AMFORI.platform}
    if seen is None:
        seen = SeenEvents(platforms, topic_loader(settings.bootstrap_servers, settings.seen_topic))
    metrics = IngestMetrics(registry)
    app = make_app(settings)
    handler = IngestBatches(
        {settings.sedex_topic: SEDEX, settings.amfori_topic: AMFORI},
        seen,
        metrics,
        accepted_topic=settings.accepted_topic,
        dlq_topic=settings.dlq_topic,
        seen_topic=settings.seen_topic,
    )
    loop = TransactionalBatches(loop_settings(settings), handler, log)
    app.sx_batches = loop  # type: ignore[attr-defined]  # tests and benches look at it

    # Read at each scrape from what `seen` owns (held or assigned and still to load).
    metrics.partitions_owned.set_function(lambda: len(seen.owned()))

    async def ingest() -> None:
        await loop.run()

    app.task(ingest)

    def health() -> dict[str, Any]:
        return worker_health(
            app,
            rebalancing=loop.rebalancing,
            assigned_partitions=loop.assigned_partitions,
        )

    install_endpoints(app, metrics.registry, health, consumer_lag=lambda: loop.view)
    return app
