"""Ingest's configuration: one typed object, read from `INGEST_*` and `KAFKA_BOOTSTRAP_SERVERS`."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from services import config
from services.topics import (
    ACCEPTED_TOPIC,
    AMFORI_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    SEDEX_TOPIC,
    TopicSpec,
)


class IngestSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    bootstrap_servers: str = "127.0.0.1:9092"
    app_id: str = "sx-ingest"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    data_dir: str = ".faust/ingest"
    sedex_topic: str = SEDEX_TOPIC
    amfori_topic: str = AMFORI_TOPIC
    accepted_topic: str = ACCEPTED_TOPIC
    dlq_topic: str = INGEST_DLQ_TOPIC
    seen_topic: str = INGEST_SEEN_TOPIC
    partitions: int = Field(default=6, ge=1)
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngestSettings:
        return config.from_env(cls, "INGEST_", environ)

    def topic_specs(self) -> tuple[TopicSpec, ...]:
        """The topics this service reads and writes, under the names configured (tests use private ones)."""
        names = (self.sedex_topic, self.amfori_topic, self.accepted_topic, self.dlq_topic)
        return (
            *(TopicSpec(name, self.partitions) for name in names),
            TopicSpec(self.seen_topic, self.partitions, cleanup_policy="compact"),
        )
