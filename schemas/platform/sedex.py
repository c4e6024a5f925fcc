"""Sedex change events (topic ``sedex.changes.v1``, schemaVersion 1), as platform-events.md defines them.

Validate raw message values with ``SEDEX_EVENT.validate_json(raw)``: strict types, unknown fields
ignored and dropped (an allow-list, so free text we do not model cannot travel on), errors located on
the wire's camelCase path without the event type (see ``common.event_union_guard``).

A deliberate mirror of ``amfori.py``: the contract gives each platform its own format, hence one
module per platform, both with the same structure (payload models, then the eight events in the same
order, then the union), for a reader to compare them side by side.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import BeforeValidator, Field, StringConstraints, TypeAdapter, WrapValidator, model_validator

from schemas.platform.common import (
    ABSENT_SCHEMA,
    Alpha2Country,
    Confidential,
    Count,
    Days,
    EntityVersion,
    EventBase,
    EventId,
    IsoDate,
    Known,
    Lei,
    OsId,
    Participants,
    Ref,
    StrictModel,
    UtcDateTime,
    absent,
    epoch_ms,
    event_union_guard,
    fail,
    from_json_adapter,
    show,
    strict_int,
)
from schemas.taxonomy import SEDEX_FL_TAGS, SEDEX_TRAINING_TOPICS, SMETA_CLAUSES

TOPIC: Final = "sedex.changes.v1"
SCHEMA_VERSION: Final = 1

CompanyRef = Annotated[str, StringConstraints(pattern=r"^ZC[0-9]{6,10}$")]
SiteRef = Annotated[str, StringConstraints(pattern=r"^ZS[0-9]{6,10}$")]
FlTag = Annotated[str, Known(SEDEX_FL_TAGS, "Sedex forced-labour tag (flTags)")]
TrainingTopic = Annotated[str, Known(SEDEX_TRAINING_TOPICS, "Sedex training topic")]
ALL_CLAUSES: Final = sorted({clause for clauses in SMETA_CLAUSES.values() for clause in clauses})


# --- payloads -----------------------------------------------------------------------------------------


class Address(StrictModel):
    street: Confidential
    city: Confidential
    postal_code: Annotated[str | None, Field(repr=False)] = None
    country: Alpha2Country


class ProductCategory(StrictModel):
    unspsc: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]


class Workers(StrictModel):
    total: Count
    female: Count
    migrant: Count
    temporary: Count

    @model_validator(mode="after")
    def _parts_within_total(self) -> Self:
        fail(
            "Workers",
            (
                ((name,), "out_of_range", f"workers.{name} {part} exceeds workers.total {self.total}", part)
                for name, part in (
                    ("female", self.female),
                    ("migrant", self.migrant),
                    ("temporary", self.temporary),
                )
                if part > self.total
            ),
        )
        return self


class LinkedCustomer(StrictModel):
    company_ref: CompanyRef
    lei: Lei | None = None


class SitePayload(StrictModel):
    site_name: Confidential
    address: Address
    os_id: OsId | None = None
    product_category: ProductCategory
    workers: Workers
    linked_customers: list[LinkedCustomer]


class EmptyPayload(StrictModel):
    pass


class Methodology(StrictModel):
    scheme: Literal["SMETA"]
    version: Literal["6.1", "7.0"]
    pillars: Annotated[Literal[2, 4], BeforeValidator(strict_int)]


class AuditCompany(StrictModel):
    name: Confidential
    apsca_firm_id: Ref


class LeadAuditor(StrictModel):
    """Personal data: read so the event validates, never passed on."""

    name: Confidential
    apsca_number: Confidential


class WorkerRepresentation(StrictModel):
    trade_union: bool
    worker_committee: bool
    collective_agreement: bool
    grievance_mechanism: bool


FindingType = Literal["NonCompliance", "CollaborativeActionRequired", "Observation", "GoodExample"]
GRADED: Final = frozenset({"NonCompliance", "CollaborativeActionRequired"})


class Finding(StrictModel):
    finding_ref: Ref
    type: FindingType
    # Which clauses exist depends on the audit's methodology version: checked by AuditPayload.
    clause: Annotated[str, Field(json_schema_extra={"enum": ALL_CLAUSES})]
    severity: Literal["Critical", "Major", "Minor"] | None = None
    fl_tags: list[FlTag]
    description: Confidential

    @model_validator(mode="after")
    def _severity_only_on_findings(self) -> Self:
        if self.type in GRADED and self.severity is None:
            fail("Finding", [(("severity",), "missing", f"severity is required on a {self.type}", None)])
        if self.type not in GRADED and self.severity is not None:
            fail(
                "Finding",
                [
                    (
                        ("severity",),
                        "unexpected_field",
                        f"severity must be absent on a {self.type}",
                        self.severity,
                    )
                ],
            )
        return self


class AuditPayload(StrictModel):
    audit_ref: Ref
    methodology: Methodology
    audit_type: Literal[
        "Full Initial", "Periodic", "Full Follow-up", "Partial Follow-up", "Desktop Follow-up"
    ]
    announcement: Literal["Announced", "Semi-announced", "Unannounced"]
    audit_start: IsoDate
    audit_end: IsoDate
    auditor_days: Days
    audit_company: AuditCompany
    lead_auditor: LeadAuditor
    workers_interviewed: Count
    worker_representation: WorkerRepresentation
    findings: list[Finding]

    @model_validator(mode="after")
    def _period_and_clauses(self) -> Self:
        version = self.methodology.version
        clauses = SMETA_CLAUSES[version]
        errors: list[tuple[tuple[str | int, ...], str, str, object]] = [
            (
                ("findings", i, "clause"),
                "unknown_code",
                f"{show(f.clause)} is not a SMETA {version} clause",
                f.clause,
            )
            for i, f in enumerate(self.findings)
            if f.clause not in clauses
        ]
        if self.audit_start > self.audit_end:
            message = f"auditStart {self.audit_start} is after auditEnd {self.audit_end}"
            errors.insert(0, (("auditEnd",), "out_of_range", message, self.audit_end.isoformat()))
        fail("AuditPayload", errors)
        return self


class AuditRefPayload(StrictModel):
    audit_ref: Ref


class CorrectiveActionPayload(StrictModel):
    audit_ref: Ref
    finding_ref: Ref
    status: Literal["Open", "ProgressMade", "Closed"]
    due_date: IsoDate
    closed_date: IsoDate | None = None
    verification: Literal["Desktop", "OnSite"]

    @model_validator(mode="after")
    def _closed_date_iff_closed(self) -> Self:
        if self.status == "Closed" and self.closed_date is None:
            fail(
                "CorrectiveAction",
                [(("closedDate",), "missing", "closedDate is required when status is Closed", None)],
            )
        if self.status != "Closed" and self.closed_date is not None:
            message = f"closedDate must be absent when status is {self.status}"
            fail(
                "CorrectiveAction",
                [(("closedDate",), "unexpected_field", message, self.closed_date.isoformat())],
            )
        return self


class ConsentPayload(StrictModel):
    scope: Literal["AGGREGATE_EXCHANGE"]
    granted: bool


class TrainingPayload(StrictModel):
    training_ref: Ref
    course_code: Ref
    topic: TrainingTopic
    completed_on: IsoDate
    participants: Participants


# --- events -------------------------------------------------------------------------------------------


class _SedexEvent(EventBase):
    schema_version: Annotated[Literal[1], BeforeValidator(strict_int)]
    event_id: EventId
    occurred_at: UtcDateTime
    entity_version: EntityVersion
    company_ref: CompanyRef

    @property
    def occurred_at_ms(self) -> int:
        return epoch_ms(self.occurred_at)


class _SiteEvent(_SedexEvent):
    """Keyed and ordered by site."""

    site_ref: SiteRef

    @property
    def message_key(self) -> str:
        return self.site_ref


class SiteUpserted(_SiteEvent):
    ENTITY_KIND = "site"
    event_type: Literal["SiteUpserted"]
    payload: SitePayload

    @property
    def entity_id(self) -> str:
        return self.site_ref


class SiteRemoved(_SiteEvent):
    ENTITY_KIND = "site"
    event_type: Literal["SiteRemoved"]
    payload: EmptyPayload

    @property
    def entity_id(self) -> str:
        return self.site_ref


class AuditPublished(_SiteEvent):
    ENTITY_KIND = "audit"
    event_type: Literal["AuditPublished"]
    payload: AuditPayload

    @property
    def entity_id(self) -> str:
        return self.payload.audit_ref


class AuditRevised(_SiteEvent):
    ENTITY_KIND = "audit"
    event_type: Literal["AuditRevised"]
    payload: AuditPayload

    @property
    def entity_id(self) -> str:
        return self.payload.audit_ref


class AuditWithdrawn(_SiteEvent):
    ENTITY_KIND = "audit"
    event_type: Literal["AuditWithdrawn"]
    payload: AuditRefPayload

    @property
    def entity_id(self) -> str:
        return self.payload.audit_ref


class CorrectiveActionUpdated(_SiteEvent):
    ENTITY_KIND = "finding"
    event_type: Literal["CorrectiveActionUpdated"]
    payload: CorrectiveActionPayload

    @property
    def entity_id(self) -> str:
        return f"{self.payload.audit_ref}/{self.payload.finding_ref}"


class ConsentChanged(_SedexEvent):
    """Company-level: keyed by companyRef, and carries no siteRef."""

    ENTITY_KIND = "company"
    event_type: Literal["ConsentChanged"]
    site_ref: Annotated[None, absent("siteRef", "ConsentChanged"), ABSENT_SCHEMA] = None
    payload: ConsentPayload

    @property
    def entity_id(self) -> str:
        return self.company_ref

    @property
    def message_key(self) -> str:
        return self.company_ref


class TrainingCompleted(_SiteEvent):
    ENTITY_KIND = "training"
    event_type: Literal["TrainingCompleted"]
    payload: TrainingPayload

    @property
    def entity_id(self) -> str:
        return self.payload.training_ref


_SedexEventUnion = Annotated[
    SiteUpserted
    | SiteRemoved
    | AuditPublished
    | AuditRevised
    | AuditWithdrawn
    | CorrectiveActionUpdated
    | ConsentChanged
    | TrainingCompleted,
    Field(discriminator="event_type"),
]
SEDEX_EVENT_FROM_JSON: Final[TypeAdapter[SedexEvent]] = from_json_adapter(_SedexEventUnion)
"""`SedexEvent` without its guard, validated in JSON mode (`common.from_json_adapter`)."""
SedexEvent = Annotated[
    _SedexEventUnion,
    WrapValidator(event_union_guard("eventType", "schemaVersion", SCHEMA_VERSION, SEDEX_EVENT_FROM_JSON)),
]
SEDEX_EVENT: Final[TypeAdapter[SedexEvent]] = TypeAdapter(SedexEvent)
SedexEventFromJson = _SedexEventUnion
"""`SedexEvent` without the guard: the type of `SEDEX_EVENT_FROM_JSON`, and of envelopes' fast path."""
SEDEX_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        "SiteUpserted",
        "SiteRemoved",
        "AuditPublished",
        "AuditRevised",
        "AuditWithdrawn",
        "CorrectiveActionUpdated",
        "ConsentChanged",
        "TrainingCompleted",
    }
)
