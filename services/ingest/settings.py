"""Ingest's configuration: one typed object, read from `INGEST_*` and `KAFKA_BOOTSTRAP_SERVERS`."""

from __future__ import annotations

from pydantic import Field

from services.config import Port, WorkerSettings
from services.topics import (
    ACCEPTED_TOPIC,
    AMFORI_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    SEDEX_TOPIC,
    TopicSpec,
)
from services.transactional_batches import DEFAULT_RETRY_BACKOFF_MS


class IngestSettings(WorkerSettings):
    ENV_PREFIX = "INGEST_"

    app_id: str = "sx-ingest"
    web_port: Port = 6066
    data_dir: str = ".faust/ingest"
    sedex_topic: str = SEDEX_TOPIC
    amfori_topic: str = AMFORI_TOPIC
    accepted_topic: str = ACCEPTED_TOPIC
    dlq_topic: str = INGEST_DLQ_TOPIC
    seen_topic: str = INGEST_SEEN_TOPIC
    # The batch loop (services/transactional_batches.py): at most this many messages per batch and
    # transaction, and this many bytes fetched ahead of it, every partition together (one maximal
    # message per partition is still fetched whole). Platform messages reach 1 MiB (2 MiB on the
    # topics); message-sized buffers are mapped and unmapped rather than kept in glibc's arenas
    # (docs/reliability.md, "Memory after bursts of large messages"). 6,000 rather than 2,000: fewer
    # transactions in a back-fill (ingest at 50 % of the pass-through against 49 %, three runs each
    # alternating, docs/ingest.md "Performance"); at a moderate flow a batch is what has arrived, far
    # fewer, and the fetch bound above, not this, bounds the memory.
    batch_max_records: int = Field(default=6000, ge=1)
    fetch_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Before the producer retries a transaction's request the broker refused for now (LoopSettings).
    retry_backoff_ms: int = Field(default=DEFAULT_RETRY_BACKOFF_MS, ge=1)
    # The producer's transactional id; default `<app_id>-<host name>-<web port>` (stable per instance).
    transactional_id: str = ""
    # Crash tests only: hold every batch's transaction open this long once its records are sent.
    hold_transaction_seconds: float = Field(default=0.0, ge=0)
    malloc_mmap_threshold_bytes: int = Field(default=256 * 1024, ge=0)

    def topic_specs(self) -> tuple[TopicSpec, ...]:
        """The topics this service reads and writes, under the names configured (tests use private ones)."""
        names = (self.sedex_topic, self.amfori_topic, self.accepted_topic, self.dlq_topic)
        return (
            *(TopicSpec(name, self.partitions) for name in names),
            TopicSpec(self.seen_topic, self.partitions, cleanup_policy="compact"),
        )
