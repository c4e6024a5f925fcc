"""The ingest faust app: one agent over both platform topics, and the ids it has forwarded.

Output records keep the input record's timestamp (as Kafka Streams does): the accepted and
dead-letter topics then say when the platform published, and end-to-end latency is measurable
from the output alone.

Processing is at-least-once: faust flushes the producer, then commits an offset, only after the agent
has handled the message. Exactly-once *effect* on the accepted topic comes from `SeenEvents`
(`platform:eventId` -> the positions that carried it, persisted in a compacted topic co-partitioned
with the input, so several instances of the group each hold the state of their own partitions): a
platform redelivery (another position) is counted and dropped; our own replay of a position (after a
crash or a rebalance) is sent again, so nothing is lost and a crash can at worst repeat a record with
the same `ce_id`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from services.faust_app import make_app, raw_topic
from services.topics import MAX_MESSAGE_BYTES as TOPIC_MAX_BYTES
from services.web import install_endpoints, worker_health

from .admit import AMFORI, SEDEX, Admitted, admit
from .dedup import Delivery, classify_delivery
from .envelopes import accepted_record, dead_letter_headers
from .metrics import IngestMetrics
from .reasons import ReasonClass, Rejection
from .seen import SeenEvents, topic_loader
from .settings import IngestSettings

log = logging.getLogger("sx.ingest")

# Room for a maximal message plus its dead-letter headers and the record-batch framing.
_PRODUCER_MAX_REQUEST_BYTES = TOPIC_MAX_BYTES + 256 * 1024


def create_app(
    settings: IngestSettings, seen: SeenEvents | None = None, registry: CollectorRegistry | None = None
) -> faust.App:
    platforms = {settings.sedex_topic: SEDEX.platform, settings.amfori_topic: AMFORI.platform}
    if seen is None:
        seen = SeenEvents(platforms, topic_loader(settings.bootstrap_servers, settings.seen_topic))
    metrics = IngestMetrics(registry)
    app = make_app(
        settings,
        producer_max_request_size=_PRODUCER_MAX_REQUEST_BYTES,
        consumer_max_fetch_size=_PRODUCER_MAX_REQUEST_BYTES,
    )
    formats = {settings.sedex_topic: SEDEX, settings.amfori_topic: AMFORI}
    source = raw_topic(app, settings.sedex_topic, settings.amfori_topic)
    accepted = raw_topic(app, settings.accepted_topic, partitions=settings.partitions)
    dlq = raw_topic(app, settings.dlq_topic, partitions=settings.partitions)
    seen_topic = raw_topic(app, settings.seen_topic, partitions=settings.partitions)

    async def dead_letter(message: Any, rejection: Rejection, platform: str) -> None:
        headers = dead_letter_headers(
            list(message.headers or []), rejection, message.topic, message.partition, message.offset
        )
        await dlq.send(key=message.key, value=message.value, headers=headers, timestamp=message.timestamp)
        metrics.dead_lettered.labels(platform, rejection.reason_class.value).inc()
        # The class and the coordinates only: the reason text may quote an identifier from the message.
        log.warning(
            "dead-lettered %s message at %s[%d]@%d: %s",
            platform,
            message.topic,
            message.partition,
            message.offset,
            rejection.reason_class.value,
        )

    async def handle(message: Any) -> None:
        started = time.perf_counter()
        fmt = formats[message.topic]
        metrics.consumed.labels(fmt.platform).inc()
        try:
            outcome = admit(fmt, message.key, message.value)
        except Exception:  # a poison message must never stop the service
            log.exception("admission failed at %s[%d]@%d", message.topic, message.partition, message.offset)
            outcome = Rejection(ReasonClass.INTERNAL_ERROR, "ingest failed to process this message")
        if isinstance(outcome, Rejection):
            await dead_letter(message, outcome, fmt.platform)
        else:
            await forward(message, outcome)
        metrics.processing.labels(fmt.platform).observe(time.perf_counter() - started)

    async def forward(message: Any, admitted: Admitted) -> None:
        """Carry out the duplicate decision (`dedup.classify_delivery`)."""
        event = admitted.event
        platform = admitted.platform
        dedup_key = f"{platform}:{event.event_id}"
        topic, partition = message.topic, message.partition
        position = f"{topic}/{partition}/{message.offset}"
        if await seen.ensure(topic, partition):
            metrics.seen_loads.inc()
        positions = seen.positions(topic, partition, dedup_key)
        delivery = classify_delivery(positions, position)
        # The seen record goes to the input's partition number: its owner is the only writer.
        if delivery is Delivery.REDELIVERY:
            metrics.duplicates.labels(platform).inc()
            value = seen.record(topic, partition, dedup_key, [*positions, position])
            await seen_topic.send(key=dedup_key.encode(), value=value, partition=partition)
        if not delivery.forwards:
            return
        value, headers = accepted_record(platform, event, message.topic, message.partition, message.offset)
        await accepted.send(key=message.key, value=value, headers=headers, timestamp=message.timestamp)
        if delivery is Delivery.REPLAY:
            metrics.replays.labels(platform).inc()
            return
        value = seen.record(topic, partition, dedup_key, [position])
        await seen_topic.send(key=dedup_key.encode(), value=value, partition=partition)
        metrics.accepted.labels(platform, event.event_type).inc()

    # faust sends these after it has drained the agent and flushed the producer (revoked), and with
    # the whole new assignment (assigned); the entries are loaded by the agent, before the first event.
    # Read at each scrape from what `seen` owns (held or assigned and still to load).
    metrics.partitions_owned.set_function(lambda: len(seen.owned()))

    @app.on_partitions_revoked.connect
    async def drop_revoked(_app: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        (revoked,) = args  # the partitions revoked
        seen.revoked((tp.topic, tp.partition) for tp in revoked)

    @app.on_partitions_assigned.connect
    async def load_assigned(_app: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        (assigned,) = args  # the whole new assignment
        seen.assigned((tp.topic, tp.partition) for tp in assigned)

    @app.agent(source, name="ingest")
    async def ingest(stream: Any) -> None:
        async for event in stream.events():
            await handle(event.message)

    def health() -> dict[str, Any]:
        return worker_health(app)

    install_endpoints(app, metrics.registry, health)
    return app
