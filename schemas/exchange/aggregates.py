"""The published aggregate messages (aggregates.md, "Message format"), and the aggregate service's own
release state.

Public: one message per cell and release on the table's compacted topic
(`exchange.aggregates.<table>.v1`), key = the cell's coordinates as compact JSON with sorted keys,
value = `AggregateMessage`:

    {"table","schema_version":1,"release_id","released_at","revision","cell":{...},
     "status":"published"|"suppressed","measures":{...}|null}

* `release_id` is the scheduled release time, `released_at` the time the message was made; both are
  RFC 3339 UTC, whole seconds, written with a `Z` (`2026-05-01T00:00:04Z`). They are the only times a
  message carries.
* A suppressed cell has `measures` null and says nothing about why. A published cell whose outcomes are
  withheld carries its population measures and null for every outcome measure (all or none).
* Shares are `share_pct` (100 × n / d rounded half up to one decimal) and are checked against their
  counts, so a message cannot state a rate its counts do not give.

Serialisation is deterministic: fields in declaration order, `cell` in the spec's order
(period, country, sector[, issue]), `by_indicator` in the ILO list's order, floats only as one-decimal
shares (which Python writes as their shortest repr, e.g. `29.3`, `100.0`). Equal content gives equal
bytes: use `dump_message`.

Internal (never leaves the exchange): `ReleaseStateRecord`, `SiteAffiliationRecord`, `NoiseDrawRecord`
and `ReleaseMarker` on `exchange.aggregate.releases.v1`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from schemas.platform.common import strict_int
from schemas.taxonomy import ForcedLabourIndicator, Issue, Sector

ISSUE_PREVALENCE: Final = "issue-prevalence"
FORCED_LABOUR: Final = "forced-labour"
LABOUR_RELATIONS: Final = "labour-relations"
AUDIT_QUALITY: Final = "audit-quality"
REMEDIATION: Final = "remediation"
CAPACITY_BUILDING: Final = "capacity-building"
TABLES: Final = (
    ISSUE_PREVALENCE,
    FORCED_LABOUR,
    LABOUR_RELATIONS,
    AUDIT_QUALITY,
    REMEDIATION,
    CAPACITY_BUILDING,
)
"""The one registry of the tables the exchange publishes: services, bench, demo and tests read it."""

Status = Literal["published", "suppressed"]


def topic_of(table: str) -> str:
    """aggregates.md: the table's public topic."""
    return f"exchange.aggregates.{table}.v1"


RELEASE_STATE_TOPIC: Final = "exchange.aggregate.releases.v1"
"""Internal, compacted: the aggregate service's release state (`ReleaseStateRecord` per cell, and the
marker `LAST_RELEASE_KEY` -> `ReleaseMarker`)."""
LAST_RELEASE_KEY: Final = b"__last_release__"
PENDING_RELEASE_KEY: Final = b"__pending_release__"
"""A release whose cells are recorded (committed to the release-state topic) but perhaps not yet
published: the releaser publishes exactly those recorded messages, whoever finishes the job."""


# --- scalars ------------------------------------------------------------------------------------------

