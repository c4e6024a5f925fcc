"""Normalize's topics. The shared-record topics are named on their models (`schemas.shared`)."""

from __future__ import annotations

from typing import Final

from schemas.shared.models import SHARED_TOPICS
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC

NORMALIZE_DLQ_TOPIC: Final = "exchange.normalize.dlq.v1"
# Normalize's own state: the highest version applied per entity (see engine.py).
NORMALIZE_VERSIONS_TOPIC: Final = "exchange.normalize.versions.v1"
# Events an operator quarantined (`python -m services.normalize repair-entity`): key the event's
# pseudonym, value why. normalize dead-letters them instead of applying them, on replays too.
NORMALIZE_QUARANTINE_TOPIC: Final = "exchange.normalize.quarantine.v1"

OUTPUT_TOPICS: Final = (*sorted(SHARED_TOPICS), SITE_RESOLUTION_TOPIC, RESOLVED_SITES_TOPIC)
