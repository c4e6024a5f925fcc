"""Normalize's dead letters: a pointer to the accepted-topic record and a reason, never a copy of it.

Written by the service for each event it rejects, and by the key rotation for the events its replay
rejects before normalize itself reaches them (so nothing read is ever left unaccounted for)."""

from __future__ import annotations

from schemas.exchange.dead_letter import NormalizeDeadLetter


def dead_letter_record(
    topic: str, partition: int, offset: int, reason_class: str, reason: str
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of one record of `exchange.normalize.dlq.v1`."""
    value = (
        NormalizeDeadLetter(
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
            reason_class=reason_class,
            reason=reason,
        )
        .model_dump_json()
        .encode()
    )
    return value, [("dlq_reason_class", reason_class.encode()), ("content-type", b"application/json")]
