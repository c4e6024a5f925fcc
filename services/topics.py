"""Every Kafka topic the exchange reads or writes, declared once.

Topics are created by `python -m services.topics` (idempotent) rather than by broker auto-creation,
so partition counts, cleanup policies and size limits are the ones written here, not the broker's defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

# Platform messages may be up to 1 MiB; larger ones must still reach ingest (and its DLQ) to be rejected.
MAX_MESSAGE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    cleanup_policy: str = "delete"
    retention_ms: int = -1
    configs: dict[str, str] = field(default_factory=dict)

    def new_topic(self) -> NewTopic:
        configs = {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "max.message.bytes": str(MAX_MESSAGE_BYTES),
            **self.configs,
        }
        return NewTopic(self.name, self.partitions, 1, topic_configs=configs)


SEDEX_TOPIC = "sedex.changes.v1"
AMFORI_TOPIC = "amfori.changes.v1"
PLATFORM_TOPICS = (SEDEX_TOPIC, AMFORI_TOPIC)
# Keyed like the platform topics and with the same partition count, so one site's events stay in order.
ACCEPTED_TOPIC = "exchange.ingest.accepted.v1"
INGEST_DLQ_TOPIC = "exchange.ingest.dlq.v1"
# Ingest's own state: the platform events it has forwarded (see services/ingest/seen.py).
INGEST_SEEN_TOPIC = "exchange.ingest.seen.v1"

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(SEDEX_TOPIC, 6),
    TopicSpec(AMFORI_TOPIC, 6),
    TopicSpec(ACCEPTED_TOPIC, 6),
    TopicSpec(INGEST_DLQ_TOPIC, 6),
    TopicSpec(INGEST_SEEN_TOPIC, 6, cleanup_policy="compact"),
)


def bootstrap_servers() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


async def ensure_topics(bootstrap: str, specs: tuple[TopicSpec, ...] = TOPICS) -> list[str]:
    """Create the missing topics; returns the names created. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        created: list[str] = []
        # One request per topic: the listing can lag a creation that just happened (here or in a
        # service starting at the same time), and "already exists" must mean "not created by us".
        # aiokafka reports per-topic errors in the response instead of raising them.
        for spec in (s for s in specs if s.name not in existing):
            response = await admin.create_topics([spec.new_topic()])
            for _, code, message in response.topic_errors:
                if code == TopicAlreadyExistsError.errno:
                    break
                if code != 0:
                    raise RuntimeError(f"cannot create topic {spec.name}: error {code}: {message}")
            else:
                created.append(spec.name)
        return created
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    """Delete the topics that exist among `names` (tests and benches clean up after themselves; a
    missing one is fine, so a cleanup after a failed setup cannot raise)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                await admin.delete_topics(doomed)
    finally:
        await admin.close()


def main() -> None:
    created = asyncio.run(ensure_topics(bootstrap_servers()))
    print(f"topics created: {len(created)}; declared: {len(TOPICS)}")


if __name__ == "__main__":
    main()
