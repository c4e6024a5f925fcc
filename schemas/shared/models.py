"""The shared (normalised) records: what normalize writes, one compacted topic per record kind.

Both platforms' events are mapped to these records by ``services.normalize.mapping``. They carry no
names, no addresses, no free text and no raw platform identifier: every identifier is a keyed
pseudonym (``<key id>.<kind>.<32 hex>``, see ``services.normalize.pseudonymise``) and the field
types insist on it, so a raw ``ZS…`` or ``050-…`` cannot be put in an id field by mistake. The
only raw-ish value is the Open Supply Hub id, and it travels sealed (AES-SIV, ``os_id_sealed``).
Audit firms are public on purpose (aggregates.md, ``audit-quality``): their APSCA id and name travel
in clear.

Conventions: snake_case fields, frozen models, unknown fields forbidden, ``schema_version`` 1 on
every top-level record, lists in a canonical order (sorted, no duplicates) whatever order they were
given in, so that equal content serialises to equal bytes (compacted topics, deterministic replays).
Times: ``updated_at_ms`` is the platform event's time in epoch milliseconds (UTC); dates are calendar
days (amfori's epoch-ms dates become their UTC day).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, ClassVar, Final, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.taxonomy import ForcedLabourIndicator, Issue, Sector, Severity, WorkforceBand

Platform = Literal["sedex", "amfori"]

# --- pseudonyms ---------------------------------------------------------------------------------------

_KEY_ID: Final = r"[a-z0-9][a-z0-9-]{0,15}"
_HEX: Final = r"\.[0-9a-f]{32}$"

# The kinds are the values of services.normalize.pseudonymise.IdKind (schemas must not import services).
SiteId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.site{_HEX}")]
"""Pseudonym of a platform site: ``IdKind.PLATFORM_SITE`` of ``f"{platform}:{siteRef}"``."""
CompanyId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.company{_HEX}")]
"""Pseudonym of a supplier company / legal entity: ``IdKind.COMPANY`` of ``f"{platform}:{companyRef}"``."""
MemberId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.member{_HEX}")]
"""Pseudonym of a member company: ``IdKind.MEMBER`` of ``f"{platform}:{ref}"`` or ``f"lei:{LEI}"``."""
AuditId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.audit{_HEX}")]
"""Pseudonym of an audit: ``IdKind.AUDIT`` of ``f"{platform}:{auditRef or monitoringId}"``."""
FindingId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.finding{_HEX}")]
"""Pseudonym of a finding: ``IdKind.FINDING`` of ``f"{platform}:{auditRef}/{findingRef}"``."""
TrainingId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.training{_HEX}")]
"""Pseudonym of a training record: ``IdKind.TRAINING`` of ``f"{platform}:{trainingRef or completionId}"``."""
AddressId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.addr{_HEX}")]
"""Pseudonym of the cross-platform address key (``services.normalize.address.address_key``)."""
SealedOsId = Annotated[str, StringConstraints(pattern=rf"^{_KEY_ID}\.sealed\.[A-Za-z0-9_-]+$")]
"""An Open Supply Hub id sealed with ``services.normalize.seal.Sealer``."""


def key_id_of(name: str) -> str | None:
    """The key id of a pseudonym, `<key id>.<kind>.<digest>`: what a key rotation changes. None for a
    name of any other shape (normalize's keys are all pseudonyms; a crafted test world's need not be)."""
    parts = name.split(".")
    return parts[0] if len(parts) == 3 else None


def key_ids(names: Iterable[str]) -> frozenset[str]:
    """The key ids of the pseudonyms among `names`."""
    return frozenset(k for k in map(key_id_of, names) if k is not None)


Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2."""
Version = Annotated[int, Field(ge=1)]
EpochMs = Annotated[int, Field(ge=0)]

# --- canonical lists ----------------------------------------------------------------------------------

H = TypeVar("H", bound=Hashable)


def _sorted_unique(values: list[H]) -> list[H]:
    return sorted(set(values), key=str)


def _sorted_members(values: list[MemberRef]) -> list[MemberRef]:
    return sorted(set(values), key=lambda m: (m.member_id, m.lei_id or "", m.role or ""))


def _sorted_findings(values: list[Finding]) -> list[Finding]:
    ids = [f.finding_id for f in values]
    if len(set(ids)) != len(ids):
        raise ValueError("finding_id must be unique within an audit")
    return sorted(values, key=lambda f: f.finding_id)


# --- vocabularies -------------------------------------------------------------------------------------


