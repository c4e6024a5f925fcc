"""Every Kafka topic of the exchange's own, declared once: names, and the specs of those created up
front (`python -m services.topics`). Services, simulator, benches, demo and tests import the names
from here; the topics of the shared records are named on their models (`schemas.shared`), the public
tables by `schemas.exchange.aggregates.topic_of`.

Plain data: creating a topic is `services.topics`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from schemas.platform import amfori, sedex

# Platform messages may be up to 1 MiB; larger ones must still reach ingest (and its DLQ) to be rejected.
MAX_MESSAGE_BYTES: Final = 2 * 1024 * 1024

SEDEX_TOPIC: Final = sedex.TOPIC
AMFORI_TOPIC: Final = amfori.TOPIC
PLATFORM_TOPICS: Final = (SEDEX_TOPIC, AMFORI_TOPIC)
# Keyed like the platform topics and with the same partition count, so one site's events stay in order.
ACCEPTED_TOPIC: Final = "exchange.ingest.accepted.v1"
INGEST_DLQ_TOPIC: Final = "exchange.ingest.dlq.v1"
# Ingest's own state: the platform events it has forwarded (see services/ingest/seen.py).
INGEST_SEEN_TOPIC: Final = "exchange.ingest.seen.v1"

NORMALIZE_DLQ_TOPIC: Final = "exchange.normalize.dlq.v1"
# Normalize's own state: the highest version applied per entity (services/normalize/engine.py).
NORMALIZE_VERSIONS_TOPIC: Final = "exchange.normalize.versions.v1"
# Events an operator quarantined (`python -m services.normalize repair-entity`): key the event's
# pseudonym, value why. normalize dead-letters them instead of applying them, on replays too.
NORMALIZE_QUARANTINE_TOPIC: Final = "exchange.normalize.quarantine.v1"

# The webhook deliver service (docs/deliver.md): its own state, the last release done per endpoint
# (compacted, key = endpoint name), and its dead letters (a pointer to a release, never the payload).
DELIVER_STATE_TOPIC: Final = "exchange.deliver.state.v1"
DELIVER_DLQ_TOPIC: Final = "exchange.deliver.dlq.v1"

# Elections held through a consumer group on a one-partition topic that is never written
# (services/lease.py): normalize's active instance (services/normalize/standby.py) and aggregate's
# releasing instance (services/aggregate/lease.py). Each service creates its own, with its prefix.
NORMALIZE_LEASE_TOPIC: Final = "exchange.normalize.lease.v1"
AGGREGATE_LEASE_TOPIC: Final = "exchange.aggregate.lease.v1"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    cleanup_policy: str = "delete"
    retention_ms: int = -1
    configs: dict[str, str] = field(default_factory=dict)

    def topic_configs(self) -> dict[str, str]:
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "max.message.bytes": str(MAX_MESSAGE_BYTES),
            **self.configs,
        }


TOPICS: Final[tuple[TopicSpec, ...]] = (
    TopicSpec(SEDEX_TOPIC, 6),
    TopicSpec(AMFORI_TOPIC, 6),
    TopicSpec(ACCEPTED_TOPIC, 6),
    TopicSpec(INGEST_DLQ_TOPIC, 6),
    TopicSpec(INGEST_SEEN_TOPIC, 6, cleanup_policy="compact"),
)
"""The topics created up front; the services create their own state and output topics themselves."""
