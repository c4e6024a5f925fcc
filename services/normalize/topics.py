"""Normalize's topics. The shared-record topics are named on their models (`schemas.shared`)."""

from __future__ import annotations

from typing import Final

from schemas.shared.models import SHARED_TOPICS
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC
from services.topics import TopicSpec

NORMALIZE_DLQ_TOPIC: Final = "exchange.normalize.dlq.v1"
# Normalize's own state: the highest version applied per entity (see engine.py).
NORMALIZE_VERSIONS_TOPIC: Final = "exchange.normalize.versions.v1"

OUTPUT_TOPICS: Final = (*sorted(SHARED_TOPICS), SITE_RESOLUTION_TOPIC, RESOLVED_SITES_TOPIC)


def topic_specs(
    partitions: int,
    dlq: str = NORMALIZE_DLQ_TOPIC,
    versions: str = NORMALIZE_VERSIONS_TOPIC,
    outputs: tuple[str, ...] = OUTPUT_TOPICS,
) -> tuple[TopicSpec, ...]:
    return (
        *(TopicSpec(name, partitions, cleanup_policy="compact") for name in outputs),
        TopicSpec(versions, partitions, cleanup_policy="compact"),
        TopicSpec(dlq, partitions),
    )
