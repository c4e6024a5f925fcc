"""The channels: one per Kafka topic the exchange reads or writes, with what it is for and holds.

Topic names are imported where they are declared (``schemas.topics``, the models, the table registry);
the descriptions are written here, next to the names they describe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel

from schemas import topics
from schemas.asyncapi.bindings import CleanupPolicy
from schemas.exchange.aggregates import (
    AUDIT_QUALITY,
    CAPACITY_BUILDING,
    FORCED_LABOUR,
    FORECASTS_TOPIC,
    ISSUE_PREVALENCE,
    LABOUR_RELATIONS,
    RELEASE_STATE_TOPIC,
    REMEDIATION,
    TABLES,
    topic_of,
)
from schemas.platform.amfori import TOPIC as AMFORI_TOPIC
from schemas.platform.sedex import TOPIC as SEDEX_TOPIC
from schemas.shared.models import Audit, Consent, CorrectiveAction, PlatformSite, Training
from schemas.shared.resolution import (
    RESOLVED_SITES_TOPIC,
    SITE_RESOLUTION_TOPIC,
    ResolvedSite,
    SiteResolution,
)


@dataclass(frozen=True)
class Channel:
    """One topic: its AsyncAPI id, address, the cleanup policy the exchange relies on, its messages."""

    id: str
    topic: str
    cleanup_policy: CleanupPolicy
    description: str
    messages: tuple[str, ...]


_TOMBSTONE: Final = (
    "Compacted: the latest value per key is the state. A null value (a tombstone) means the entity was "
    "removed, withdrawn or is no longer resolved; consumers drop what they hold for that key."
)


def pascal_case(name: str) -> str:
    """``issue-prevalence`` -> ``IssuePrevalence``: a table's or topic's name inside an id."""
    return "".join(part.capitalize() for part in name.split("-"))


NORMALIZED: Final[Mapping[type[BaseModel], tuple[str, str]]] = {
    # normalize's output model: (the field that is its key, what the key is)
    PlatformSite: ("site_id", "The platform site's pseudonym (site_id)."),
    Audit: ("audit_id", "The audit's pseudonym (audit_id)."),
    CorrectiveAction: ("finding_id", "The pseudonym of the finding the action remedies (finding_id)."),
    Consent: ("company_id", "The supplier company's pseudonym (company_id)."),
    Training: ("training_id", "The training record's pseudonym (training_id)."),
    SiteResolution: ("platform_site_id", "The platform site's pseudonym (platform_site_id)."),
    ResolvedSite: ("resolved_site_id", "The resolved site's pseudonym."),
}
"""Normalize's outputs, one channel and one message each, named after the model's topic and class."""


def _topic_of(model: type[BaseModel]) -> str:
    topic = getattr(model, "TOPIC", None)
    if isinstance(topic, str):
        return topic
    return {SiteResolution: SITE_RESOLUTION_TOPIC, ResolvedSite: RESOLVED_SITES_TOPIC}[model]


def normalized_channel(model: type[BaseModel]) -> str:
    """``exchange.normalized.platform-sites.v1`` -> ``normalizedPlatformSites``."""
    return "normalized" + pascal_case(_topic_of(model).split(".")[2])


def table_channel(table: str) -> str:
    """``issue-prevalence`` -> ``aggregatesIssuePrevalence``."""
    return "aggregates" + pascal_case(table)


def cell_message(table: str) -> str:
    """``issue-prevalence`` -> ``IssuePrevalenceCell``: the message of a table's cells."""
    return pascal_case(table) + "Cell"