_RELEASE_TIME_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
RELEASE_TIME_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def format_release_time(value: datetime) -> str:
    """`2026-05-01T00:00:04Z`: UTC, whole seconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _release_time_in(value: Any) -> Any:
    if isinstance(value, str):
        if not _RELEASE_TIME_RE.fullmatch(value):
            raise ValueError(
                "expected an RFC 3339 UTC time with whole seconds and a Z, e.g. 2026-05-01T00:00:00Z"
            )
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return value


def _release_time_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a release time must be timezone-aware (UTC)")
    if value.microsecond:
        raise ValueError("a release time has whole seconds")
    return value.astimezone(UTC)


ReleaseTime = Annotated[
    datetime,
    BeforeValidator(_release_time_in),
    AfterValidator(_release_time_utc),
    PlainSerializer(format_release_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RELEASE_TIME_PATTERN}),
]
"""A datetime in python (aware, whole seconds), `YYYY-MM-DDTHH:MM:SSZ` on the wire."""

Period = Annotated[str, Field(pattern=r"^\d{4}-(Q[1-4]|0[1-9]|1[0-2])$")]
"""`2026-Q1` (calendar quarter, the default) or `2026-01` (calendar month)."""
CountryCoord = Annotated[str, Field(pattern=r"^([A-Z]{2}|ALL)$")]
"""ISO 3166-1 alpha-2, or `ALL` (the margin)."""


def _member_of(codes: frozenset[str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in codes:
            raise ValueError(f"unknown {what} {value[:40]!r}")
        return value

    return AfterValidator(check)


_SECTORS: Final = frozenset({*(s.value for s in Sector), "ALL"})
_ISSUES: Final = frozenset(i.value for i in Issue)
# Plain strings checked against the taxonomy, so that the cell is built from a CellKey's coordinates
# (strings) under strict validation; on the wire they are the same codes.
SectorCoord = Annotated[
    str, _member_of(_SECTORS, "sector"), WithJsonSchema({"type": "string", "enum": sorted(_SECTORS)})
]
"""A `schemas.taxonomy.Sector` code, or `ALL` (the margin)."""
IssueCoord = Annotated[
    str, _member_of(_ISSUES, "issue"), WithJsonSchema({"type": "string", "enum": sorted(_ISSUES)})
]
"""A `schemas.taxonomy.Issue` code."""
Count = Annotated[int, Field(ge=0)]
Revision = Annotated[int, Field(ge=0)]
SchemaVersion = Annotated[Literal[1], BeforeValidator(strict_int)]


def share_pct(numerator: int, denominator: int) -> float:
    """aggregates.md: 100 × numerator / denominator rounded half up to one decimal (exact, no float error)."""
    if denominator <= 0 or not numerator >= 0:
        raise ValueError("a share needs a positive denominator and a non-negative numerator")
    exact = Decimal(100 * numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _one_decimal(value: float) -> float:
    if not 0 <= value <= 100 or round(value, 1) != value:
        raise ValueError("a share is a percentage with one decimal")
    return value


def _tenths(value: float) -> float:
    if round(value, 1) != value:
        raise ValueError("a mean has one decimal")
    return value


Pct = Annotated[float, AfterValidator(_one_decimal), Field(ge=0, le=100)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)


# --- issue-prevalence ---------------------------------------------------------------------------------


class IssuePrevalenceCell(_Model):
    period: Period
    country: CountryCoord
    sector: SectorCoord
    issue: IssueCoord


class SeverityCounts(_Model):
    """Sites with the issue, by the site's highest severity on it in the period."""

    critical: Count
    major: Count
    minor: Count


def _outcomes_shown(*outcomes: object) -> bool:
    """False when every outcome measure is null, True when every one is shown; a mix is invalid
    (aggregates.md: a cell shows its outcomes whole or not at all)."""
    if all(v is None for v in outcomes):
        return False
    if any(v is None for v in outcomes):
        raise ValueError("outcome measures are either all shown or all null")
    return True


class IssuePrevalenceMeasures(_Model):
    audited_sites: Annotated[int, Field(ge=1, description="Population (P).")]
    sites_with_issue: Count | None
    by_severity: SeverityCounts | None
    rate_pct: Pct | None

    @model_validator(mode="after")
    def _consistent(self) -> IssuePrevalenceMeasures:
        if not _outcomes_shown(self.sites_with_issue, self.by_severity, self.rate_pct):
            return self
        assert self.sites_with_issue is not None and self.by_severity is not None
        if self.sites_with_issue > self.audited_sites:
            raise ValueError("sites_with_issue exceeds audited_sites")
        s = self.by_severity
        if s.critical + s.major + s.minor != self.sites_with_issue:
            raise ValueError("by_severity must add up to sites_with_issue")
        if self.rate_pct != share_pct(self.sites_with_issue, self.audited_sites):
            raise ValueError("rate_pct must be share_pct(sites_with_issue, audited_sites)")
        return self


class _Message(_Model):
    """What every table's message has (aggregates.md, "Message format"). A table's message narrows
    `table`, `cell` and `measures`; the fields keep this order, so the value bytes do too."""

    table: str
    schema_version: SchemaVersion
    release_id: ReleaseTime = Field(description="The scheduled release time.")
    released_at: ReleaseTime
    revision: Revision
    cell: _Model
    status: Status
    measures: _Model | None

    @model_validator(mode="after")
    def _status(self) -> Self:
        if (self.status == "suppressed") != (self.measures is None):
            raise ValueError("a suppressed cell has measures null; a published cell has measures")
        return self


