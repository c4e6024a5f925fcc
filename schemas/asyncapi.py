"""The AsyncAPI 3.0 document of every Kafka topic the exchange reads or writes (``asyncapi.json``).

Generated from the models, like the JSON Schemas, and checked in by ``python -m schemas.export``:
payloads are the pydantic models' JSON Schemas (by alias, validation mode), their ``$defs`` hoisted
into ``components/schemas`` so the document is self-contained; keys, headers and Kafka bindings are
written here, next to the topic names they describe.

Two adjustments to pydantic's output, both for AsyncAPI's Schema Object (a superset of JSON Schema
draft 07): a ``discriminator`` is the property *name* (a string), not OpenAPI's ``{propertyName,
mapping}``; and ``$defs`` names that pydantic qualifies with their module when two models share a class
name (``schemas__platform__sedex__Address``) become ``SedexAddress``.

Topic names are imported where they are declared. The imports from ``services`` happen inside
``document()``, so that importing this module (for the constants below) loads no service code.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import CoreSchema

from schemas.exchange.accepted import ACCEPTED_CE_SOURCE, CE_SPECVERSION, AcceptedEvent
from schemas.exchange.aggregates import (
    AUDIT_QUALITY,
    CAPACITY_BUILDING,
    FORCED_LABOUR,
    FORECASTS_TOPIC,
    ISSUE_PREVALENCE,
    LABOUR_RELATIONS,
    RELEASE_STATE_TOPIC,
    REMEDIATION,
    AuditQualityMessage,
    CapacityBuildingMessage,
    ForcedLabourMessage,
    ForecastMessage,
    ForecastStateRecord,
    IssuePrevalenceMessage,
    LabourRelationsMessage,
    NoiseDrawRecord,
    ReleaseMarker,
    ReleaseStateRecord,
    RemediationMessage,
    SiteAffiliationRecord,
    topic_of,
)
from schemas.exchange.dead_letter import IngestReasonClass, NormalizeDeadLetter
from schemas.exchange.deliver import DeliverDeadLetter, DeliveryRecord
from schemas.platform.amfori import AMFORI_EVENT
from schemas.platform.amfori import TOPIC as AMFORI_TOPIC
from schemas.platform.sedex import SEDEX_EVENT
from schemas.platform.sedex import TOPIC as SEDEX_TOPIC
from schemas.shared.models import Audit, Consent, CorrectiveAction, PlatformSite, Training
from schemas.shared.resolution import (
    RESOLVED_SITES_TOPIC,
    SITE_RESOLUTION_TOPIC,
    ResolvedSite,
    SiteResolution,
)
from schemas.topics import (
    ACCEPTED_TOPIC,
    DELIVER_DLQ_TOPIC,
    DELIVER_STATE_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    MAX_MESSAGE_BYTES,
    NORMALIZE_DLQ_TOPIC,
    NORMALIZE_QUARANTINE_TOPIC,
    NORMALIZE_VERSIONS_TOPIC,
    PLATFORM_TOPICS,
    TOPICS,
)

ASYNCAPI_VERSION: Final = "3.0.0"
KAFKA_BINDING_VERSION: Final = "0.5.0"
COMPONENT_SCHEMAS: Final = "#/components/schemas/"
PLANNED_PARTITIONS: Final = 6
"""Partitions stated for topics services/topics.py does not declare yet (those of the declared ones)."""

CleanupPolicy = Literal["compact", "delete"]


class _NoFieldTitles(GenerateJsonSchema):
    """As in schemas.export (which imports this module, so it cannot be imported from here)."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


# --- payload schemas ----------------------------------------------------------------------------------

