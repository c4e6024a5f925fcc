"""Normalize's records as aggregate holds them: slotted, frozen, repeated values shared.

Every aggregate instance holds every current record of normalize's compacted topics
(`population.NormalizedState`): at a year of both platforms, 1.4 million records. Held as the
pydantic models they are validated with, each record and each nested one (an audit's findings and
labour relations, a site's members) is an object with a `__dict__` of its own: a dict of a dozen
entries is 400-1,200 bytes, more than the values it holds. So a record is validated with its contract
model (`schemas.shared`, the single source of its schema) and then kept as the frozen, slotted
dataclass of this module with the same field names, values and order: a slot is 8 bytes.

Values that come from a small vocabulary (countries, methodologies, audit firms and their names,
source codes, dates, labour-relation flags, indicator and issue lists, platforms) are shared: each
record would otherwise hold its own equal copy (pydantic's JSON parser already reuses short strings
from a bounded cache; dates, tuples and the flags are new objects per record). Pseudonyms that other
records repeat (a site's id in each of its audits, corrective actions, trainings and resolution; a
company's, an audit's, a finding's, a member's, a resolved site's) are interned (`sys.intern`): each
record parsed its own copy, 764,000 string objects for 333,000 distinct values at 300,000 events
(68 of the state's 137 MiB). Interned strings are mortal: one that no record holds any more leaves
the interpreter's table, so the table follows the state, not its history. Ids no other record repeats
(an address, a sealed osId, a training's) are left as they come. A record's own id is the key it is
held under, so the key and the id are one string.

Lists become tuples (frozen records do not change). `schema_version` is left out: it is 1 for every
record the models accept. `tests/services/aggregate/test_held.py` checks that each held class has
its model's fields, and that a held record reads as its model does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from sys import intern
from typing import Any, Final, TypeVar, overload

from pydantic import BaseModel

from schemas.shared.models import (
    Announcement,
    Audit,
    AuditType,
    Consent,
    CorrectiveAction,
    CorrectiveActionStatus,
    Finding,
    LabourRelations,
    MemberRole,
    Platform,
    PlatformSite,
    Training,
)
from schemas.shared.resolution import ResolvedMember, ResolvedPlatform, ResolvedSite, SiteResolution
from schemas.taxonomy import ForcedLabourIndicator, Issue, Sector, Severity, WorkforceBand

__all__ = [
    "HeldAudit",
    "HeldConsent",
    "HeldCorrectiveAction",
    "HeldFinding",
    "HeldLabourRelations",
    "HeldMemberRef",
    "HeldPlatformSite",
    "HeldRecord",
    "HeldResolution",
    "HeldResolvedMember",
    "HeldResolvedSite",
    "HeldTraining",
    "hold",
    "keyed",
]


@dataclass(frozen=True, slots=True)
class HeldMemberRef:
    member_id: str
    lei_id: str | None
    role: MemberRole | None


@dataclass(frozen=True, slots=True)
class HeldPlatformSite:
    site_id: str
    platform: Platform
    company_id: str
    version: int
    updated_at_ms: int
    country: str
    sector: Sector
    workforce_total: int
    workforce_band: WorkforceBand
    members: tuple[HeldMemberRef, ...]
    os_id_sealed: str | None
    address_id: str


@dataclass(frozen=True, slots=True)
class HeldLabourRelations:
    has_union: bool
    has_worker_committee: bool
    has_collective_agreement: bool
    has_grievance_mechanism: bool


@dataclass(frozen=True, slots=True)
class HeldFinding:
    finding_id: str
    source_code: str
    issue: Issue
    severity: Severity
    fl_indicators: tuple[ForcedLabourIndicator, ...]


@dataclass(frozen=True, slots=True)
class HeldAudit:
    audit_id: str
    platform: Platform
    site_id: str
    company_id: str
    version: int
    updated_at_ms: int
    methodology: str
    audit_type: AuditType
    announcement: Announcement
    audit_end: date
    auditor_days: float
    audit_firm: str
    audit_firm_name: str
    workers_interviewed: int | None
    labour_relations: HeldLabourRelations
    findings: tuple[HeldFinding, ...]


@dataclass(frozen=True, slots=True)
class HeldCorrectiveAction:
    finding_id: str
    audit_id: str
    platform: Platform
    site_id: str
    version: int
    updated_at_ms: int
    status: CorrectiveActionStatus
    due_date: date
    closed_date: date | None


@dataclass(frozen=True, slots=True)
class HeldConsent:
    company_id: str
    platform: Platform
    version: int
    updated_at_ms: int
    granted: bool


@dataclass(frozen=True, slots=True)
class HeldTraining:
    training_id: str
    platform: Platform
    site_id: str
    company_id: str
    version: int
    updated_at_ms: int
    issues: tuple[Issue, ...]
    completed_on: date
    participants: int


@dataclass(frozen=True, slots=True)
class HeldResolution:
    platform_site_id: str
    resolved_site_id: str


@dataclass(frozen=True, slots=True)
class HeldResolvedMember:
    member_id: str
    lei_id: str | None


@dataclass(frozen=True, slots=True)
class HeldResolvedSite:
    resolved_site_id: str
    country: str
    sector: Sector
    workforce_band: WorkforceBand
    principal_owner_id: str
    owner_ids: tuple[str, ...]
    members: tuple[HeldResolvedMember, ...]
    platform_site_ids: tuple[str, ...]
    platforms: tuple[ResolvedPlatform, ...]


HeldRecord = (
    HeldPlatformSite
    | HeldAudit
    | HeldCorrectiveAction
    | HeldConsent
    | HeldTraining
    | HeldResolution
    | HeldResolvedSite
)

V = TypeVar("V")

_SHARED: Final[dict[object, object]] = {}
"""One object per distinct value of the small-vocabulary fields: what every record with that value
points to. It grows with the vocabulary (countries, firms, dates, codes), not with the records."""

SHARED_AT_MOST: Final = 65_536
"""The pool's bound: a feed whose vocabulary is larger than any real one (a platform sending a new
source code with every finding) stops adding to it rather than growing it for ever; values past the
bound are held as they come, which costs memory, never correctness."""


def _shared(value: V) -> V:
    found = _SHARED.get(value)
    if found is None:
        if len(_SHARED) >= SHARED_AT_MOST:
            return value
        found = _SHARED[value] = value
    return found  # type: ignore[return-value]  # equal to `value`, hence of its type


def _ids(values: list[str]) -> tuple[str, ...]:
    return tuple(map(intern, values))


def _optional(value: str | None) -> str | None:
    return None if value is None else intern(value)


def _labour(model: LabourRelations) -> HeldLabourRelations:
    return _shared(
        HeldLabourRelations(
            model.has_union,
            model.has_worker_committee,
            model.has_collective_agreement,
            model.has_grievance_mechanism,
        )
    )


def _finding(model: Finding) -> HeldFinding:
    return HeldFinding(
        intern(model.finding_id),
        _shared(model.source_code),
        model.issue,
        model.severity,
        _shared(tuple(model.fl_indicators)),
    )


def _platform_site(model: PlatformSite) -> HeldPlatformSite:
    return HeldPlatformSite(
        intern(model.site_id),
        _shared(model.platform),
        intern(model.company_id),
        model.version,
        model.updated_at_ms,
        _shared(model.country),
        model.sector,
        model.workforce_total,
        model.workforce_band,
        tuple(HeldMemberRef(intern(m.member_id), _optional(m.lei_id), m.role) for m in model.members),
        model.os_id_sealed,
        model.address_id,
    )


def _audit(model: Audit) -> HeldAudit:
    return HeldAudit(
        intern(model.audit_id),
        _shared(model.platform),
        intern(model.site_id),
        intern(model.company_id),
        model.version,
        model.updated_at_ms,
        _shared(model.methodology),
        model.audit_type,
        model.announcement,
        _shared(model.audit_end),
        model.auditor_days,
        _shared(model.audit_firm),
        _shared(model.audit_firm_name),
        model.workers_interviewed,
        _labour(model.labour_relations),
        tuple(map(_finding, model.findings)),
    )


def _corrective_action(model: CorrectiveAction) -> HeldCorrectiveAction:
    return HeldCorrectiveAction(
        intern(model.finding_id),
        intern(model.audit_id),
        _shared(model.platform),
        intern(model.site_id),
        model.version,
        model.updated_at_ms,
        model.status,
        _shared(model.due_date),
        None if model.closed_date is None else _shared(model.closed_date),
    )


def _consent(model: Consent) -> HeldConsent:
    return HeldConsent(
        intern(model.company_id), _shared(model.platform), model.version, model.updated_at_ms, model.granted
    )


def _training(model: Training) -> HeldTraining:
    return HeldTraining(
        model.training_id,
        _shared(model.platform),
        intern(model.site_id),
        intern(model.company_id),
        model.version,
        model.updated_at_ms,
        _shared(tuple(model.issues)),
        _shared(model.completed_on),
        model.participants,
    )


def _resolution(model: SiteResolution) -> HeldResolution:
    return HeldResolution(intern(model.platform_site_id), intern(model.resolved_site_id))


def _resolved_member(model: ResolvedMember) -> HeldResolvedMember:
    return HeldResolvedMember(intern(model.member_id), _optional(model.lei_id))


def _resolved_site(model: ResolvedSite) -> HeldResolvedSite:
    return HeldResolvedSite(
        intern(model.resolved_site_id),
        _shared(model.country),
        model.sector,
        model.workforce_band,
        intern(model.principal_owner_id),
        _ids(model.owner_ids),
        tuple(map(_resolved_member, model.members)),
        _ids(model.platform_site_ids),
        _shared(tuple(model.platforms)),
    )


_KINDS: Final[Mapping[type[BaseModel], tuple[Callable[[Any], HeldRecord], str]]] = {
    PlatformSite: (_platform_site, "site_id"),
    Audit: (_audit, "audit_id"),
    CorrectiveAction: (_corrective_action, "finding_id"),
    Consent: (_consent, "company_id"),
    Training: (_training, "training_id"),
    SiteResolution: (_resolution, "platform_site_id"),
    ResolvedSite: (_resolved_site, "resolved_site_id"),
}
"""Each record model aggregate holds -> how it is held, and the field of its id (its topic's key)."""


def _kind(record: BaseModel) -> tuple[Callable[[Any], HeldRecord], str]:
    kind = _KINDS.get(type(record))
    if kind is None:
        raise TypeError(f"not a record aggregate holds: {type(record).__name__}")
    return kind


@overload
def hold(record: PlatformSite) -> HeldPlatformSite: ...
@overload
def hold(record: Audit) -> HeldAudit: ...
@overload
def hold(record: CorrectiveAction) -> HeldCorrectiveAction: ...
@overload
def hold(record: Consent) -> HeldConsent: ...
@overload
def hold(record: Training) -> HeldTraining: ...
@overload
def hold(record: SiteResolution) -> HeldResolution: ...
@overload
def hold(record: ResolvedSite) -> HeldResolvedSite: ...
@overload
def hold(record: BaseModel) -> HeldRecord: ...
def hold(record: BaseModel) -> HeldRecord:
    """A validated record as aggregate holds it; TypeError for a model aggregate does not hold."""
    return _kind(record)[0](record)


def keyed(key: str, record: BaseModel) -> tuple[str, HeldRecord]:
    """`record` held, and the key to hold it under: the held record's own id when it equals `key`
    (normalize keys every record by its id), so that the key and the id are one string. (A newer
    version set under a key the table holds leaves the table its first key object: two equal strings
    for that record, rather than a delete and insert that would move it in the table's order.)"""
    holder, id_field = _kind(record)
    held = holder(record)
    own: str = getattr(held, id_field)
    return (own if own == key else key), held