class IssuePrevalenceMessage(_Message):
    """A value on `exchange.aggregates.issue-prevalence.v1`."""

    table: Literal["issue-prevalence"]
    cell: IssuePrevalenceCell
    measures: IssuePrevalenceMeasures | None


# --- forced-labour ------------------------------------------------------------------------------------


class _CountrySectorCell(_Model):
    period: Period
    country: CountryCoord
    sector: SectorCoord


class ForcedLabourCell(_CountrySectorCell):
    pass


class IndicatorCounts(_Model):
    """Sites with each ILO forced-labour indicator: all eleven, zeros included."""

    ABUSE_OF_VULNERABILITY: Count
    DECEPTION: Count
    RESTRICTION_OF_MOVEMENT: Count
    ISOLATION: Count
    PHYSICAL_SEXUAL_VIOLENCE: Count
    INTIMIDATION_THREATS: Count
    RETENTION_OF_IDENTITY_DOCUMENTS: Count
    WITHHOLDING_OF_WAGES: Count
    DEBT_BONDAGE: Count
    ABUSIVE_WORKING_LIVING_CONDITIONS: Count
    EXCESSIVE_OVERTIME: Count

    def counts(self) -> dict[ForcedLabourIndicator, int]:
        return {code: getattr(self, code.value) for code in ForcedLabourIndicator}


assert tuple(IndicatorCounts.model_fields) == tuple(c.value for c in ForcedLabourIndicator)


class ForcedLabourMeasures(_Model):
    audited_sites: Annotated[int, Field(ge=1, description="Population (P).")]
    sites_with_indicator: Count | None
    by_indicator: IndicatorCounts | None

    @model_validator(mode="after")
    def _consistent(self) -> ForcedLabourMeasures:
        if not _outcomes_shown(self.sites_with_indicator, self.by_indicator):
            return self
        assert self.sites_with_indicator is not None and self.by_indicator is not None
        if self.sites_with_indicator > self.audited_sites:
            raise ValueError("sites_with_indicator exceeds audited_sites")
        counts = self.by_indicator.counts().values()
        # A site with an indicator counts once in sites_with_indicator and once per indicator it has.
        if not max(counts) <= self.sites_with_indicator <= sum(counts):
            raise ValueError("sites_with_indicator must lie between the largest and the sum of by_indicator")
        return self


class ForcedLabourMessage(_Message):
    """A value on `exchange.aggregates.forced-labour.v1`."""

    table: Literal["forced-labour"]
    cell: ForcedLabourCell
    measures: ForcedLabourMeasures | None


# --- labour-relations ---------------------------------------------------------------------------------


class LabourRelationsCell(_CountrySectorCell):
    pass


LABOUR_FLAGS: Final = (
    "sites_with_union",
    "sites_with_worker_committee",
    "sites_with_collective_agreement",
    "sites_with_grievance_mechanism",
)
"""The outcome counts of `labour-relations`, one per flag of `schemas.shared.models.LabourRelations`."""


class LabourRelationsMeasures(_Model):
    """Of the cell's audited sites, those whose latest audit in the period (by end date; on a tie, the
    latest event time) shows each flag (aggregates.md, `labour-relations`)."""

    audited_sites: Annotated[int, Field(ge=1, description="Population (P).")]
    sites_with_union: Count | None
    sites_with_worker_committee: Count | None
    sites_with_collective_agreement: Count | None
    sites_with_grievance_mechanism: Count | None

    @model_validator(mode="after")
    def _consistent(self) -> LabourRelationsMeasures:
        values: list[int | None] = [getattr(self, name) for name in LABOUR_FLAGS]
        if not _outcomes_shown(*values):
            return self
        if any(v is not None and v > self.audited_sites for v in values):
            raise ValueError("a flag count exceeds audited_sites")
        return self


class LabourRelationsMessage(_Message):
    """A value on `exchange.aggregates.labour-relations.v1`."""

    table: Literal["labour-relations"]
    cell: LabourRelationsCell
    measures: LabourRelationsMeasures | None


# --- remediation --------------------------------------------------------------------------------------


class RemediationCell(_Model):
    """A period (of the audit that raised the findings), a country or `ALL`, an issue."""

    period: Period
    country: CountryCoord
    issue: IssueCoord


def _median_value(value: float) -> float:
    # A median of whole days is a whole day or, of an even count, half way between two (aggregates.md).
    if (value * 2) != int(value * 2):
        raise ValueError("a median of whole days is a whole or a half day")
    return value


