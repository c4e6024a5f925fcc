"""Typed settings read from the environment, one settings object per service.

pydantic-settings would do this too; it is one more dependency for forty lines, so the services use
plain pydantic models and this reader: a field `web_port` of a service with prefix `INGEST_` is read
from `INGEST_WEB_PORT`, except for the few shared names (the Kafka bootstrap list) passed as overrides.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SettingsT = TypeVar("SettingsT", bound=BaseModel)

SHARED_ENV: Mapping[str, str] = {"bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS"}


def from_env(cls: type[SettingsT], prefix: str, environ: Mapping[str, str] | None = None) -> SettingsT:
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for name in cls.model_fields:
        var = SHARED_ENV.get(name, f"{prefix}{name.upper()}")
        if var in env:
            values[name] = env[var]
    return cls.model_validate(values)


Port = Annotated[int, Field(ge=1, le=65535)]


class WorkerSettings(BaseModel):
    """What every service's settings have: Kafka, the HTTP port, faust's directory, the log level.

    A service subclasses it with its own `ENV_PREFIX`, defaults (`app_id`, `web_port`, `data_dir`) and
    fields; `services.faust_app.make_app` builds the faust App from these fields alone."""

    model_config = ConfigDict(frozen=True)
    ENV_PREFIX: ClassVar[str]

    bootstrap_servers: str = "127.0.0.1:9092"
    app_id: str
    web_host: str = "127.0.0.1"
    web_port: Port
    data_dir: str
    partitions: int = Field(default=6, ge=1)
    log_level: str = "info"
    # How long the group coordinator keeps a silent member's partitions. A SIGKILLed process never
    # leaves its group, so its restart processes nothing until this runs out: faust's default is 60 s.
    # The broker's group.min.session.timeout.ms (6 s) is the floor; heartbeats go at a third of it.
    session_timeout_seconds: float = Field(default=10.0, ge=6.0)
    # What a burst of large messages leaves resident (docs/reliability.md, "Memory after bursts of
    # large messages"): the size from which glibc maps an allocation on its own (0 keeps glibc's
    # dynamic threshold; services/memory.py). No service reads through faust streams any more (ingest
    # and normalize read in batches, aggregate and deliver with their own consumers), so faust's
    # stream buffer bounds nothing and is not configured.
    malloc_mmap_threshold_bytes: int = Field(default=0, ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        return from_env(cls, cls.ENV_PREFIX, environ)