_MODELS: Final[tuple[tuple[str, TypeAdapter[Any]], ...]] = (
    ("SedexEvent", SEDEX_EVENT),
    ("AmforiEvent", AMFORI_EVENT),
    ("AcceptedEvent", TypeAdapter(AcceptedEvent)),
    *((m.__name__, TypeAdapter(m)) for m in (PlatformSite, Audit, CorrectiveAction, Consent, Training)),
    ("SiteResolution", TypeAdapter(SiteResolution)),
    ("ResolvedSite", TypeAdapter(ResolvedSite)),
    ("NormalizeDeadLetter", TypeAdapter(NormalizeDeadLetter)),
    ("IssuePrevalenceMessage", TypeAdapter(IssuePrevalenceMessage)),
    ("ForcedLabourMessage", TypeAdapter(ForcedLabourMessage)),
    ("LabourRelationsMessage", TypeAdapter(LabourRelationsMessage)),
    ("AuditQualityMessage", TypeAdapter(AuditQualityMessage)),
    ("RemediationMessage", TypeAdapter(RemediationMessage)),
    ("CapacityBuildingMessage", TypeAdapter(CapacityBuildingMessage)),
    ("ReleaseStateRecord", TypeAdapter(ReleaseStateRecord)),
    ("ReleaseMarker", TypeAdapter(ReleaseMarker)),
    ("SiteAffiliationRecord", TypeAdapter(SiteAffiliationRecord)),
    ("NoiseDrawRecord", TypeAdapter(NoiseDrawRecord)),
    ("ForecastMessage", TypeAdapter(ForecastMessage)),
    ("ForecastStateRecord", TypeAdapter(ForecastStateRecord)),
    ("DeliveryRecord", TypeAdapter(DeliveryRecord)),
    ("DeliverDeadLetter", TypeAdapter(DeliverDeadLetter)),
)
"""Component name -> the adapter whose JSON Schema it is. The unions (platform events) are inline
schemas in pydantic's output; the models are ``$defs`` already."""

_COMPONENT_NAME: Final = re.compile(r"^[A-Za-z0-9.\-_]+$")


def _qualified_name(name: str) -> str:
    """``schemas__platform__sedex__Address`` -> ``SedexAddress``; ``schemas__shared__models__X`` ->
    ``SharedX``."""
    *modules, cls = name.split("__")
    prefix = {"models": "Shared"}.get(modules[-1], modules[-1].capitalize())
    return prefix + cls


