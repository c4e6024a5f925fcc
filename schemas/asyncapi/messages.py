"""The messages: for each kind of value on a topic, its payload, its key and its headers.

Payloads and headers point into ``components/schemas``; a key is stated here as the Kafka binding's
``key``, taken from the model's own field where the key is one.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel

from schemas.asyncapi.bindings import KAFKA_BINDING_VERSION
from schemas.asyncapi.channels import NORMALIZED, cell_message
from schemas.asyncapi.components import nullable, ref
from schemas.exchange.accepted import AcceptedEvent
from schemas.exchange.aggregates import AUDIT_QUALITY, MESSAGE_OF, TABLES
from schemas.exchange.dead_letter import NormalizeDeadLetter
from schemas.exchange.deliver import DeliverDeadLetter, DeliveryRecord
from schemas.shared.resolution import SiteResolution


def _field(schemas: Mapping[str, Any], component: str, field: str, description: str) -> dict[str, Any]:
    """One property's schema (as a key's schema), without its title."""
    schema = {k: v for k, v in schemas[component]["properties"][field].items() if k != "title"}
    return {**schema, "description": description}


def _message(
    title: str, description: str, payload: Any, key: dict[str, Any], headers: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "title": title,
        "description": description,
        "contentType": "application/json",
        "payload": payload,
        "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    if headers is not None:
        message["headers"] = ref(headers)
    return message


def _string_key(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


_CELL_KEY: Final = "The cell's coordinates, compact JSON with sorted keys."
_CELL_KEY_OF: Final[Mapping[str, str]] = {
    AUDIT_QUALITY: "The cell's coordinates (period, audit_firm, country), compact JSON with sorted keys; "
    "the firm's name is not part of the key.",
}
"""The tables whose key needs more words than ``_CELL_KEY``."""


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "")


def messages(schemas: Mapping[str, Any]) -> dict[str, Any]:
    sedex_key = {
        "anyOf": [
            _field(schemas, "SiteUpserted", "siteRef", "siteRef"),
            _field(schemas, "ConsentChanged", "companyRef", "companyRef (ConsentChanged)"),
        ],
        "description": "The event's siteRef; companyRef for ConsentChanged.",
    }
    amfori_key = {
        "anyOf": [
            _field(schemas, "SiteUpdated", "siteAmforiId", "siteAmforiId"),
            _field(schemas, "ConsentUpdated", "legalEntityAmforiId", "legalEntityAmforiId (consent.updated)"),
        ],
        "description": "The event's siteAmforiId; legalEntityAmforiId for consent.updated.",
    }
    platform_key = {
        "anyOf": [sedex_key, amfori_key],
        "description": "The platform message's own key, unchanged.",
    }
    result: dict[str, Any] = {
        "SedexChangeEvent": _message(
            "Sedex change event",
            "A value on the Sedex topic, schemaVersion 1.",
            ref("SedexEvent"),
            sedex_key,
        ),
        "AmforiChangeEvent": _message(
            "amfori change event",
            'A value on the amfori topic, specVersion "1".',
            ref("AmforiEvent"),
            amfori_key,
        ),
        "AcceptedEvent": _message(
            "Accepted platform event",
            _doc(AcceptedEvent),
            ref("AcceptedEvent"),
            platform_key,
            headers="AcceptedHeaders",
        ),
        "IngestDeadLetter": {
            **_message(
                "Rejected platform message",
                "The original value, byte for byte: not necessarily JSON, nor UTF-8, and absent when the "
                "message had none.",
                {"description": "Any bytes."},
                {"description": "The original message's key, unchanged (may be absent)."},
                headers="IngestDeadLetterHeaders",
            ),
            "contentType": "application/octet-stream",
        },
        "IngestSeen": _message(
            "Forwarded platform event",
            "The positions that carried one forwarded platform event.",
            ref("SeenPositions"),
            {"type": "string", "pattern": "^(sedex|amfori):.+$", "description": "platform:eventId."},
        ),
        "NormalizeDeadLetter": _message(
            "Unmappable accepted event",
            _doc(NormalizeDeadLetter),
            ref("NormalizeDeadLetter"),
            {"type": "null", "description": "No key: the accepted record's key is a raw identifier."},
            headers="NormalizeDeadLetterHeaders",
        ),
        **{
            cell_message(table): _message(
                f"{table} cell",
                "One cell of one release.",
                ref(MESSAGE_OF[table].__name__),
                _string_key(_CELL_KEY_OF.get(table, _CELL_KEY)),
                headers="AggregateHeaders",
            )
            for table in TABLES
        },
        "IssuePrevalenceForecast": _message(
            "issue-prevalence forecast",
            "One cell's next-period forecast of rate_pct.",
            ref("ForecastMessage"),
            _string_key("The forecast cell's coordinates, compact JSON with sorted keys."),
            headers="AggregateHeaders",
        ),
        "ForecastState": _message(
            "The last forecast sent for a cell",
            "Internal state of the aggregate service: the forecast and the published values it used.",
            ref("ForecastStateRecord"),
            _string_key('{"forecast":{...}}, compact JSON, sorted keys.'),
        ),
        "ReleaseState": _message(
            "A cell's last release",
            "Internal state of the aggregate service.",
            ref("ReleaseStateRecord"),
            _string_key('{"cell":{...},"table":"..."}, compact JSON, sorted keys.'),
        ),
        "ReleaseStatePart": _message(
            "A further part of a cell's last release",
            "Internal state of the aggregate service: the contributions of a large cell that do not fit "
            "in its release-state record, continued in site order.",
            ref("ReleaseStatePartRecord"),
            _string_key('{"cell":{...},"part":<i>,"table":"..."}, compact JSON, sorted keys.'),
        ),
        "SiteAffiliation": _message(
            "Who stood behind a platform site",
            "Internal state of the aggregate service: owners and members seen behind one platform site in "
            "any release, for the revision and view rules once the site has left.",
            ref("SiteAffiliationRecord"),
            _string_key('{"site":"<platform site pseudonym>"}, compact JSON.'),
        ),
        "NoiseDraw": _message(
            "A stored noisy draw",
            "Internal state of the aggregate service (differential-privacy mode): the last draw of one "
            "table's period and the privacy budget spent on it, stored before any release publishes "
            "from it.",
            ref("NoiseDrawRecord"),
            _string_key('{"noise":{"period":"...","table":"..."}}, compact JSON.'),
        ),
        "ReleaseMarker": _message(
            "The last committed release",
            "Internal state of the aggregate service: the schedule resumes after this release.",
            ref("ReleaseMarker"),
            _string_key("`__last_release__`."),
        ),
        "DeliveryState": _message(
            "The last release done for an endpoint",
            _doc(DeliveryRecord),
            ref("DeliveryRecord"),
            _string_key("The endpoint's configured name."),
        ),
        "DeliverDeadLetter": _message(
            "A release not delivered to an endpoint",
            _doc(DeliverDeadLetter),
            ref("DeliverDeadLetter"),
            _string_key("The endpoint's configured name."),
        ),
        "NormalizeVersion": _message(
            "Applied entity version",
            "The highest version normalize has applied for one entity.",
            ref("AppliedVersion"),
            _string_key("The entity's pseudonym."),
        ),
        "NormalizeQuarantine": _message(
            "A quarantined event",
            "An event normalize must never apply (repair-entity).",
            ref("QuarantinedEvent"),
            _string_key("The event's pseudonym."),
        ),
    }
    for model, (key_field, key) in NORMALIZED.items():
        name = model.__name__
        result[name] = _message(
            f"{name} record (or tombstone)",
            _doc(model),
            nullable(name),
            _field(schemas, name, key_field, key),
            headers="SiteResolutionHeaders" if model is SiteResolution else None,
        )
    return result
