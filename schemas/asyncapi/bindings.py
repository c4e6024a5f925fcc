"""The Kafka bindings: what the document says that only Kafka has (bindingVersion 0.5.0).

A channel's partitions and topic configuration come from the topics the exchange declares
(``schemas.topics.TOPICS``) where it declares them, so the document cannot disagree with what is
created; a message's key is stated beside its payload (``messages``).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from schemas.topics import MAX_MESSAGE_BYTES, TOPICS

KAFKA_BINDING_VERSION: Final = "0.5.0"
PLANNED_PARTITIONS: Final = 6
"""Partitions stated for topics schemas.topics.TOPICS does not declare (those of the declared ones)."""

CleanupPolicy = Literal["compact", "delete"]


def channel_binding(topic: str, cleanup_policy: CleanupPolicy) -> dict[str, Any]:
    """The channel's Kafka binding; raises if the registry declares the topic with another policy."""
    declared = {spec.name: spec for spec in TOPICS}
    spec = declared.get(topic)
    config: dict[str, Any] = {"cleanup.policy": [cleanup_policy]}
    partitions = PLANNED_PARTITIONS
    if spec is not None:
        if spec.cleanup_policy != cleanup_policy:
            raise ValueError(f"{topic}: schemas.topics declares cleanup.policy={spec.cleanup_policy}")
        partitions = spec.partitions
        config["retention.ms"] = spec.retention_ms
        config["max.message.bytes"] = int(spec.configs.get("max.message.bytes", MAX_MESSAGE_BYTES))
    return {
        "kafka": {
            "partitions": partitions,
            "topicConfiguration": config,
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }
