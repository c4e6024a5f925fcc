"""What the mapping produces (``Output``), what it needs (``MappingContext``), and how it fails."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeVar

from pydantic import ValidationError

from schemas.shared.models import Audit, Consent, CorrectiveAction, PlatformSite, SharedRecord, Training
from schemas.taxonomy import (
    AMFORI_FL_INDICATORS,
    AMFORI_TRAINING_TOPICS,
    BSCI_PERFORMANCE_AREAS,
    GICS_SECTOR_PREFIXES,
    SEDEX_FL_TAGS,
    SEDEX_TRAINING_TOPICS,
    SMETA_CLAUSES,
    UNSPSC_SECTOR_PREFIXES,
    ZERO_TOLERANCE_CATEGORIES,
    ZERO_TOLERANCE_INDICATOR,
    ForcedLabourIndicator,
    Issue,
    Sector,
)

from ..address import address_key
from ..keys import KeyMaterial
from ..pseudonymise import IdKind, Pseudonymiser
from ..seal import Sealer
from . import ids

# --- outputs ------------------------------------------------------------------------------------------


class OutputKind(StrEnum):
    """One per normalized topic; ``topic`` and ``model`` say which."""

    PLATFORM_SITE = "platform-site"
    AUDIT = "audit"
    CORRECTIVE_ACTION = "corrective-action"
    CONSENT = "consent"
    TRAINING = "training"

    @property
    def model(self) -> type[SharedRecord]:
        return OUTPUT_MODELS[self]

    @property
    def topic(self) -> str:
        return OUTPUT_MODELS[self].TOPIC


OUTPUT_MODELS: Final[Mapping[OutputKind, type[SharedRecord]]] = MappingProxyType(
    {
        OutputKind.PLATFORM_SITE: PlatformSite,
        OutputKind.AUDIT: Audit,
        OutputKind.CORRECTIVE_ACTION: CorrectiveAction,
        OutputKind.CONSENT: Consent,
        OutputKind.TRAINING: Training,
    }
)


@dataclass(frozen=True, slots=True)
class Output:
    """One record to write to ``kind.topic`` under ``key``, once the event is known not to be stale.

    ``value`` None is a tombstone (``SiteRemoved``/``site.deleted``: the platform site;
    ``AuditWithdrawn``/``monitoring.cancelled``: the audit). ``version_entity`` is the pseudonym of the
    entity whose ``version`` governs staleness (platform-events.md "Versions": the site, audit, finding,
    company or training record); it is one of the record's own ids, so it never collides across kinds.
    ``occurred_at_ms`` is the platform event's time.
    """

    kind: OutputKind
    key: str
    value: SharedRecord | None
    version_entity: str
    version: int
    occurred_at_ms: int


# --- failure ------------------------------------------------------------------------------------------


class MappingErrorCode(StrEnum):
    UNKNOWN_CLAUSE = "unknown_clause"
    UNKNOWN_SEVERITY = "unknown_severity"
    UNKNOWN_FL_CODE = "unknown_fl_code"
    UNKNOWN_PERFORMANCE_AREA = "unknown_performance_area"
    INCONSISTENT_QUESTION = "inconsistent_question"
    UNKNOWN_ZERO_TOLERANCE = "unknown_zero_tolerance_category"
    UNKNOWN_TRAINING_TOPIC = "unknown_training_topic"
    UNKNOWN_COUNTRY = "unknown_country"
    DUPLICATE_FINDING = "duplicate_finding"
    UNKNOWN_EVENT = "unknown_event"
    INCONSISTENT_ENVELOPE = "inconsistent_envelope"
    INVALID_RECORD = "invalid_record"
    QUARANTINED = "quarantined"  # an operator set this event aside (repair-entity): never applied


class MappingError(ValueError):
    """An accepted event the mapping cannot map; the app dead-letters it with ``str(exc)``.

    The reason names codes, field locations and methodology versions, never a raw identifier, a name or
    free text (it is written to the dead-letter headers).
    """

    def __init__(self, code: MappingErrorCode, reason: str) -> None:
        super().__init__(f"{code.value}: {reason}")
        self.code = code
        self.reason = reason


K = TypeVar("K")
V = TypeVar("V")


def lookup(table: Mapping[K, V], key: K, code: MappingErrorCode, where: str) -> V:
    """``table[key]``, or a MappingError that names ``where`` (a location or table) but not the key."""
    try:
        return table[key]
    except KeyError:
        raise MappingError(code, f"{where} has no entry in the crosswalk") from None


@contextmanager
def invalid_record() -> Iterator[None]:
    """A shared record's violated constraint becomes INVALID_RECORD, naming only locations and types."""
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['type']}"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)[:5]
        )
        raise MappingError(MappingErrorCode.INVALID_RECORD, f"{exc.title} {problems}") from None


# --- context ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crosswalk:
    """The taxonomy tables the mapping reads (defaults: ``schemas.taxonomy``). A crosswalk revision is a
    change of these tables: pass a revised Crosswalk to replay with it."""

    smeta_clauses: Mapping[str, Mapping[str, Issue]] = field(default_factory=lambda: SMETA_CLAUSES)
    bsci_performance_areas: Mapping[int, Issue] = field(default_factory=lambda: BSCI_PERFORMANCE_AREAS)
    zero_tolerance_categories: Mapping[str, Issue] = field(default_factory=lambda: ZERO_TOLERANCE_CATEGORIES)
    zero_tolerance_indicator: Mapping[str, ForcedLabourIndicator] = field(
        default_factory=lambda: ZERO_TOLERANCE_INDICATOR
    )
    sedex_fl_tags: Mapping[str, ForcedLabourIndicator] = field(default_factory=lambda: SEDEX_FL_TAGS)
    amfori_fl_indicators: Mapping[str, ForcedLabourIndicator] = field(
        default_factory=lambda: AMFORI_FL_INDICATORS
    )
    unspsc_sector_prefixes: Mapping[str, Sector] = field(default_factory=lambda: UNSPSC_SECTOR_PREFIXES)
    gics_sector_prefixes: Mapping[str, Sector] = field(default_factory=lambda: GICS_SECTOR_PREFIXES)
    sedex_training_topics: Mapping[str, tuple[Issue, ...]] = field(
        default_factory=lambda: SEDEX_TRAINING_TOPICS
    )
    amfori_training_topics: Mapping[str, tuple[Issue, ...]] = field(
        default_factory=lambda: AMFORI_TRAINING_TOPICS
    )

    def __reduce__(self) -> tuple[type[Crosswalk], tuple[object, ...]]:
        """Pickled as plain dicts (the tables are read-only proxies, which do not pickle): the mapper
        processes receive the crosswalk the service maps with (services/normalize/mappers.py)."""
        return (Crosswalk, tuple(_plain(getattr(self, f.name)) for f in fields(self)))


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


DEFAULT_CROSSWALK: Final = Crosswalk()


@dataclass(frozen=True)
class MappingContext:
    """The keys and tables the mapping needs; the methods apply the scoping convention of ``ids``."""

    pseudonymiser: Pseudonymiser
    sealer: Sealer
    crosswalk: Crosswalk = field(default=DEFAULT_CROSSWALK)

    @classmethod
    def from_keys(cls, keys: KeyMaterial, crosswalk: Crosswalk = DEFAULT_CROSSWALK) -> MappingContext:
        return cls(Pseudonymiser(keys), Sealer(keys), crosswalk)

    def _p(self, kind: IdKind, raw: str) -> str:
        return self.pseudonymiser.pseudonym(kind, raw)

    def resolved_site_id(self, raw: str) -> str:
        """The resolver's name for a resolved site (`raw` is `os:<id>` or `addr:<address pseudonym>`)."""
        return self._p(IdKind.RESOLVED_SITE, raw)

    def site_id(self, platform: str, site_ref: str) -> str:
        return self._p(IdKind.PLATFORM_SITE, ids.raw_site(platform, site_ref))

    def company_id(self, platform: str, company_ref: str) -> str:
        return self._p(IdKind.COMPANY, ids.raw_company(platform, company_ref))

    def member_id(self, platform: str, member_ref: str) -> str:
        return self._p(IdKind.MEMBER, ids.raw_member(platform, member_ref))

    def lei_id(self, lei: str) -> str:
        return self._p(IdKind.MEMBER, ids.raw_lei(lei))

    def audit_id(self, platform: str, audit_ref: str) -> str:
        return self._p(IdKind.AUDIT, ids.raw_audit(platform, audit_ref))

    def finding_id(self, platform: str, audit_ref: str, finding_ref: str) -> str:
        return self._p(IdKind.FINDING, ids.raw_finding(platform, audit_ref, finding_ref))

    def training_id(self, platform: str, training_ref: str) -> str:
        return self._p(IdKind.TRAINING, ids.raw_training(platform, training_ref))

    def address_id(self, name: str, street: str, city: str, country_alpha2: str) -> str:
        return self._p(IdKind.ADDRESS, address_key(name, street, city, country_alpha2))

    def seal_os_id(self, os_id: str | None) -> str | None:
        return None if os_id is None else self.sealer.seal(os_id)