_TABLE_DESCRIPTIONS: Final[Mapping[str, str]] = {
    ISSUE_PREVALENCE: "The issue-prevalence table (aggregates.md): one message per cell and release; the "
    "latest per key is the cell's current state, earlier ones its revisions. Written in transactions: "
    "read with isolation.level=read_committed. Key: the cell's coordinates, compact JSON, sorted keys.",
    FORCED_LABOUR: "The forced-labour table (aggregates.md), as issue-prevalence. Key: the cell's "
    "coordinates.",
    LABOUR_RELATIONS: "The labour-relations table (aggregates.md), as issue-prevalence. Key: the cell's "
    "coordinates.",
    AUDIT_QUALITY: "The audit-quality table (aggregates.md), per audit firm: the firm's APSCA id and name "
    "are published on purpose; the sites behind them are not. Key: the cell's coordinates (without the "
    "firm's name).",
    REMEDIATION: "The remediation table (aggregates.md), as issue-prevalence; `open_overdue` is as of the "
    "release time. Key: the cell's coordinates.",
    CAPACITY_BUILDING: "The capacity-building table (aggregates.md): period x country x topic. Key: the "
    "cell's coordinates.",
}
"""Each public table's channel description, in the registry's order (``TABLES``)."""


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
            topics.ACCEPTED_TOPIC,
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
            topics.INGEST_DLQ_TOPIC,
            "delete",
            "Platform messages ingest rejected: value, key and original headers unchanged, then the "
            "dlq_* headers saying why and where from, so the message can be replayed as it was.",
            ("IngestDeadLetter",),
        ),
        Channel(
            "ingestSeen",
            topics.INGEST_SEEN_TOPIC,
            "compact",
            "Ingest's own state: the platform events it has forwarded. Key: platform:eventId; value: "
            "the positions that carried it, the forwarded one first. Every ingest process reads it in "
            "full before it starts.",
            ("IngestSeen",),
        ),
        *(
            Channel(
                normalized_channel(model),
                _topic_of(model),
                "compact",
                f"Normalize's {model.__name__} records, pseudonymised. Key: {key}\n\n{_TOMBSTONE}",
                (model.__name__,),
            )
            for model, (_, key) in NORMALIZED.items()
        ),
        Channel(
            "normalizeDeadLetters",
            topics.NORMALIZE_DLQ_TOPIC,
            "delete",
            f"Accepted events normalize could not map: a pointer to the record on {topics.ACCEPTED_TOPIC} "
            "and the reason, never a copy (the envelope holds raw platform data).",
            ("NormalizeDeadLetter",),
        ),
        Channel(
            "normalizeVersions",
            topics.NORMALIZE_VERSIONS_TOPIC,
            "compact",
            "Normalize's own state: the highest entity version it has applied per entity, so that an "
            "older or repeated event changes nothing. Key: the entity's pseudonym.",
            ("NormalizeVersion",),
        ),
        Channel(
            "normalizeQuarantine",
            topics.NORMALIZE_QUARANTINE_TOPIC,
            "compact",
            "Events an operator set aside (`python -m services.normalize repair-entity`): normalize "
            "dead-letters them as `quarantined` instead of applying them. Key: the event's pseudonym.",
            ("NormalizeQuarantine",),
        ),
        *(
            Channel(
                table_channel(table),
                topic_of(table),
                "compact",
                _TABLE_DESCRIPTIONS[table],
                (cell_message(table),),
            )
            for table in TABLES
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
            "aggregateReleaseState",
            RELEASE_STATE_TOPIC,
            "compact",
            "Aggregate's own state, never published: each cell's last release and its sites' "
            "contributions, who stood behind each platform site, the differential-privacy mode's stored "
            "draws, and the marker `__last_release__` (the last committed release).",
            (
                "ReleaseState",
                "ReleaseStatePart",
                "SiteAffiliation",
                "NoiseDraw",
                "ForecastState",
                "ReleaseMarker",
            ),
        ),
        Channel(
            "deliverState",
            topics.DELIVER_STATE_TOPIC,
            "compact",
            "The webhook deliver service's own state: per registered endpoint, the last release it "
            "delivered or dead-lettered there (releases go to an endpoint in order). Key: the endpoint's "
            "configured name. Read in full when deliver starts, so nothing done is sent again.",
            ("DeliveryState",),
        ),
        Channel(
            "deliverDeadLetters",
            topics.DELIVER_DLQ_TOPIC,
            "delete",
            "Releases deliver gave up on for one endpoint after its configured attempts: a pointer (the "
            "release, the tables, the webhook id, why), never the payload, the URL or the secret.",
            ("DeliverDeadLetter",),
        ),
    )