MedianDays = Annotated[float, AfterValidator(_median_value)]


class RemediationMeasures(_Model):
    """aggregates.md `remediation`. `findings` (P) counts findings, not sites: the rules count the
    cell's contributing sites, which the message does not carry. `closed_on_time_pct` and
    `median_days_to_close` describe closed findings and are null when the cell shows its outcomes but
    has none closed (`closed` 0); when outcomes are withheld, every outcome measure is null."""

    findings: Annotated[int, Field(ge=1, description="Population (P): findings with a corrective action.")]
    closed: Count | None
    closed_on_time_pct: Pct | None
    median_days_to_close: MedianDays | None
    open_overdue: Count | None

    @model_validator(mode="after")
    def _consistent(self) -> RemediationMeasures:
        outcomes = (self.closed, self.closed_on_time_pct, self.median_days_to_close, self.open_overdue)
        if self.closed is None or self.open_overdue is None:
            if any(v is not None for v in outcomes):
                raise ValueError("outcome measures are either all shown or all null")
            return self
        if self.closed + self.open_overdue > self.findings:
            raise ValueError("closed and open_overdue findings exceed findings")
        described = (self.closed_on_time_pct is not None, self.median_days_to_close is not None)
        if described != (self.closed > 0, self.closed > 0):
            raise ValueError("closed_on_time_pct and median_days_to_close are null exactly when closed is 0")
        if self.closed_on_time_pct is not None:
            near = round(self.closed_on_time_pct * self.closed / 100)
            candidates = range(max(0, near - 1), min(self.closed, near + 1) + 1)
            if all(share_pct(n, self.closed) != self.closed_on_time_pct for n in candidates):
                raise ValueError("closed_on_time_pct must be share_pct(on-time closed findings, closed)")
        return self


class RemediationMessage(_Message):
    """A value on `exchange.aggregates.remediation.v1`."""

    table: Literal["remediation"]
    cell: RemediationCell
    measures: RemediationMeasures | None


# --- audit-quality ------------------------------------------------------------------------------------


APSCA_FIRM_ID_PATTERN: Final = r"^APSCA-F-[0-9]{5}$"
"""An APSCA member firm id as the platforms send it (platform-events.md: `APSCA-F-00123`)."""
FIRM_NAME_MAX: Final = 120
AUDIT_QUALITY_POPULATION: Final = ("audits", "sites")
"""The population measures (P) of `audit-quality`; every other measure of the table is an outcome."""
# What a firm name must not look like, whatever a platform sends: a date (an event time), a long hex
# run or an unbroken token (a pseudonym, a sealed value, an id), an e-mail address, control characters.
_NAME_FORBIDDEN: Final = re.compile(
    r"\d{4}-\d{2}|[0-9a-fA-F]{12,}|\S{41,}|@|[\x00-\x1f\x7f-\x9f\u2028\u2029]"
)


def _firm_name(value: str) -> str:
    if value != value.strip() or "  " in value:
        raise ValueError("a firm name has no leading, trailing or doubled white space")
    if not any(c.isalpha() for c in value):
        raise ValueError("a firm name has letters")
    if _NAME_FORBIDDEN.search(value):
        raise ValueError("a firm name may not carry a date, an id-like token, an address or controls")
    return value


AuditFirmId = Annotated[str, Field(pattern=APSCA_FIRM_ID_PATTERN)]
AuditFirmName = Annotated[str, Field(min_length=1, max_length=FIRM_NAME_MAX), AfterValidator(_firm_name)]
"""The firm's name as last reported: one line of text, bounded, and nothing that looks like a date, an
id or an address, so that the one name the exchange publishes cannot carry anything else."""
AUDIT_FIRM_NAME: Final[TypeAdapter[str]] = TypeAdapter(AuditFirmName)
AUDIT_FIRM_ID: Final[TypeAdapter[str]] = TypeAdapter(AuditFirmId)
NULL_ALONE: Final = frozenset({"critical_missed_pct"})
"""Outcome measures that may be null in a cell that shows its outcomes (no audit was followed)."""
LABELS: Final = frozenset({"audit_firm_name"})
"""Fields of a message's `cell` that are not coordinates: not part of the key (aggregates.md)."""