def _adapt(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy with refs renamed and discriminators reduced to the property name."""
    if isinstance(node, list):
        return [_adapt(item, renames) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENT_SCHEMAS):
            name = value.removeprefix(COMPONENT_SCHEMAS)
            out[key] = COMPONENT_SCHEMAS + renames.get(name, name)
        elif key == "discriminator" and isinstance(value, dict):
            out[key] = value["propertyName"]
        else:
            out[key] = _adapt(value, renames)
    return out


def model_schemas() -> dict[str, Any]:
    """``components/schemas`` for every model: one namespace, refs to ``#/components/schemas/...``."""
    mode: JsonSchemaMode = "validation"
    tops, defs = TypeAdapter.json_schemas(
        [(name, mode, adapter) for name, adapter in _MODELS],
        by_alias=True,
        ref_template=COMPONENT_SCHEMAS + "{model}",
        schema_generator=_NoFieldTitles,
    )
    found: dict[str, Any] = dict(defs.get("$defs", {}))
    for (name, _), top in tops.items():
        if top != {"$ref": COMPONENT_SCHEMAS + name}:  # an inline union: give it a name of its own
            if name in found:
                raise ValueError(f"component schema {name!r} generated twice")
            found[name] = top
    renames = {name: _qualified_name(name) for name in found if "__" in name}
    schemas: dict[str, Any] = {}
    for name, schema in found.items():
        new = renames.get(name, name)
        if new in schemas or (new != name and new in found):
            raise ValueError(f"component schema name {new!r} is ambiguous")
        if not _COMPONENT_NAME.match(new):
            raise ValueError(f"{new!r} is not a valid AsyncAPI component name")
        schemas[new] = _adapt(schema, renames)
    return schemas


def _field(schemas: Mapping[str, Any], component: str, field: str, description: str) -> dict[str, Any]:
    """One property's schema (as a key's schema), without its title."""
    schema = {k: v for k, v in schemas[component]["properties"][field].items() if k != "title"}
    return {**schema, "description": description}


def _ref(component: str) -> dict[str, str]:
    return {"$ref": COMPONENT_SCHEMAS + component}


def _nullable(component: str) -> dict[str, Any]:
    return {"anyOf": [_ref(component), {"type": "null"}]}


# --- channels -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """One topic: its AsyncAPI id, address, the cleanup policy the exchange relies on, its messages."""

    id: str
    topic: str
    cleanup_policy: CleanupPolicy
    description: str
    messages: tuple[str, ...]


@dataclass(frozen=True)
class Operation:
    service: str
    action: Literal["send", "receive"]
    channel: str
    summary: str

    @property
    def id(self) -> str:
        return f"{self.service}_{self.action}_{self.channel}"


_TOMBSTONE: Final = (
    "Compacted: the latest value per key is the state. A null value (a tombstone) means the entity was "
    "removed, withdrawn or is no longer resolved; consumers drop what they hold for that key."
)

# Normalize outputs: (channel id, model, key field, what the key is). Topic names from the models.
_NORMALIZED: Final[tuple[tuple[str, type[BaseModel], str, str], ...]] = (
    ("normalizedPlatformSites", PlatformSite, "site_id", "The platform site's pseudonym (site_id)."),
    ("normalizedAudits", Audit, "audit_id", "The audit's pseudonym (audit_id)."),
    (
        "normalizedCorrectiveActions",
        CorrectiveAction,
        "finding_id",
        "The pseudonym of the finding the action remedies (finding_id).",
    ),
    ("normalizedConsents", Consent, "company_id", "The supplier company's pseudonym (company_id)."),
    ("normalizedTrainings", Training, "training_id", "The training record's pseudonym (training_id)."),
    (
        "normalizedSiteResolution",
        SiteResolution,
        "platform_site_id",
        "The platform site's pseudonym (platform_site_id).",
    ),
    ("normalizedResolvedSites", ResolvedSite, "resolved_site_id", "The resolved site's pseudonym."),
)


def _topic_of(model: type[BaseModel]) -> str:
    topic = getattr(model, "TOPIC", None)
    if isinstance(topic, str):
        return topic
    return {SiteResolution: SITE_RESOLUTION_TOPIC, ResolvedSite: RESOLVED_SITES_TOPIC}[model]


def channels() -> tuple[Channel, ...]:

    return (
        Channel(
            "sedexChanges",
            SEDEX_TOPIC,
            "delete",
            "Sedex's change events, one message per change. Key: the event's siteRef (companyRef for "
            "ConsentChanged). Read by ingest, which validates every message and either accepts or "
            "dead-letters it. Fields the contract does not define are rejected.",
            ("SedexChangeEvent",),
        ),
        Channel(
            "amforiChanges",
            AMFORI_TOPIC,
            "delete",
            "amfori's change events, one message per change. Key: the event's siteAmforiId "
            "(legalEntityAmforiId for consent.updated). Read by ingest, like the Sedex topic.",
            ("AmforiChangeEvent",),
        ),
        Channel(
            "ingestAccepted",
            ACCEPTED_TOPIC,
            "delete",
            "Every admitted platform event, once (a platform redelivery is not forwarded again; after "
            "a crash ingest may re-send an event byte-identical, with the same ce_id, which normalize's "
            "versions make harmless). Key: the platform message's own key, so one site's events stay in "
            "one partition, in order. Internal: it still carries raw platform data; only normalize reads "
            "it. Record timestamp: the input record's.",
            ("AcceptedEvent",),
        ),
        Channel(
            "ingestDeadLetters",
            INGEST_DLQ_TOPIC,
            "delete",
            "Platform messages ingest rejected: value, key and original headers unchanged, then the "
            "dlq_* headers saying why and where from, so the message can be replayed as it was.",
            ("IngestDeadLetter",),
        ),
        Channel(
            "ingestSeen",
            INGEST_SEEN_TOPIC,
            "compact",
            "Ingest's own state: the platform events it has forwarded. Key: platform:eventId; value: "
            "the positions that carried it, the forwarded one first. Every ingest process reads it in "
            "full before it starts.",
            ("IngestSeen",),
        ),
        *(
            Channel(
                channel_id,
                _topic_of(model),
                "compact",
                f"Normalize's {model.__name__} records, pseudonymised. Key: {key}\n\n{_TOMBSTONE}",
                (model.__name__,),
            )
            for channel_id, model, _, key in _NORMALIZED
        ),
        Channel(
            "normalizeDeadLetters",
            NORMALIZE_DLQ_TOPIC,
            "delete",
            f"Accepted events normalize could not map: a pointer to the record on {ACCEPTED_TOPIC} "
            "and the reason, never a copy (the envelope holds raw platform data).",
            ("NormalizeDeadLetter",),
        ),
        Channel(
            "normalizeVersions",
            NORMALIZE_VERSIONS_TOPIC,
            "compact",
            "Normalize's own state: the highest entity version it has applied per entity, so that an "
            "older or repeated event changes nothing. Key: the entity's pseudonym.",
            ("NormalizeVersion",),
        ),
        Channel(
            "normalizeQuarantine",
            NORMALIZE_QUARANTINE_TOPIC,
            "compact",
            "Events an operator set aside (`python -m services.normalize repair-entity`): normalize "
            "dead-letters them as `quarantined` instead of applying them. Key: the event's pseudonym.",
            ("NormalizeQuarantine",),
        ),
        Channel(
            "aggregatesIssuePrevalence",
            topic_of(ISSUE_PREVALENCE),
            "compact",
            "The issue-prevalence table (aggregates.md): one message per cell and release; the latest per "
            "key is the cell's current state, earlier ones its revisions. Written in transactions: read "
            "with isolation.level=read_committed. Key: the cell's coordinates, compact JSON, sorted keys.",
            ("IssuePrevalenceCell",),
        ),
        Channel(
            "aggregatesForcedLabour",
            topic_of(FORCED_LABOUR),
            "compact",
            "The forced-labour table (aggregates.md), as issue-prevalence. Key: the cell's coordinates.",
            ("ForcedLabourCell",),
        ),
        Channel(
            "aggregatesLabourRelations",
            topic_of(LABOUR_RELATIONS),
            "compact",
            "The labour-relations table (aggregates.md), as issue-prevalence. Key: the cell's coordinates.",
            ("LabourRelationsCell",),
        ),
        Channel(
            "aggregatesAuditQuality",
            topic_of(AUDIT_QUALITY),
            "compact",
            "The audit-quality table (aggregates.md), per audit firm: the firm's APSCA id and name are "
            "published on purpose; the sites behind them are not. Key: the cell's coordinates (without "
            "the firm's name).",
            ("AuditQualityCell",),
        ),
        Channel(
            "aggregatesRemediation",
            topic_of(REMEDIATION),
            "compact",
            "The remediation table (aggregates.md), as issue-prevalence; `open_overdue` is as of the release "
            "time. Key: the cell's coordinates.",
            ("RemediationCell",),
        ),
        Channel(
            "aggregatesForecasts",
            FORECASTS_TOPIC,
            "compact",
            "Next-period forecasts of issue-prevalence rate_pct with an 80 % prediction interval "
            '(docs/aggregate.md, "Forecasts"), computed only from the messages already published on '
            f"{topic_of(ISSUE_PREVALENCE)}; written in the release's transaction, re-sent only when the "
            "published values a forecast used changed. Key: the forecast cell's coordinates (period = the "
            "target period), compact JSON, sorted keys.",
            ("IssuePrevalenceForecast",),
        ),
        Channel(
            "aggregatesCapacityBuilding",
            topic_of(CAPACITY_BUILDING),
            "compact",
            "The capacity-building table (aggregates.md): period x country x topic. Key: the cell's "
            "coordinates.",
            ("CapacityBuildingCell",),
        ),
        Channel(
            "aggregateReleaseState",
            RELEASE_STATE_TOPIC,
            "compact",
            "Aggregate's own state, never published: each cell's last release and its sites' "
            "contributions, who stood behind each platform site, the differential-privacy mode's stored "
            "draws, and the marker `__last_release__` (the last committed release).",
            ("ReleaseState", "SiteAffiliation", "NoiseDraw", "ForecastState", "ReleaseMarker"),
        ),
        Channel(
            "deliverState",
            DELIVER_STATE_TOPIC,
            "compact",
            "The webhook deliver service's own state: per registered endpoint, the last release it "
            "delivered or dead-lettered there (releases go to an endpoint in order). Key: the endpoint's "
            "configured name. Read in full when deliver starts, so nothing done is sent again.",
            ("DeliveryState",),
        ),
        Channel(
            "deliverDeadLetters",
            DELIVER_DLQ_TOPIC,
            "delete",
            "Releases deliver gave up on for one endpoint after its configured attempts: a pointer (the "
            "release, the tables, the webhook id, why), never the payload, the URL or the secret.",
            ("DeliverDeadLetter",),
        ),
    )


def operations() -> tuple[Operation, ...]:
    normalized = [channel_id for channel_id, *_ in _NORMALIZED]
    return (
        Operation("ingest", "receive", "sedexChanges", "Validate each Sedex change event."),
        Operation("ingest", "receive", "amforiChanges", "Validate each amfori change event."),
        Operation("ingest", "send", "ingestAccepted", "Forward an admitted event in the common envelope."),
        Operation("ingest", "send", "ingestDeadLetters", "Dead-letter a rejected platform message."),
        Operation("ingest", "send", "ingestSeen", "Record the positions that carried a forwarded event."),
        Operation("ingest", "receive", "ingestSeen", "Load the forwarded events before starting."),
        Operation("normalize", "receive", "ingestAccepted", "Map accepted events to shared records."),
        *(Operation("normalize", "send", c, "Write the current record, or a tombstone.") for c in normalized),
        Operation("normalize", "send", "normalizeDeadLetters", "Dead-letter an envelope it cannot map."),
        Operation("normalize", "send", "normalizeVersions", "Record the version applied to an entity."),
        Operation("normalize", "receive", "normalizeVersions", "Load the versions applied so far."),
        Operation("normalize", "receive", "normalizeQuarantine", "Load the quarantined events."),
        *(
            Operation("aggregate", "receive", c, "Maintain the aggregates' inputs.")
            for c in normalized  # aggregate reads every normalized topic
        ),
        Operation("aggregate", "send", "aggregatesIssuePrevalence", "Release the issue-prevalence cells."),
        Operation("aggregate", "send", "aggregatesForcedLabour", "Release the forced-labour cells."),
        Operation("aggregate", "send", "aggregatesLabourRelations", "Release the labour-relations cells."),
        Operation("aggregate", "send", "aggregatesAuditQuality", "Release the audit-quality cells."),
        Operation("aggregate", "send", "aggregatesRemediation", "Release the remediation cells."),
        Operation(
            "aggregate", "send", "aggregatesForecasts", "Forecast the published issue-prevalence series."
        ),
        Operation("aggregate", "send", "aggregatesCapacityBuilding", "Release the capacity-building cells."),
        Operation("aggregate", "send", "aggregateReleaseState", "Record each cell's release and the marker."),
        Operation("aggregate", "receive", "aggregateReleaseState", "Load the release history."),
        *(
            Operation("deliver", "receive", c, "Gather each release's messages for the webhooks.")
            for c in (
                "aggregatesIssuePrevalence",
                "aggregatesForcedLabour",
                "aggregatesLabourRelations",
                "aggregatesAuditQuality",
                "aggregatesRemediation",
                "aggregatesCapacityBuilding",
            )
        ),
        Operation("deliver", "receive", "aggregateReleaseState", "Read the release markers (nothing else)."),
        Operation("deliver", "send", "deliverState", "Record the last release done for an endpoint."),
        Operation("deliver", "receive", "deliverState", "Load what each endpoint has had."),
        Operation("deliver", "send", "deliverDeadLetters", "Dead-letter a release for one endpoint."),
    )


def _channel_binding(channel: Channel) -> dict[str, Any]:

    declared = {spec.name: spec for spec in TOPICS}
    spec = declared.get(channel.topic)
    config: dict[str, Any] = {"cleanup.policy": [channel.cleanup_policy]}
    partitions = PLANNED_PARTITIONS
    if spec is not None:
        if spec.cleanup_policy != channel.cleanup_policy:
            raise ValueError(
                f"{channel.topic}: services.topics declares cleanup.policy={spec.cleanup_policy}"
            )
        partitions = spec.partitions
        config["retention.ms"] = spec.retention_ms
        config["max.message.bytes"] = int(spec.configs.get("max.message.bytes", MAX_MESSAGE_BYTES))
    return {
        "kafka": {
            "partitions": partitions,
            "topicConfiguration": config,
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


# --- messages -----------------------------------------------------------------------------------------


def _message(
    title: str,
    description: str,
    payload: Any,
    key: dict[str, Any],
    *,
    headers: str | None = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "title": title,
        "description": description,
        "contentType": content_type,
        "payload": payload,
        "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    if headers is not None:
        message["headers"] = _ref(headers)
    return message


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "")


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
            _ref("SedexEvent"),
            sedex_key,
        ),
        "AmforiChangeEvent": _message(
            "amfori change event",
            'A value on the amfori topic, specVersion "1".',
            _ref("AmforiEvent"),
            amfori_key,
        ),
        "AcceptedEvent": _message(
            "Accepted platform event",
            _doc(AcceptedEvent),
            _ref("AcceptedEvent"),
            platform_key,
            headers="AcceptedHeaders",
        ),
        "IngestDeadLetter": _message(
            "Rejected platform message",
            "The original value, byte for byte: not necessarily JSON, nor UTF-8, and absent when the "
            "message had none.",
            {"description": "Any bytes."},
            {"description": "The original message's key, unchanged (may be absent)."},
            headers="IngestDeadLetterHeaders",
            content_type="application/octet-stream",
        ),
        "IngestSeen": _message(
            "Forwarded platform event",
            "The positions that carried one forwarded platform event.",
            _ref("SeenPositions"),
            {"type": "string", "pattern": "^(sedex|amfori):.+$", "description": "platform:eventId."},
        ),
        "NormalizeDeadLetter": _message(
            "Unmappable accepted event",
            _doc(NormalizeDeadLetter),
            _ref("NormalizeDeadLetter"),
            {"type": "null", "description": "No key: the accepted record's key is a raw identifier."},
            headers="NormalizeDeadLetterHeaders",
        ),
        "IssuePrevalenceCell": _message(
            "issue-prevalence cell",
            "One cell of one release.",
            _ref("IssuePrevalenceMessage"),
            {"type": "string", "description": "The cell's coordinates, compact JSON with sorted keys."},
            headers="AggregateHeaders",
        ),
        "ForcedLabourCell": _message(
            "forced-labour cell",
            "One cell of one release.",
            _ref("ForcedLabourMessage"),
            {"type": "string", "description": "The cell's coordinates, compact JSON with sorted keys."},
            headers="AggregateHeaders",
        ),
        "LabourRelationsCell": _message(
            "labour-relations cell",
            "One cell of one release.",
            _ref("LabourRelationsMessage"),
            {"type": "string", "description": "The cell's coordinates, compact JSON with sorted keys."},
            headers="AggregateHeaders",
        ),
        "AuditQualityCell": _message(
            "audit-quality cell",
            "One cell of one release.",
            _ref("AuditQualityMessage"),
            {
                "type": "string",
                "description": "The cell's coordinates (period, audit_firm, country), compact JSON with "
                "sorted keys; the firm's name is not part of the key.",
            },
            headers="AggregateHeaders",
        ),
        "RemediationCell": _message(
            "remediation cell",
            "One cell of one release.",
            _ref("RemediationMessage"),
            {"type": "string", "description": "The cell's coordinates, compact JSON with sorted keys."},
            headers="AggregateHeaders",
        ),
        "IssuePrevalenceForecast": _message(
            "issue-prevalence forecast",
            "One cell's next-period forecast of rate_pct.",
            _ref("ForecastMessage"),
            {
                "type": "string",
                "description": "The forecast cell's coordinates, compact JSON with sorted keys.",
            },
            headers="AggregateHeaders",
        ),
        "ForecastState": _message(
            "The last forecast sent for a cell",
            "Internal state of the aggregate service: the forecast and the published values it used.",
            _ref("ForecastStateRecord"),
            {"type": "string", "description": '{"forecast":{...}}, compact JSON, sorted keys.'},
        ),
        "CapacityBuildingCell": _message(
            "capacity-building cell",
            "One cell of one release.",
            _ref("CapacityBuildingMessage"),
            {"type": "string", "description": "The cell's coordinates, compact JSON with sorted keys."},
            headers="AggregateHeaders",
        ),
        "ReleaseState": _message(
            "A cell's last release",
            "Internal state of the aggregate service.",
            _ref("ReleaseStateRecord"),
            {"type": "string", "description": '{"cell":{...},"table":"..."}, compact JSON, sorted keys.'},
        ),
        "SiteAffiliation": _message(
            "Who stood behind a platform site",
            "Internal state of the aggregate service: owners and members seen behind one platform site in "
            "any release, for the revision and view rules once the site has left.",
            _ref("SiteAffiliationRecord"),
            {"type": "string", "description": '{"site":"<platform site pseudonym>"}, compact JSON.'},
        ),
        "NoiseDraw": _message(
            "A stored noisy draw",
            "Internal state of the aggregate service (differential-privacy mode): the last draw of one "
            "table's period and the privacy budget spent on it, stored before any release publishes "
            "from it.",
            _ref("NoiseDrawRecord"),
            {"type": "string", "description": '{"noise":{"period":"...","table":"..."}}, compact JSON.'},
        ),
        "ReleaseMarker": _message(
            "The last committed release",
            "Internal state of the aggregate service: the schedule resumes after this release.",
            _ref("ReleaseMarker"),
            {"type": "string", "description": "`__last_release__`."},
        ),
        "DeliveryState": _message(
            "The last release done for an endpoint",
            _doc(DeliveryRecord),
            _ref("DeliveryRecord"),
            {"type": "string", "description": "The endpoint's configured name."},
        ),
        "DeliverDeadLetter": _message(
            "A release not delivered to an endpoint",
            _doc(DeliverDeadLetter),
            _ref("DeliverDeadLetter"),
            {"type": "string", "description": "The endpoint's configured name."},
        ),
        "NormalizeVersion": _message(
            "Applied entity version",
            "The highest version normalize has applied for one entity.",
            _ref("AppliedVersion"),
            {"type": "string", "description": "The entity's pseudonym."},
        ),
        "NormalizeQuarantine": _message(
            "A quarantined event",
            "An event normalize must never apply (repair-entity).",
            _ref("QuarantinedEvent"),
            {"type": "string", "description": "The event's pseudonym."},
        ),
    }
    for _, model, key_field, key in _NORMALIZED:
        name = model.__name__
        result[name] = _message(
            f"{name} record (or tombstone)",
            _doc(model),
            _nullable(name),
            _field(schemas, name, key_field, key),
            headers="SiteResolutionHeaders" if model is SiteResolution else None,
        )
    return result


# --- the document -------------------------------------------------------------------------------------


def document() -> dict[str, Any]:
    schemas = {**model_schemas()}
    headers = header_schemas()
    if overlap := schemas.keys() & headers.keys():
        raise ValueError(f"component schemas defined twice: {sorted(overlap)}")
    schemas.update(headers)
    all_messages = messages(schemas)
    all_channels = channels()
    by_id = {c.id: c for c in all_channels}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "sourcing-exchange topics",
            "version": "1.0.0",
            "description": "Every Kafka topic through which the exchange's services (ingest, "
            "normalize, aggregate, deliver) exchange anonymised responsible-sourcing data between Sedex and "
            "amfori. Generated from the models by `python -m schemas.export`; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The development broker (deploy/kafka/broker.sh); services read "
                "KAFKA_BOOTSTRAP_SERVERS.",
            }
        },
        "channels": {
            c.id: {
                "address": c.topic,
                "description": c.description,
                "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in c.messages},
                "bindings": _channel_binding(c),
            }
            for c in all_channels
        },
        "operations": {
            op.id: {
                "action": op.action,
                "channel": {"$ref": f"#/channels/{op.channel}"},
                "summary": op.summary,
                "tags": [{"name": op.service}],
                "messages": [
                    {"$ref": f"#/channels/{op.channel}/messages/{m}"} for m in by_id[op.channel].messages
                ],
            }
            for op in operations()
        },
        "components": {"schemas": schemas, "messages": all_messages},
    }


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in a document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)
