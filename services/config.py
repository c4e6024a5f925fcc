"""Typed settings read from the environment, one settings object per service.

pydantic-settings would do this too; it is one more dependency for forty lines, so the services use
plain pydantic models and this reader: a field `web_port` of a service with prefix `INGEST_` is read
from `INGEST_WEB_PORT`, except for the few shared names (the Kafka bootstrap list) passed as overrides.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

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


def faust_broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip()]