def mean_one_decimal(total: int, count: int) -> float:
    """aggregates.md: a mean rounded half up to one decimal (exact, no float error)."""
    if count <= 0 or total < 0:
        raise ValueError("a mean needs a positive count and a non-negative total")
    exact = Decimal(total) / Decimal(count)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _share_of(value: float, denominator: int) -> int:
    """The count `value` is a share of (`share_pct(n, denominator) == value`); raises if there is none."""
    guess = round(value * denominator / 100)
    for n in (guess - 1, guess, guess + 1):
        if 0 <= n <= denominator and share_pct(n, denominator) == value:
            return n
    raise ValueError(f"{value} is no share of {denominator} audits")


class AuditQualityCell(_Model):
    period: Period
    audit_firm: AuditFirmId
    country: CountryCoord
    audit_firm_name: AuditFirmName = Field(
        description="The firm's name as last reported; not part of the key."
    )


AUDIT_QUALITY_SHARES: Final = (
    "unannounced_pct",
    "semi_announced_pct",
    "zero_finding_pct",
    "below_minimum_days_pct",
)
"""The shares of the cell's audits: each is a count over `audits`, published as a share."""


class AuditQualityMeasures(_Model):
    """aggregates.md `audit-quality`. `critical_missed_pct` alone may be null in a cell that shows its
    outcomes: none of its audits was followed by another firm's audit within 180 days."""

    audits: Annotated[int, Field(ge=1, description="Population (P): the firm's current audits.")]
    sites: Annotated[int, Field(ge=1, description="Population (P): their distinct sites.")]
    unannounced_pct: Pct | None
    semi_announced_pct: Pct | None
    zero_finding_pct: Pct | None
    mean_findings_per_audit: Annotated[float, Field(ge=0), AfterValidator(_tenths)] | None
    below_minimum_days_pct: Pct | None
    critical_missed_pct: Pct | None

    @model_validator(mode="after")
    def _consistent(self) -> AuditQualityMeasures:
        if self.sites > self.audits:
            raise ValueError("sites exceeds audits")
        values = [getattr(self, name) for name in (*AUDIT_QUALITY_SHARES, "mean_findings_per_audit")]
        if not _outcomes_shown(*values):
            if self.critical_missed_pct is not None:
                raise ValueError("outcome measures are either all shown or all null")
            return self
        counts = {name: _share_of(getattr(self, name), self.audits) for name in AUDIT_QUALITY_SHARES}
        if counts["unannounced_pct"] + counts["semi_announced_pct"] > self.audits:
            raise ValueError("unannounced and semi-announced audits exceed audits")
        return self


class AuditQualityMessage(_Message):
    """A value on `exchange.aggregates.audit-quality.v1`: a firm is published on purpose, with its name."""

    table: Literal["audit-quality"]
    cell: AuditQualityCell
    measures: AuditQualityMeasures | None


def cell_coordinates(cell: BaseModel) -> dict[str, str]:
    """A message's cell without its labels (`LABELS`): the coordinates that make its key."""
    return {k: v for k, v in cell.model_dump().items() if k not in LABELS}


# --- capacity-building --------------------------------------------------------------------------------


class CapacityBuildingCell(_Model):
    """`period x country x topic` (topic = issue code); `ALL` on country is the margin."""

    period: Period
    country: CountryCoord
    topic: IssueCoord


class CapacityBuildingMeasures(_Model):
    """aggregates.md, `capacity-building`. Both populations (P) are about the sites trained in the
    period; the two rates are about *other* populations (the country's sites audited in the next
    period, trained on the topic or not), so each is null on its own: no all-or-none rule here."""

    sites_trained: Annotated[int, Field(ge=1, description="Population (P).")]
    participants: Annotated[int, Field(ge=0, description="Population (P).")]
    issue_rate_trained_pct: Pct | None
    issue_rate_untrained_pct: Pct | None


class CapacityBuildingMessage(_Message):
    """A value on `exchange.aggregates.capacity-building.v1`."""

    table: Literal["capacity-building"]
    cell: CapacityBuildingCell
    measures: CapacityBuildingMeasures | None


