"""Normalize's configuration: one typed object, read from `NORMALIZE_*` and `KAFKA_BOOTSTRAP_SERVERS`.

The pseudonymisation key is not here: `keys.load_key` reads it separately so it never sits in a
settings object that might be logged.
"""

from __future__ import annotations

from pydantic import Field

from services.config import Port, WorkerSettings
from services.topics import ACCEPTED_TOPIC, TopicSpec

from .topics import (
    NORMALIZE_DLQ_TOPIC,
    NORMALIZE_LEASE_TOPIC,
    NORMALIZE_QUARANTINE_TOPIC,
    NORMALIZE_VERSIONS_TOPIC,
    OUTPUT_TOPICS,
)


class NormalizeSettings(WorkerSettings):
    ENV_PREFIX = "NORMALIZE_"

    app_id: str = "sx-normalize"
    web_port: Port = 6067
    data_dir: str = ".faust/normalize"
    accepted_topic: str = ACCEPTED_TOPIC
    # Prefixed to every topic normalize owns (outputs, versions, DLQ); tests use a private prefix.
    topic_prefix: str = ""
    # platform-events.md: a company that never sent a consent event counts as consenting by default.
    default_consent: bool = True
    # The batch loop (batches.py): events read per batch at most. Its records are handed to the producer
    # as closed record batches (services/record_batches.py), sent at once: there is no linger to set.
    max_batch: int = Field(default=1000, ge=1)
    # Processes that run stage 1 (parse, map, pseudonymise, serialise) while this one settles the batch
    # before (mappers.py); 0 maps in this process. One is what a 2-core machine has room for.
    mapper_processes: int = Field(default=1, ge=0, le=64)
    # Batches of fewer events than this are mapped in this process all the same: handing one over
    # costs latency that only a full batch repays (mappers.py).
    mapper_min_batch: int = Field(default=500, ge=0)
    # Fault hook for tests only: hold one batch half-way (its first half delivered, nothing committed)
    # for this long, the first batch that starts after `hold_after_events` events; 0 = never.
    hold_batch_seconds: float = Field(default=0.0, ge=0.0)
    hold_after_events: int = Field(default=0, ge=0)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def lease_group(self) -> str:
        """The consumer group whose single partition makes an instance the active one (standby.py)."""
        return f"{self.app_id}-lease"

    @property
    def dlq_topic(self) -> str:
        return self.topic(NORMALIZE_DLQ_TOPIC)

    @property
    def state_topics(self) -> tuple[str, ...]:
        """The compacted topics read back at start-up (canonical names)."""
        return (*OUTPUT_TOPICS, NORMALIZE_VERSIONS_TOPIC, NORMALIZE_QUARANTINE_TOPIC)

    def topic_specs(self) -> tuple[TopicSpec, ...]:
        return (
            *(TopicSpec(self.topic(n), self.partitions, cleanup_policy="compact") for n in self.state_topics),
            TopicSpec(self.dlq_topic, self.partitions),
            TopicSpec(self.topic(NORMALIZE_LEASE_TOPIC), 1),  # the active instance's lease (standby.py)
        )
