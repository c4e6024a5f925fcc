"""The header schemas: what travels in Kafka headers rather than in the value.

CloudEvents attributes (``ce_*``, binary mode) on the accepted and aggregate topics, the ``dlq_*``
headers of the dead-letter topics, and the state topics' own values that no model describes. They are
component schemas beside the models', named ``...Headers`` (or by what they hold).
"""

from __future__ import annotations

from typing import Any

from schemas.exchange.accepted import ACCEPTED_CE_SOURCE, CE_SPECVERSION
from schemas.exchange.dead_letter import IngestReasonClass
from schemas.topics import PLATFORM_TOPICS


def header_schemas() -> dict[str, Any]:

    platforms = "(sedex|amfori)"

    def dlq(source_topic: dict[str, Any], reason_class: dict[str, Any]) -> dict[str, Any]:
        position = {"type": "string", "pattern": "^[0-9]+$"}
        return {
            "type": "object",
            "properties": {
                "dlq_reason": {
                    "type": "string",
                    "description": "Readable; names the field. May quote a value from the message.",
                },
                "dlq_reason_class": reason_class,
                "dlq_source_topic": source_topic,
                "dlq_source_partition": {**position, "description": "Decimal."},
                "dlq_source_offset": {**position, "description": "Decimal."},
            },
            "required": [
                "dlq_reason",
                "dlq_reason_class",
                "dlq_source_topic",
                "dlq_source_partition",
                "dlq_source_offset",
            ],
        }

    return {
        "AcceptedHeaders": {
            "type": "object",
            "description": "CloudEvents Kafka protocol binding, binary mode: the attributes travel as "
            "ce_* headers and the value is the data itself.",
            "properties": {
                "ce_specversion": {"const": CE_SPECVERSION.decode()},
                "ce_id": {
                    "type": "string",
                    "pattern": f"^{platforms}:.+$",
                    "description": "platform:eventId.",
                },
                "ce_source": {"enum": [f"{ACCEPTED_CE_SOURCE}/{p}" for p in ("sedex", "amfori")]},
                "ce_type": {
                    "type": "string",
                    "pattern": rf"^org\.sourcing-exchange\.accepted\.{platforms}\..+$",
                    "description": "org.sourcing-exchange.accepted.<platform>.<eventType>.",
                },
                "ce_time": {
                    "type": "string",
                    "format": "date-time",
                    "description": "The event's time, RFC 3339 UTC, in milliseconds.",
                },
                "content-type": {"const": "application/json"},
            },
            "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
        },
        "IngestDeadLetterHeaders": {
            **dlq(
                {"enum": list(PLATFORM_TOPICS)},
                {"enum": [reason.value for reason in IngestReasonClass]},
            ),
            "description": "The original message's headers, unchanged, then these.",
        },
        "NormalizeDeadLetterHeaders": {
            "type": "object",
            "properties": {
                "dlq_reason_class": {
                    "type": "string",
                    "description": "A small closed set, fit for metric labels.",
                },
                "content-type": {"const": "application/json"},
            },
            "required": ["dlq_reason_class", "content-type"],
        },
        "AggregateHeaders": {
            "type": "object",
            "properties": {
                "ce_specversion": {"const": "1.0"},
                "ce_id": {"type": "string", "description": "UUIDv5 of table, key, release and revision."},
                "ce_source": {"const": "urn:sourcing-exchange:aggregate"},
                "ce_type": {"type": "string", "pattern": "^org\\.sourcing-exchange\\.aggregate\\..+$"},
                "ce_time": {"type": "string", "format": "date-time", "description": "The release time."},
                "content-type": {"const": "application/json"},
            },
            "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
        },
        "SiteResolutionHeaders": {
            "type": "object",
            "properties": {
                "sx_previous_resolved_site_id": {
                    "type": "string",
                    "description": "The resolved site the platform site belonged to just before this "
                    "record (absent if none): with it a consumer sees a move, or a tombstone, as a "
                    "retraction from that resolved site. Kept out of the value so that the compacted "
                    "state does not depend on arrival order.",
                }
            },
        },
        "SeenPositions": {
            "type": "array",
            "items": {"type": "string", "pattern": "^.+/[0-9]+/[0-9]+$"},
            "minItems": 1,
            "description": "topic/partition/offset of every message that carried the event: the one "
            "forwarded first, then the platform's redeliveries.",
        },
        "AppliedVersion": {
            "type": "object",
            "properties": {
                "version": {"type": "integer", "minimum": 1},
                "event": {
                    "type": "string",
                    "description": "Pseudonym of the event that brought this version, so that a replay "
                    "of the same event is told apart from a conflicting one.",
                },
            },
            "required": ["version", "event"],
            "additionalProperties": False,
            "description": "The highest entity version normalize has applied for the key's entity.",
        },
        "QuarantinedEvent": {
            "type": "object",
            "properties": {"reason": {"type": "string"}},
            "required": ["reason"],
            "additionalProperties": False,
            "description": "Why an operator set the key's event aside (no identifier in clear).",
        },
    }