AnyMessage = (
    IssuePrevalenceMessage
    | ForcedLabourMessage
    | LabourRelationsMessage
    | AuditQualityMessage
    | RemediationMessage
    | CapacityBuildingMessage
)
AggregateMessage = Annotated[AnyMessage, Discriminator("table")]
AGGREGATE_MESSAGE: Final[TypeAdapter[AnyMessage]] = TypeAdapter(AggregateMessage)
MESSAGE_OF: Final[dict[str, type[AnyMessage]]] = {
    ISSUE_PREVALENCE: IssuePrevalenceMessage,
    FORCED_LABOUR: ForcedLabourMessage,
    LABOUR_RELATIONS: LabourRelationsMessage,
    AUDIT_QUALITY: AuditQualityMessage,
    REMEDIATION: RemediationMessage,
    CAPACITY_BUILDING: CapacityBuildingMessage,
}
assert tuple(MESSAGE_OF) == TABLES


# --- forecasts ----------------------------------------------------------------------------------------

FORECASTS_TOPIC: Final = "exchange.aggregates.forecasts.v1"
"""Public, compacted: next-period forecasts of issue-prevalence `rate_pct` (`ForecastMessage`), computed
from the published messages alone (docs/aggregate.md, "Forecasts"). Not one of `TABLES`: it holds no
cell of a release, only what a subscriber could compute from them."""

ForecastMethod = Literal["AutoETS"]
"""statsforecast's model the forecast came from (services.aggregate.forecast.model)."""


class ForecastMessage(_Model):
    """A value on `exchange.aggregates.forecasts.v1`: the next-period forecast of one issue-prevalence
    cell's `rate_pct`, with its 80 % prediction interval, computed only from `rate_pct` values the
    exchange has already published for the cell's country, sector and issue.

    Key: the forecast cell's coordinates (`period` is the target period), compact JSON, sorted keys, as
    the table's own key. `cell.period` is the period after `last_period`, the latest period of the
    table's published view; `periods_used` is how many consecutive published periods, ending at
    `last_period`, the model saw. Shares are percentages rounded half up to one decimal, clamped to
    [0, 100], with `lower_80 <= rate_pct <= upper_80`. A forecast is re-sent (`revision` + 1) only when
    the published values it used changed."""

    table: Literal["issue-prevalence"]
    schema_version: SchemaVersion
    release_id: ReleaseTime = Field(description="The scheduled release time of the release it was sent in.")
    released_at: ReleaseTime
    revision: Revision
    cell: IssuePrevalenceCell
    rate_pct: Pct = Field(description="Point forecast of the cell's rate_pct.")
    lower_80: Pct
    upper_80: Pct
    periods_used: Annotated[int, Field(ge=1)]
    last_period: Period
    method: ForecastMethod

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.lower_80 <= self.rate_pct <= self.upper_80:
            raise ValueError("lower_80 <= rate_pct <= upper_80")
        if ("Q" in self.last_period) != ("Q" in self.cell.period) or self.last_period >= self.cell.period:
            raise ValueError("the forecast's period follows last_period, at the same granularity")
        return self


FORECAST_MESSAGE: Final = TypeAdapter(ForecastMessage)


def dump_message(message: AnyMessage) -> bytes:
    """The value bytes: compact JSON, fields in declaration order. Equal content, equal bytes."""
    return message.model_dump_json().encode()


def parse_message(value: bytes | str) -> AnyMessage:
    return AGGREGATE_MESSAGE.validate_json(value)


# --- internal release state ---------------------------------------------------------------------------


REAL_SITE_SEPARATOR: Final = "+"
"""Joins the sorted platform-site pseudonyms of one real site into its key in `contributions`."""