class AuditType(StrEnum):
    """The kind of audit, keeping each platform's detail. Full audits start with ``FULL``, follow-ups
    with ``FOLLOW_UP`` (see ``is_follow_up``):

    | shared | Sedex ``auditType`` | amfori ``monitoringType`` |
    | --- | --- | --- |
    | ``FULL_INITIAL`` | ``Full Initial`` | |
    | ``FULL_PERIODIC`` | ``Periodic`` | |
    | ``FULL`` | | ``FULL_AUDIT`` (amfori does not say initial or periodic) |
    | ``FOLLOW_UP_FULL`` | ``Full Follow-up`` | |
    | ``FOLLOW_UP_PARTIAL`` | ``Partial Follow-up`` | |
    | ``FOLLOW_UP_DESKTOP`` | ``Desktop Follow-up`` (not on site, see ``is_on_site``) | |
    | ``FOLLOW_UP`` | | ``FOLLOW_UP_AUDIT`` |
    """

    FULL_INITIAL = "FULL_INITIAL"
    FULL_PERIODIC = "FULL_PERIODIC"
    FULL = "FULL"
    FOLLOW_UP_FULL = "FOLLOW_UP_FULL"
    FOLLOW_UP_PARTIAL = "FOLLOW_UP_PARTIAL"
    FOLLOW_UP_DESKTOP = "FOLLOW_UP_DESKTOP"
    FOLLOW_UP = "FOLLOW_UP"

    @property
    def is_follow_up(self) -> bool:
        return self.value.startswith("FOLLOW_UP")

    @property
    def is_on_site(self) -> bool:
        return self is not AuditType.FOLLOW_UP_DESKTOP


class Announcement(StrEnum):
    """Sedex ``Announced``/``Semi-announced``/``Unannounced``; amfori ``FULLY_ANNOUNCED``/``SEMI_ANNOUNCED``/
    ``UNANNOUNCED``."""

    ANNOUNCED = "ANNOUNCED"
    SEMI_ANNOUNCED = "SEMI_ANNOUNCED"
    UNANNOUNCED = "UNANNOUNCED"


class CorrectiveActionStatus(StrEnum):
    """The state of a finding's corrective action.

    | shared | Sedex ``status`` | amfori ``state`` |
    | --- | --- | --- |
    | ``OPEN`` | ``Open`` | ``OPEN`` |
    | ``IN_PROGRESS`` | ``ProgressMade`` | ``IN_PROGRESS`` |
    | ``CLOSED`` | ``Closed`` | ``RESOLVED`` |
    | ``NOT_RESOLVED`` | | ``NOT_RESOLVED`` |

    Only ``CLOSED`` is closed (and only it has a ``closed_date``): ``NOT_RESOLVED`` is a finding that
    was not remedied, so for the remediation table it counts as not closed.
    """

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    CLOSED = "CLOSED"
    NOT_RESOLVED = "NOT_RESOLVED"

    @property
    def is_closed(self) -> bool:
        return self is CorrectiveActionStatus.CLOSED


class MemberRole(StrEnum):
    """amfori ``businessPartners[].role``; Sedex ``linkedCustomers`` have no role."""

    RSP_HOLDER = "RSP_HOLDER"
    PARTNER = "PARTNER"


# --- records ------------------------------------------------------------------------------------------


class SharedModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class MemberRef(SharedModel):
    """A member company linked to a platform site (Sedex ``linkedCustomers``, amfori ``businessPartners``).

    Two references with the same ``lei_id`` are one member (aggregates.md, "Owners and members").
    """

    member_id: MemberId
    lei_id: MemberId | None = None
    role: MemberRole | None = None


class PlatformSite(SharedModel):
    """A site as one platform knows it. Key: ``site_id``. A tombstone (null value) removes it.

    ``address_id`` is the pseudonym of the address key (cleaned site name, street, city, country;
    amfori: the site's ``name``, not its ``localName``); equal address ids on both platforms are the
    same address. ``os_id_sealed`` is the sealed Open Supply Hub id, unsealed only by resolution.
    """

    TOPIC: ClassVar[str] = "exchange.normalized.platform-sites.v1"

    schema_version: Literal[1] = 1
    site_id: SiteId
    platform: Platform
    company_id: CompanyId
    version: Version
    updated_at_ms: EpochMs
    country: Country
    sector: Sector
    workforce_total: Annotated[int, Field(ge=0)]
    workforce_band: WorkforceBand
    members: Annotated[list[MemberRef], AfterValidator(_sorted_members)]
    os_id_sealed: SealedOsId | None = None
    address_id: AddressId


class LabourRelations(SharedModel):
    """taxonomy.md "Labour relations": an appointed (not elected) amfori representative is no committee."""

    has_union: bool
    has_worker_committee: bool
    has_collective_agreement: bool
    has_grievance_mechanism: bool


