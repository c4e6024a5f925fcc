"""The two records ingest writes: the accepted envelope with CloudEvents headers, and the dead letter.

CloudEvents Kafka binding, binary mode: the event's attributes travel as `ce_*` headers and the value
is the data itself, so consumers that know nothing of CloudEvents still read plain JSON.
"""

from __future__ import annotations

import time
from functools import cache, lru_cache
from typing import Any, Final

from pydantic_core import to_json

from schemas.exchange.accepted import ACCEPTED_CE_SOURCE, CE_SPECVERSION
from schemas.platform.common import ChangeEvent

from .reasons import Rejection

Headers = list[tuple[str, bytes]]


_SECONDS_PER_DAY: Final = 86_400
_HOUR_MINUTE: Final = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SECOND: Final = tuple(f"{s:02d}" for s in range(60))
_MILLIS: Final = tuple(f".{ms:03d}Z" for ms in range(1000))


@lru_cache(maxsize=4096)  # ~11 years of days; a feed's timestamps cluster in a few of them
def _day_text(day: int) -> str:
    """`2026-01-31` for a day counted from the epoch."""
    return time.strftime("%Y-%m-%d", time.gmtime(day * _SECONDS_PER_DAY))


def _rfc3339_ms(epoch_ms: int) -> str:
    """`2026-01-31T12:00:00.123Z` (whole milliseconds, from integers: no float rounding).

    The day's text is made once per day and the rest is looked up: `gmtime` and `strftime` for every
    event took 0.8 µs, this about 0.3 µs."""
    seconds, millis = divmod(epoch_ms, 1000)
    day, second_of_day = divmod(seconds, _SECONDS_PER_DAY)
    minute_of_day, second = divmod(second_of_day, 60)
    return f"{_day_text(day)}{_HOUR_MINUTE[minute_of_day]}{_SECOND[second]}{_MILLIS[millis]}"


@cache
def _type_headers(platform: str, event_type: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """`ce_source` and `ce_type`, the same for every event of a platform and type (a dozen pairs)."""
    return (
        ("ce_source", f"{ACCEPTED_CE_SOURCE}/{platform}".encode()),
        ("ce_type", f"org.sourcing-exchange.accepted.{platform}.{event_type}".encode()),
    )


_SPECVERSION_HEADER: Final = ("ce_specversion", CE_SPECVERSION)
_CONTENT_TYPE_HEADER: Final = ("content-type", b"application/json")


def accepted_record(
    platform: str, event: ChangeEvent, topic: str, partition: int, offset: int
) -> tuple[bytes, Headers]:
    """The envelope's JSON, byte for byte what `AcceptedEvent.model_dump_json(by_alias=True)` writes
    (`test_envelopes` compares them on the feed), made without building the model: its fields are a
    plain dict, ending with the event already validated by its platform model, serialised in one call
    of pydantic-core (which serialises the event by its model, with its aliases)."""
    occurred_at_ms = event.occurred_at_ms  # a property computed from Sedex's datetime: read once
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
        "occurred_at_ms": occurred_at_ms,
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "event": event,
    }
    source_header, type_header = _type_headers(platform, event.event_type)
    headers: Headers = [
        _SPECVERSION_HEADER,
        ("ce_id", f"{platform}:{event.event_id}".encode()),
        source_header,
        type_header,
        ("ce_time", _rfc3339_ms(occurred_at_ms).encode()),
        _CONTENT_TYPE_HEADER,
    ]
    return to_json(fields, by_alias=True), headers


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
