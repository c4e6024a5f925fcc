"""Normalize's topics. The shared-record topics are named on their models (`schemas.shared`)."""

from __future__ import annotations

from typing import Final

from schemas.shared.models import SHARED_TOPICS
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC
from schemas.topics import (
    NORMALIZE_DLQ_TOPIC,
    NORMALIZE_LEASE_TOPIC,
    NORMALIZE_QUARANTINE_TOPIC,
    NORMALIZE_VERSIONS_TOPIC,
)

__all__ = [
    "NORMALIZE_DLQ_TOPIC",
    "NORMALIZE_LEASE_TOPIC",
    "NORMALIZE_QUARANTINE_TOPIC",
    "NORMALIZE_VERSIONS_TOPIC",
    "OUTPUT_TOPICS",
]

OUTPUT_TOPICS: Final = (*sorted(SHARED_TOPICS), SITE_RESOLUTION_TOPIC, RESOLVED_SITES_TOPIC)