class Finding(SharedModel):
    """One finding of an audit: a Sedex ``NonCompliance`` or ``CollaborativeActionRequired``, an amfori
    performance-area finding or zero-tolerance finding.

    Sedex ``Observation`` and ``GoodExample`` are not findings (taxonomy.md): they are dropped and count
    nowhere, nor do their forced-labour tags. ``source_code`` keeps the platform's code so the crosswalk
    can be revised and replayed: ``SMETA-7.0:1A``, ``BSCI-2.0:PA11.Q1``, ``BSCI-2.0:ZT:FORCED_LABOUR``.
    """

    finding_id: FindingId
    source_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    issue: Issue
    severity: Severity
    fl_indicators: Annotated[list[ForcedLabourIndicator], AfterValidator(_sorted_unique)]


class Audit(SharedModel):
    """The whole current state of one audit (Sedex audit, amfori monitoring). Key: ``audit_id``.

    A tombstone (null value) withdraws it. ``methodology`` is ``SMETA-6.1``, ``SMETA-7.0`` or
    ``BSCI-2.0``; ``audit_end`` is the day that fixes the audit's period (Sedex ``auditEnd``, amfori the
    UTC day of ``auditDate``); ``auditor_days`` is Sedex ``auditorDays`` / amfori ``manDays``;
    ``workers_interviewed`` is null for amfori, which does not report it.
    """

    TOPIC: ClassVar[str] = "exchange.normalized.audits.v1"

    schema_version: Literal[1] = 1
    audit_id: AuditId
    platform: Platform
    site_id: SiteId
    company_id: CompanyId
    version: Version
    updated_at_ms: EpochMs
    methodology: Annotated[str, StringConstraints(pattern=r"^(SMETA|BSCI)-[0-9]+\.[0-9]+$")]
    audit_type: AuditType
    announcement: Announcement
    audit_end: date
    auditor_days: Annotated[float, Field(ge=0)]
    audit_firm: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    audit_firm_name: str
    workers_interviewed: Annotated[int, Field(ge=0)] | None
    labour_relations: LabourRelations
    findings: Annotated[list[Finding], AfterValidator(_sorted_findings)]


class CorrectiveAction(SharedModel):
    """The corrective action of one finding (Sedex ``CorrectiveActionUpdated``, amfori
    ``remediation.updated``). Key: ``finding_id``; its version is the finding's.

    ``closed_date`` is set exactly when ``status`` is ``CLOSED``.
    """

    TOPIC: ClassVar[str] = "exchange.normalized.corrective-actions.v1"

    schema_version: Literal[1] = 1
    finding_id: FindingId
    audit_id: AuditId
    platform: Platform
    site_id: SiteId
    version: Version
    updated_at_ms: EpochMs
    status: CorrectiveActionStatus
    due_date: date
    closed_date: date | None = None

    @model_validator(mode="after")
    def _closed_date_iff_closed(self) -> Self:
        if (self.closed_date is not None) != self.status.is_closed:
            raise ValueError("closed_date is required when status is CLOSED, and absent otherwise")
        return self


class Consent(SharedModel):
    """A supplier company's consent to aggregate use. Key: ``company_id``."""

    TOPIC: ClassVar[str] = "exchange.normalized.consents.v1"

    schema_version: Literal[1] = 1
    company_id: CompanyId
    platform: Platform
    version: Version
    updated_at_ms: EpochMs
    granted: bool


class Training(SharedModel):
    """A completed training (Sedex ``TrainingCompleted``, amfori ``academy.completion``). Key:
    ``training_id``. ``issues`` are the topic's issue codes (Sedex ``WAGES_AND_HOURS`` is two)."""

    TOPIC: ClassVar[str] = "exchange.normalized.trainings.v1"

    schema_version: Literal[1] = 1
    training_id: TrainingId
    platform: Platform
    site_id: SiteId
    company_id: CompanyId
    version: Version
    updated_at_ms: EpochMs
    issues: Annotated[list[Issue], Field(min_length=1), AfterValidator(_sorted_unique)]
    completed_on: date
    participants: Annotated[int, Field(ge=1)]


SharedRecord = PlatformSite | Audit | CorrectiveAction | Consent | Training
"""Any top-level shared record (the value of a message on a normalized topic)."""

SHARED_RECORDS: Final[tuple[type[SharedRecord], ...]] = (
    PlatformSite,
    Audit,
    CorrectiveAction,
    Consent,
    Training,
)
SHARED_TOPICS: Final[Mapping[str, type[SharedRecord]]] = MappingProxyType(
    {cls.TOPIC: cls for cls in SHARED_RECORDS}
)
"""Normalized topic -> the record class of its values."""
