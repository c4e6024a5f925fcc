"""deliver's configuration: one typed object, read from `DELIVER_*` and `KAFKA_BOOTSTRAP_SERVERS`."""

from __future__ import annotations

from pydantic import Field

from services.config import Port, WorkerSettings


class DeliverSettings(WorkerSettings):
    ENV_PREFIX = "DELIVER_"

    app_id: str = "sx-deliver"
    web_port: Port = 6069
    data_dir: str = ".faust/deliver"
    # The registered endpoints (JSON, `endpoints.EndpointsFile`). Required: deliver refuses to start
    # without it rather than run with nobody to deliver to.
    endpoints_file: str = ""
    # Prefix of aggregate's topics this service reads (aggregate's AGGREGATE_TOPIC_PREFIX).
    input_prefix: str = ""
    # Prefix of the topics this service writes, its state and dead letters (tests use a private one).
    topic_prefix: str = ""
    # Attempts per release and endpoint before the release is dead-lettered for that endpoint.
    max_attempts: int = Field(default=8, ge=1, le=100)
    # Exponential backoff between attempts: base * 2^(attempt-1), capped, with jitter (backoff.py).
    backoff_base_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=300.0, gt=0)
    # One attempt's whole budget (connect, send, wait for the answer).
    timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a transaction left open by a killed deliver blocks its successor's reads of the state.
    transaction_timeout_ms: int = Field(default=60_000, ge=1_000)

    def input_topic(self, name: str) -> str:
        return f"{self.input_prefix}{name}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
