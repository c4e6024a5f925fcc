"""The two records ingest writes: the accepted envelope with CloudEvents headers, and the dead letter.

CloudEvents Kafka binding, binary mode: the event's attributes travel as `ce_*` headers and the value
is the data itself, so consumers that know nothing of CloudEvents still read plain JSON.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic_core import to_json

from schemas.exchange.accepted import ACCEPTED_CE_SOURCE, CE_SPECVERSION
from schemas.platform.common import ChangeEvent

from .reasons import Rejection

Headers = list[tuple[str, bytes]]


def _rfc3339_ms(epoch_ms: int) -> str:
    """`2026-01-31T12:00:00.123Z` (whole milliseconds, from integers: no float rounding)."""
    seconds, millis = divmod(epoch_ms, 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


def accepted_record(
    platform: str, event: ChangeEvent, topic: str, partition: int, offset: int
) -> tuple[bytes, Headers]:
    """The envelope's JSON, byte for byte what `AcceptedEvent.model_dump_json(by_alias=True)` writes
    (`test_envelopes` compares them on the feed), made without building the model: its fields are a
    plain dict serialised by pydantic-core, and the event, already validated by its platform model,
    is serialised by that model and spliced in as the last field."""
    fields: dict[str, Any] = {
        "schema_version": 1,
        "platform": platform,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "entity_kind": event.entity_kind,
        "entity_id": event.entity_id,
        "entity_version": event.entity_version,
        "company_ref": event.company_ref,
        "site_ref": event.site_ref,
        "occurred_at_ms": event.occurred_at_ms,
        "source": {"topic": topic, "partition": partition, "offset": offset},
    }
    serializer = event.__pydantic_serializer__  # type: ignore[attr-defined]
    value = b"".join((to_json(fields)[:-1], b',"event":', serializer.to_json(event, by_alias=True), b"}"))
    headers: Headers = [
        ("ce_specversion", CE_SPECVERSION),
        ("ce_id", f"{platform}:{event.event_id}".encode()),
        ("ce_source", f"{ACCEPTED_CE_SOURCE}/{platform}".encode()),
        ("ce_type", f"org.sourcing-exchange.accepted.{platform}.{event.event_type}".encode()),
        ("ce_time", _rfc3339_ms(event.occurred_at_ms).encode()),
        ("content-type", b"application/json"),
    ]
    return value, headers


def dead_letter_headers(
    original: Headers, rejection: Rejection, topic: str, partition: int, offset: int
) -> Headers:
    """The original headers untouched, then ours, so the message can be replayed as it was."""
    return [
        *original,
        ("dlq_reason", rejection.reason.encode()),
        ("dlq_reason_class", rejection.reason_class.value.encode()),
        ("dlq_source_topic", topic.encode()),
        ("dlq_source_partition", str(partition).encode()),
        ("dlq_source_offset", str(offset).encode()),
    ]