class ReleaseStateRecord(_Model):
    """INTERNAL STATE, never published: a value on the compacted topic `exchange.aggregate.releases.v1`.

    Key: `{"cell":{<sorted coordinates>},"table":"<table>"}` (compact JSON, sorted keys; see
    `services.aggregate.release.state_key`). Value: the cell's last release exactly as it was sent
    (`message`: revision, status, measures, release_id, released_at) and, for each real site that
    formed its population then, what it contributed to the cell (`contributions`: for an issue cell the
    site's highest severity on the issue or "", for a forced-labour cell its sorted indicators joined
    by ","). The published message must not carry these, but the revision rule (`k_delta`) counts the
    sites whose contribution differs since the cell's last release. Keeping the whole message lets a
    restarted service re-send a release byte for byte. The topic is read only by the aggregate service.

    Version 3 (disclosure rules revision 2) keys `contributions` by the *real site*: the sorted
    pseudonyms of the platform sites that formed the resolved site, joined by `+`. A resolved site
    whose id changes (it gains an OS id, its address is edited) keeps its key, so the revision rule
    does not count it twice; a merge or split is matched through the platform sites it shares.

    Versions 1 and 2 keyed contributions by resolved-site pseudonyms, which the revision rule can no
    longer compare with real sites. They are read as `legacy`: the cell may still be tightened, but
    never changed again on the strength of a count the record cannot support.

    Version 4 may be split in `parts`: a period's margin holds every site audited in the period, so at
    a year of both platforms its contributions alone outgrow the topic's largest message
    (`MAX_MESSAGE_BYTES`), and the broker would refuse the release for ever. This record then holds the
    first slice of `contributions`, `shown_contributions` and `population_contributions` (in site
    order), and parts 1 ... parts - 1 (`ReleaseStatePartRecord`, key
    `{"cell":{...},"part":<i>,"table":"<table>"}`) the following ones, all written in the release's
    transaction.
    """

    schema_version: Annotated[Literal[1, 2, 3, 4], BeforeValidator(strict_int)]
    message: AggregateMessage
    parts: Annotated[int, Field(ge=1)] = 1
    contributions: dict[Annotated[str, Field(min_length=1)], str | None]
    # Version 3: when `message` does not show outcomes but an earlier release of the cell did, what
    # each real site contributed then. A subscriber still holds those outcome values, so what the
    # exchange must protect about the cell now is the change since then.
    shown_contributions: dict[Annotated[str, Field(min_length=1)], str] | None = None
    # When `message` is suppressed but an earlier release of the cell showed its population, what each
    # real site contributed to the last such release. A subscriber still holds that population, so a
    # population shown again must differ from it only by a change the revision rule lets through.
    population_contributions: dict[Annotated[str, Field(min_length=1)], str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_version_1(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("schema_version") == 1 and "site_ids" in data:
            rest = {k: v for k, v in data.items() if k != "site_ids"}
            site_ids = data["site_ids"]
            if not isinstance(site_ids, list) or len(set(site_ids)) != len(site_ids):
                raise ValueError("site_ids must be a list without duplicates")
            return {**rest, "contributions": dict.fromkeys(site_ids)}
        return data

    @field_validator("contributions", "shown_contributions", "population_contributions")
    @classmethod
    def _sorted(cls, values: dict[str, Any] | None) -> dict[str, Any] | None:
        if values is not None and any(a >= b for a, b in pairwise(values)):
            raise ValueError("contributions must be keyed by site in sorted order")
        return values

    @property
    def legacy(self) -> bool:
        """Written before real sites were kept (versions 1 and 2)."""
        return self.schema_version < 3


class ReleaseStatePartRecord(_Model):
    """INTERNAL STATE, never published: part `part` (1 ... parts - 1) of a cell's release-state record
    (`ReleaseStateRecord`, version 4), on `exchange.aggregate.releases.v1`.

    Key: `{"cell":{<sorted coordinates>},"part":<part>,"table":"<table>"}`. It continues the record's
    `contributions`, `shown_contributions` and `population_contributions` in site order; any slice may be
    empty (an empty `population_contributions` is left out).
    """

    schema_version: Annotated[Literal[1], BeforeValidator(strict_int)]
    table: Annotated[str, Field(min_length=1)]
    cell: dict[Annotated[str, Field(min_length=1)], Annotated[str, Field(min_length=1)]]
    part: Annotated[int, Field(ge=1)]
    contributions: dict[Annotated[str, Field(min_length=1)], str | None]
    shown_contributions: dict[Annotated[str, Field(min_length=1)], str] = Field(default_factory=dict)
    population_contributions: dict[Annotated[str, Field(min_length=1)], str] = Field(default_factory=dict)

    @field_validator("contributions", "shown_contributions", "population_contributions")
    @classmethod
    def _sorted(cls, values: dict[str, Any]) -> dict[str, Any]:
        if any(a >= b for a, b in pairwise(values)):
            raise ValueError("contributions must be keyed by site in sorted order")
        return values


class SiteMemberRef(_Model):
    """One member reference seen on a platform site (pseudonyms)."""

    member_id: Annotated[str, Field(min_length=1)]
    lei_id: Annotated[str, Field(min_length=1)] | None = None


class SiteAffiliationRecord(_Model):
    """INTERNAL STATE, never published: who stood behind one platform site in any release so far.

    Key: `{"site":"<platform site pseudonym>"}` on `exchange.aggregate.releases.v1`. The revision rule
    applies the insider rule to the set of sites that changed, and the view's residual rule to
    populations held at old values; both need the owners and members of sites that have since left
    (removed, consent withdrawn), which normalize's state no longer holds. Written in the release
    transaction whenever a release saw the site with someone new; the sets only grow, because counting
    a past owner or member as still linked only makes the insider rule stricter.
    """

    schema_version: Annotated[Literal[1], BeforeValidator(strict_int)]
    platform_site_id: Annotated[str, Field(min_length=1)]
    principal_owner_id: Annotated[str, Field(min_length=1)]
    supplier_ids: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    members: list[SiteMemberRef]

    @field_validator("supplier_ids")
    @classmethod
    def _suppliers_sorted(cls, values: list[str]) -> list[str]:
        if any(a >= b for a, b in pairwise(values)):
            raise ValueError("supplier_ids must be sorted and without duplicates")
        return values

    @field_validator("members")
    @classmethod
    def _members_sorted(cls, values: list[SiteMemberRef]) -> list[SiteMemberRef]:
        keys = [(m.member_id, m.lei_id or "") for m in values]
        if any(a >= b for a, b in pairwise(keys)):
            raise ValueError("members must be sorted and without duplicates")
        return values


class ReleaseMarker(_Model):
    """INTERNAL STATE: the last release whose transaction committed (key `__last_release__` on
    `exchange.aggregate.releases.v1`); a restarted or newly leading instance resumes the schedule after it."""

    release_id: ReleaseTime


class NoisyCell(_Model):
    """One cell of a stored draw: its coordinates, a digest of what each real site contributed to it
    when the draw was made, and its post-processed base counts."""

    cell: dict[Annotated[str, Field(min_length=1)], Annotated[str, Field(min_length=1)]]
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    counts: dict[Annotated[str, Field(min_length=1)], Annotated[int, Field(ge=0)]]


class NoiseDrawRecord(_Model):
    """INTERNAL STATE, never published: the differential-privacy mode's last draw of one table's period
    and the budget it has spent (aggregates.md, "Differential-privacy mode").

    Key: `{"noise":{"period":"<period>","table":"<table>"}}` on `exchange.aggregate.releases.v1`.
    Written in a transaction of its own *before* the release that publishes from it, so a release that
    aborts and is tried again publishes the same values: noisy values are stored and never redrawn, and
    a replay or a restart spends no budget. `draws` and `rho_spent` count every draw of the table's
    period so far (zCDP composes by addition); a cell is published from the draw only while its
    `fingerprint` matches its current contributions.
    """

    schema_version: Annotated[Literal[1], BeforeValidator(strict_int)]
    table: Annotated[str, Field(min_length=1)]
    period: Annotated[str, Field(min_length=1)]
    draws: Annotated[int, Field(ge=1)]
    rho_spent: Annotated[float, Field(gt=0)]
    scale: Annotated[float, Field(gt=0)]
    cells: list[NoisyCell]


class ForecastStateRecord(_Model):
    """INTERNAL STATE, never published: the last forecast sent for one forecast cell and the published
    values it was computed from.

    Key: `{"forecast":{<forecast cell's sorted coordinates>}}` on `exchange.aggregate.releases.v1`. The
    forecast is sent again only when the published `rate_pct` values it would use (`inputs`, oldest
    first, ending at `message.last_period`) differ from these, so a replay or a restart sends the same
    bytes and an unchanged view sends nothing; a release that is recorded but not published re-sends
    `message` byte for byte."""

    schema_version: Annotated[Literal[1], BeforeValidator(strict_int)]
    message: ForecastMessage
    inputs: list[Pct] = Field(min_length=1)

    @model_validator(mode="after")
    def _used(self) -> Self:
        if len(self.inputs) != self.message.periods_used:
            raise ValueError("inputs must hold the message's periods_used values")
        return self


RELEASE_STATE: Final = TypeAdapter(ReleaseStateRecord)
RELEASE_STATE_PART: Final = TypeAdapter(ReleaseStatePartRecord)
NOISE_DRAW: Final = TypeAdapter(NoiseDrawRecord)
SITE_AFFILIATION: Final = TypeAdapter(SiteAffiliationRecord)
FORECAST_STATE: Final = TypeAdapter(ForecastStateRecord)
