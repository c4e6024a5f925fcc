"""Creating and deleting the exchange's topics; the names and specs are declared in `schemas.topics`
(re-exported here for the services).

Topics are created by `python -m services.topics` (idempotent) rather than by broker auto-creation,
so partition counts, cleanup policies and size limits are the declared ones, not the broker's defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from schemas.topics import (
    ACCEPTED_TOPIC,
    AMFORI_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    MAX_MESSAGE_BYTES,
    PLATFORM_TOPICS,
    SEDEX_TOPIC,
    TOPICS,
    TopicSpec,
)
from services.kafka_auth import client_options

__all__ = [
    "ACCEPTED_TOPIC",
    "AMFORI_TOPIC",
    "INGEST_DLQ_TOPIC",
    "INGEST_SEEN_TOPIC",
    "MAX_MESSAGE_BYTES",
    "PLATFORM_TOPICS",
    "SEDEX_TOPIC",
    "TOPICS",
    "TopicSpec",
    "bootstrap_servers",
    "delete_topics",
    "ensure_topics",
]


def bootstrap_servers() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


async def ensure_topics(bootstrap: str, specs: tuple[TopicSpec, ...] = TOPICS) -> list[str]:
    """Create the missing topics; returns the names created. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        created: list[str] = []
        # One request per topic: the listing can lag a creation that just happened (here or in a
        # service starting at the same time), and "already exists" must mean "not created by us".
        # aiokafka reports per-topic errors in the response instead of raising them.
        for spec in (s for s in specs if s.name not in existing):
            new = NewTopic(spec.name, spec.partitions, 1, topic_configs=spec.topic_configs())
            response = await admin.create_topics([new])
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
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
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
