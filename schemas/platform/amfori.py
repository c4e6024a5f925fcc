"""amfori change events (topic ``amfori.changes.v1``, specVersion "1"), as platform-events.md defines them.

Validate raw message values with ``AMFORI_EVENT.validate_json(raw)``: strict types, unknown fields
ignored and dropped (an allow-list, so free text we do not model cannot travel on), errors located on
the wire's camelCase path without the event type (see ``common.event_union_guard``). Times are epoch
milliseconds (UTC); ``utc_day`` gives the date of one.

A deliberate mirror of ``sedex.py``: the contract gives each platform its own format, hence one
module per platform, both with the same structure (payload models, then the eight events in the same
order, then the union), for a reader to compare them side by side.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, TypeAdapter, WrapValidator, model_validator
from pydantic_core import core_schema

from schemas.platform.common import (
    ABSENT_SCHEMA,
    Confidential,
    Count,
    Days,
    EntityVersion,
    EpochMs,
    EventBase,
    EventId,
    FromJson,
    Known,
    Lei,
    NumericCountry,
    OsId,
    Participants,
    Percent,
    Ref,
    StrictModel,
    absent,
    country_prefix,
    event_union_guard,
    fail,
    from_json_adapter,
    numeric_country,
    numeric_country_pattern,
)
from schemas.taxonomy import AMFORI_FL_INDICATORS, AMFORI_TRAINING_TOPICS, ZERO_TOLERANCE_CATEGORIES

TOPIC: Final = "amfori.changes.v1"
SPEC_VERSION: Final = "1"

LegalEntityId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{3}-[0-9]{6,7}$"),
    AfterValidator(country_prefix),
    FromJson(core_schema.str_schema(pattern=numeric_country_pattern("{}-[0-9]{{6,7}}"), strict=True)),
]
SiteId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{3}-[0-9]{6,7}-[0-9]{3}$"),
    AfterValidator(country_prefix),
    FromJson(
        core_schema.str_schema(pattern=numeric_country_pattern("{}-[0-9]{{6,7}}-[0-9]{{3}}"), strict=True)
    ),
]
Indicator = Annotated[str, Known(AMFORI_FL_INDICATORS, "amfori forced-labour indicator")]
ZeroToleranceCategory = Annotated[str, Known(ZERO_TOLERANCE_CATEGORIES, "amfori zero-tolerance category")]
TrainingTopic = Annotated[str, Known(AMFORI_TRAINING_TOPICS, "amfori academy topic")]
Rating = Literal["A", "B", "C", "D", "E"]


# --- data ---------------------------------------------------------------------------------------------


class Country(StrictModel):
    numeric: NumericCountry
    name: str  # informative only: the numeric code is what counts

    @property
    def alpha_2(self) -> str:
        alpha_2 = numeric_country(self.numeric)
        assert alpha_2 is not None  # validated
        return alpha_2


class Address(StrictModel):
    street: Confidential
    city: Confidential
    zip: Annotated[str | None, Field(repr=False)] = None
    country: Country


class Workforce(StrictModel):
    total: Count
    female_pct: Percent
    migrant_pct: Percent


class BusinessPartner(StrictModel):
    amfori_id: LegalEntityId
    role: Literal["RSP_HOLDER", "PARTNER"]
    lei: Lei | None = None


class SiteData(StrictModel):
    name: Confidential
    local_name: Confidential
    address: Address
    os_id: OsId | None = None
    gics_sub_industry: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
    workforce: Workforce
    business_partners: list[BusinessPartner]


class EmptyData(StrictModel):
    pass


class PerformanceAreaFinding(StrictModel):
    finding_id: Ref
    question_ref: Annotated[str, StringConstraints(pattern=r"^PA(1[0-3]|[1-9])\.Q[0-9]{1,3}$")]
    crucial: bool
    answer: Literal["NO", "PARTIALLY"]
    indicators: list[Indicator]
    comment: Confidential


class PerformanceArea(StrictModel):
    pa: Annotated[int, Field(ge=1, le=13)]
    rating: Rating
    findings: list[PerformanceAreaFinding]


class ZeroToleranceFinding(StrictModel):
    finding_id: Ref
    category: ZeroToleranceCategory
    comment: Confidential


class WorkersVoice(StrictModel):
    union: Literal["PRESENT", "ABSENT"]
    workers_representative: Literal["ELECTED", "APPOINTED", "NONE"]
    cba: bool
    grievance_channel: bool


class AuditingCompany(StrictModel):
    name: Confidential
    apsca_firm_id: Ref


class Auditor(StrictModel):
    """Personal data: read so the event validates, never passed on."""

    name: Confidential


class MonitoringData(StrictModel):
    monitoring_id: Ref
    monitoring_initiative: Literal["amfori BSCI"]
    methodology_version: Literal["2.0"]
    monitoring_type: Literal["FULL_AUDIT", "FOLLOW_UP_AUDIT"]
    announcement_type: Literal["FULLY_ANNOUNCED", "SEMI_ANNOUNCED", "UNANNOUNCED"]
    audit_date: EpochMs
    man_days: Days
    auditing_company: AuditingCompany
    auditor: Auditor
    overall_rating: Rating
    performance_areas: list[PerformanceArea]
    zero_tolerance: list[ZeroToleranceFinding]
    workers_voice: WorkersVoice


class MonitoringRefData(StrictModel):
    monitoring_id: Ref


class RemediationData(StrictModel):
    monitoring_id: Ref
    finding_id: Ref
    state: Literal["OPEN", "IN_PROGRESS", "RESOLVED", "NOT_RESOLVED"]
    deadline: EpochMs
    resolved_at: EpochMs | None = None

    @model_validator(mode="after")
    def _resolved_at_iff_resolved(self) -> Self:
        if self.state == "RESOLVED" and self.resolved_at is None:
            fail(
                "Remediation",
                [(("resolvedAt",), "missing", "resolvedAt is required when state is RESOLVED", None)],
            )
        if self.state != "RESOLVED" and self.resolved_at is not None:
            message = f"resolvedAt must be absent when state is {self.state}"
            fail("Remediation", [(("resolvedAt",), "unexpected_field", message, self.resolved_at)])
        return self


class ConsentData(StrictModel):
    purpose: Literal["aggregate-exchange"]
    status: Literal["GRANTED", "REVOKED"]


class AcademyData(StrictModel):
    completion_id: Ref
    course_id: Ref
    topic: TrainingTopic
    completed_at: EpochMs
    participants: Participants


# --- events -------------------------------------------------------------------------------------------


class _AmforiEvent(EventBase):
    spec_version: Literal["1"]
    id: EventId
    type: str
    timestamp: EpochMs
    version: EntityVersion
    legal_entity_amfori_id: LegalEntityId

    @property
    def event_id(self) -> str:
        return self.id

    @property
    def event_type(self) -> str:
        return self.type

    @property
    def entity_version(self) -> int:
        return self.version

    @property
    def occurred_at_ms(self) -> int:
        return self.timestamp

    @property
    def company_ref(self) -> str:
        return self.legal_entity_amfori_id


class _SiteEvent(_AmforiEvent):
    """Keyed and ordered by site."""

    site_amfori_id: SiteId

    @property
    def site_ref(self) -> str | None:
        return self.site_amfori_id

    @property
    def message_key(self) -> str:
        return self.site_amfori_id


class SiteUpdated(_SiteEvent):
    ENTITY_KIND = "site"
    type: Literal["site.updated"]
    data: SiteData

    @property
    def entity_id(self) -> str:
        return self.site_amfori_id


class SiteDeleted(_SiteEvent):
    ENTITY_KIND = "site"
    type: Literal["site.deleted"]
    data: EmptyData

    @property
    def entity_id(self) -> str:
        return self.site_amfori_id


class MonitoringCompleted(_SiteEvent):
    ENTITY_KIND = "audit"
    type: Literal["monitoring.completed"]
    data: MonitoringData

    @property
    def entity_id(self) -> str:
        return self.data.monitoring_id


class MonitoringUpdated(_SiteEvent):
    ENTITY_KIND = "audit"
    type: Literal["monitoring.updated"]
    data: MonitoringData

    @property
    def entity_id(self) -> str:
        return self.data.monitoring_id


class MonitoringCancelled(_SiteEvent):
    ENTITY_KIND = "audit"
    type: Literal["monitoring.cancelled"]
    data: MonitoringRefData

    @property
    def entity_id(self) -> str:
        return self.data.monitoring_id


class RemediationUpdated(_SiteEvent):
    ENTITY_KIND = "finding"
    type: Literal["remediation.updated"]
    data: RemediationData

    @property
    def entity_id(self) -> str:
        return f"{self.data.monitoring_id}/{self.data.finding_id}"


class ConsentUpdated(_AmforiEvent):
    """Legal-entity-level: keyed by legalEntityAmforiId, and carries no siteAmforiId."""

    ENTITY_KIND = "company"
    type: Literal["consent.updated"]
    site_amfori_id: Annotated[None, absent("siteAmforiId", "consent.updated"), ABSENT_SCHEMA] = None
    data: ConsentData

    @property
    def site_ref(self) -> str | None:
        return None

    @property
    def entity_id(self) -> str:
        return self.legal_entity_amfori_id

    @property
    def message_key(self) -> str:
        return self.legal_entity_amfori_id


class AcademyCompletion(_SiteEvent):
    ENTITY_KIND = "training"
    type: Literal["academy.completion"]
    data: AcademyData

    @property
    def entity_id(self) -> str:
        return self.data.completion_id


_AmforiEventUnion = Annotated[
    SiteUpdated
    | SiteDeleted
    | MonitoringCompleted
    | MonitoringUpdated
    | MonitoringCancelled
    | RemediationUpdated
    | ConsentUpdated
    | AcademyCompletion,
    Field(discriminator="type"),
]
AMFORI_EVENT_FROM_JSON: Final[TypeAdapter[AmforiEvent]] = from_json_adapter(_AmforiEventUnion)
"""`AmforiEvent` without its guard, validated in JSON mode (`common.from_json_adapter`)."""
AmforiEvent = Annotated[
    _AmforiEventUnion,
    WrapValidator(event_union_guard("type", "specVersion", SPEC_VERSION, AMFORI_EVENT_FROM_JSON)),
]
AMFORI_EVENT: Final[TypeAdapter[AmforiEvent]] = TypeAdapter(AmforiEvent)
AmforiEventFromJson = _AmforiEventUnion
"""`AmforiEvent` without the guard: the type of `AMFORI_EVENT_FROM_JSON`, and of envelopes' fast path."""
AMFORI_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        "site.updated",
        "site.deleted",
        "monitoring.completed",
        "monitoring.updated",
        "monitoring.cancelled",
        "remediation.updated",
        "consent.updated",
        "academy.completion",
    }
)
