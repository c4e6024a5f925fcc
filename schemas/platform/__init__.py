"""Models of the platforms' own change events: what ingest accepts from each platform's topic."""

from __future__ import annotations

from typing import Any, Final

from pydantic import TypeAdapter

from schemas.platform.amfori import (
    AMFORI_EVENT,
    AMFORI_EVENT_FROM_JSON,
    AMFORI_EVENT_TYPES,
    AmforiEvent,
    AmforiEventFromJson,
)
from schemas.platform.amfori import TOPIC as AMFORI_TOPIC
from schemas.platform.common import ChangeEvent
from schemas.platform.sedex import (
    SEDEX_EVENT,
    SEDEX_EVENT_FROM_JSON,
    SEDEX_EVENT_TYPES,
    SedexEvent,
    SedexEventFromJson,
)
from schemas.platform.sedex import TOPIC as SEDEX_TOPIC

PLATFORM_ADAPTERS: Final[dict[str, TypeAdapter[Any]]] = {
    SEDEX_TOPIC: SEDEX_EVENT,
    AMFORI_TOPIC: AMFORI_EVENT,
}
"""Source topic -> adapter; ``PLATFORM_ADAPTERS[topic].validate_json(value)`` returns a ChangeEvent."""

__all__ = [
    "AMFORI_EVENT",
    "AMFORI_EVENT_FROM_JSON",
    "AMFORI_EVENT_TYPES",
    "AMFORI_TOPIC",
    "PLATFORM_ADAPTERS",
    "SEDEX_EVENT",
    "SEDEX_EVENT_FROM_JSON",
    "SEDEX_EVENT_TYPES",
    "SEDEX_TOPIC",
    "AmforiEvent",
    "AmforiEventFromJson",
    "ChangeEvent",
    "SedexEvent",
    "SedexEventFromJson",
]
