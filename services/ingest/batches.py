"""A batch of platform messages in, the records ingest writes for them out: `BatchHandler` of
`services.transactional_batches`, carrying out the decisions `admit` and `classify_delivery`.

For each message, in the batch's order per partition: dead-letter it (`admit` refused it, or ingest
failed on it: `internal_error`, the service goes on), or forward it unless it is a platform
redelivery, and record where its id was read in the seen topic (partition p for input partition p).
Nothing here talks to Kafka except `SeenEvents.ensure`, which loads the seen state of newly assigned
partitions before their first batch. The metrics are counted once the batch has committed.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from aiokafka import TopicPartition

from services.record_batches import Output
from services.transactional_batches import Batch, Processed

from .admit import Admitted, PlatformFormat, admit
from .dedup import Delivery, classify_delivery
from .envelopes import accepted_record, dead_letter_headers
from .metrics import IngestMetrics
from .reasons import ReasonClass, Rejection
from .seen import SeenEvents

log = logging.getLogger("sx.ingest")


class IngestBatches:
    def __init__(
        self,
        formats: dict[str, PlatformFormat],
        seen: SeenEvents,
        metrics: IngestMetrics,
        *,
        accepted_topic: str,
        dlq_topic: str,
        seen_topic: str,
    ) -> None:
        self.formats = formats
        self.seen = seen
        self.metrics = metrics
        self.accepted_topic = accepted_topic
        self.dlq_topic = dlq_topic
        self.seen_topic = seen_topic

    def assigned(self, tps: set[TopicPartition]) -> None:
        self.seen.assigned((tp.topic, tp.partition) for tp in tps)

    def revoked(self, tps: set[TopicPartition]) -> None:
        self.seen.revoked((tp.topic, tp.partition) for tp in tps)

    def reset(self) -> None:
        """The seen entries may hold ids of an aborted batch: every one is loaded again."""
        self.seen.forget()

    async def process(self, batch: Batch) -> Processed:
        started = time.perf_counter()
        for tp in batch:
            if await self.seen.ensure(tp.topic, tp.partition):
                self.metrics.seen_loads.inc()
        tally = _Tally()
        outputs: list[Output] = []
        seen_records: dict[tuple[int, str], bytes] = {}  # the last value per key: a compacted topic
        for tp, records in batch.items():
            fmt = self.formats[tp.topic]
            platform = fmt.platform
            tally.consumed[platform] += len(records)
            for record in records:
                try:
                    outcome = admit(fmt, record.key, record.value)
                    if isinstance(outcome, Admitted):
                        self._forward(record, outcome, outputs, seen_records, tally)
                        continue
                except Exception:  # a poison message must never stop the service
                    log.exception(
                        "admission failed at %s[%d]@%d", record.topic, record.partition, record.offset
                    )
                    outcome = Rejection(ReasonClass.INTERNAL_ERROR, "ingest failed to process this message")
                outputs.append(self._dead_letter(record, outcome, platform))
                tally.dead[(platform, outcome.reason_class.value)] += 1
        for (partition, key), value in seen_records.items():
            outputs.append(Output(self.seen_topic, key.encode(), value, [], partition=partition))
        elapsed = time.perf_counter() - started
        return Processed(outputs, lambda: tally.count(self.metrics, elapsed))

    def _dead_letter(self, record: Any, rejection: Rejection, platform: str) -> Output:
        headers = dead_letter_headers(
            list(record.headers or ()), rejection, record.topic, record.partition, record.offset
        )
        # The class and the coordinates only: the reason text may quote an identifier from the message.
        log.warning(
            "dead-lettered %s message at %s[%d]@%d: %s",
            platform,
            record.topic,
            record.partition,
            record.offset,
            rejection.reason_class.value,
        )
        return Output(self.dlq_topic, record.key, record.value, headers, record.timestamp)

    def _forward(
        self,
        record: Any,
        admitted: Admitted,
        outputs: list[Output],
        seen_records: dict[tuple[int, str], bytes],
        tally: _Tally,
    ) -> None:
        """Carry out the duplicate decision (`dedup.classify_delivery`)."""
        event, platform = admitted.event, admitted.platform
        topic, partition, offset = record.topic, record.partition, record.offset
        dedup_key = f"{platform}:{event.event_id}"
        position = f"{topic}/{partition}/{offset}"
        positions = self.seen.positions(topic, partition, dedup_key)
        delivery = classify_delivery(positions, position)
        if delivery is Delivery.REDELIVERY:
            tally.duplicates[platform] += 1
            seen_records[(partition, dedup_key)] = self.seen.record(
                topic, partition, dedup_key, (*positions, position)
            )
        if not delivery.forwards:
            return
        value, headers = accepted_record(platform, event, topic, partition, offset)
        outputs.append(Output(self.accepted_topic, record.key, value, headers, record.timestamp))
        if delivery is Delivery.REPLAY:
            tally.replays[platform] += 1
            return
        # The seen record goes to the input's partition number: its owner is the only writer.
        seen_records[(partition, dedup_key)] = self.seen.record(topic, partition, dedup_key, (position,))
        tally.accepted[(platform, event.event_type)] += 1


class _Tally:
    """A batch's counts, added to the metrics once it committed."""

    def __init__(self) -> None:
        self.consumed: Counter[str] = Counter()
        self.accepted: Counter[tuple[str, str]] = Counter()
        self.duplicates: Counter[str] = Counter()
        self.replays: Counter[str] = Counter()
        self.dead: Counter[tuple[str, str]] = Counter()

    def count(self, metrics: IngestMetrics, processing_seconds: float) -> None:
        for platform, n in self.consumed.items():
            metrics.child(metrics.consumed, platform).inc(n)
            # every message of the batch waited for the whole batch
            metrics.observe_times(metrics.child(metrics.processing, platform), processing_seconds, n)
        for labels, n in self.accepted.items():
            metrics.child(metrics.accepted, *labels).inc(n)
        for platform, n in self.duplicates.items():
            metrics.child(metrics.duplicates, platform).inc(n)
        for platform, n in self.replays.items():
            metrics.child(metrics.replays, platform).inc(n)
        for labels, n in self.dead.items():
            metrics.child(metrics.dead_lettered, *labels).inc(n)
