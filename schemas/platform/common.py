"""Building blocks shared by the Sedex and amfori event models.

Validation is strict (``"1"`` is not an int, ``1`` is not a string, ``true`` is not ``1``) because a
platform that starts sending a different type has changed its contract, and we would rather
dead-letter than guess. Fields we do not model are ignored and dropped: the models are an allow-list,
so unexpected (possibly confidential) free text never travels past ingest.

Every error carries a pydantic error ``type`` that ingest maps to a dead-letter reason class: the
built-in types where they fit, and otherwise ``unknown_code``, ``out_of_range``, ``missing``,
``unexpected_field``, ``bad_date`` and ``unsupported_version``. Messages may name codes, ids and
numbers, never the content of a confidential field.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Final, Literal, Protocol, runtime_checkable

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, PydanticKnownError, core_schema

EntityKind = Literal["site", "audit", "finding", "company", "training"]


@runtime_checkable
class ChangeEvent(Protocol):
    """What ingest needs from any platform event, whichever platform's field names it has."""

    @property
    def event_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def entity_version(self) -> int: ...
    @property
    def occurred_at_ms(self) -> int: ...
    @property
    def company_ref(self) -> str: ...
    @property
    def site_ref(self) -> str | None: ...
    @property
    def entity_kind(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def message_key(self) -> str: ...


class StrictModel(BaseModel):
    """Strict, immutable, camelCase on the wire; unknown fields are ignored and dropped (see module doc)."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        allow_inf_nan=False,
        alias_generator=to_camel,
    )


class EventBase(StrictModel):
    """Implements the generic part of ChangeEvent; each concrete event says what its entity is."""

    ENTITY_KIND: ClassVar[EntityKind]

    @property
    def entity_kind(self) -> EntityKind:
        return self.ENTITY_KIND

    @property
    @abstractmethod
    def entity_id(self) -> str: ...

    @property
    @abstractmethod
    def message_key(self) -> str: ...


# --- errors -------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


def show(value: object, limit: int = 40) -> str:
    """repr() cut short, so that an odd value cannot flood a dead-letter reason."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(title: str, errors: Iterable[tuple[Loc, str, str, object]]) -> None:
    """Raise (loc, type, message, input) errors at precise locations below the current one.

    A model validator can only raise at its own location; raising a ValidationError instead lets
    pydantic prefix our loc, so ingest reports e.g. ``payload.findings[1].clause``.
    """
    details = [
        InitErrorDetails(type=PydanticCustomError(kind, msg), loc=loc, input=value)
        for loc, kind, msg, value in errors
    ]
    if details:
        raise ValidationError.from_exception_data(title, details)


# --- scalar types -------------------------------------------------------------------------------------


EventId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""Opaque platform reference (audit, finding, monitoring, training...)."""
Confidential = Annotated[str, Field(repr=False)]
"""Free text that may name people or places: kept out of repr() so a logged model cannot leak it."""
OsId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[0-9]{7}[A-Z0-9]{6}$")]
Lei = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{18}[0-9]{2}$")]
MAX_ENTITY_VERSION: Final = 2**31 - 1
EntityVersion = Annotated[int, Field(ge=1, le=MAX_ENTITY_VERSION)]
"""platform-events.md, "Versions": 1 ... 2^31 - 1. Unbounded, one event with a huge version would make
every later real version of its entity stale, freezing the entity for good."""
Count = Annotated[int, Field(ge=0)]
Participants = Annotated[int, Field(ge=1)]
Days = Annotated[float, Field(ge=0)]
Percent = Annotated[float, Field(ge=0, le=100)]


def strict_int(value: Any) -> Any:
    """Put before an int Literal: Literal[1] alone accepts true and 1.0 even in strict mode."""
    if type(value) is not int:
        raise PydanticKnownError("int_type")
    return value


MAX_EPOCH_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _epoch_ms(value: int) -> int:
    if not 0 <= value <= MAX_EPOCH_MS:
        raise PydanticCustomError(
            "out_of_range", "epoch milliseconds {value} is outside 1970-01-01..9999-12-31", {"value": value}
        )
    return value


EpochMs = Annotated[
    int, AfterValidator(_epoch_ms), Field(json_schema_extra={"minimum": 0, "maximum": MAX_EPOCH_MS})
]

_DATE: Final = TypeAdapter(date)
_DATETIME: Final = TypeAdapter(datetime)
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?"
)


def _iso_date_text(value: Any) -> Any:
    # The adapters validate in python mode (see event_union_guard), where a strict date refuses text and
    # a lax one also takes numbers and datetimes; so text is parsed here, as strict JSON would parse it.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticKnownError("date_type")
    if not _DATE_RE.fullmatch(value):
        raise PydanticKnownError("date_parsing", {"error": "expected YYYY-MM-DD"})
    return _DATE.validate_strings(value, strict=True)


def _rfc3339_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticKnownError("datetime_type")
    if not _DATETIME_RE.fullmatch(value):
        raise PydanticKnownError("datetime_parsing", {"error": "expected an RFC 3339 date-time"})
    return _DATETIME.validate_strings(value, strict=True)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "bad_date", "time {value} has no timezone offset", {"value": value.isoformat()}
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "out_of_range",
            "time {value} is outside the representable range in UTC",
            {"value": value.isoformat()},
        ) from None


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
UtcDateTime = Annotated[datetime, BeforeValidator(_rfc3339_text), AfterValidator(_aware_utc)]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(milliseconds=1)


def utc_day(ms: int) -> date:
    """amfori dates are the UTC day of their epoch-ms timestamp."""
    return (_EPOCH + timedelta(milliseconds=ms)).date()


@dataclass(frozen=True)
class Known:
    """Annotated marker: the string must be a key of ``table`` (error unknown_code); the schema lists them."""

    table: Mapping[str, object]
    what: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["enum"] = sorted(self.table)
        return json_schema

    def _check(self, value: str) -> str:
        if value not in self.table:
            raise PydanticCustomError(
                "unknown_code", "{value} is not a known " + self.what, {"value": show(value)}
            )
        return value


# ISO 3166-1 from pycountry, read once: its lookups (case-insensitive, through an index it loads on
# first use) were a tenth of ingest's validation time, and the patterns below already insist on upper
# case and digits, so an exact dictionary lookup gives the same answers.
_ALPHA2: Final[frozenset[str]] = frozenset(str(c.alpha_2) for c in pycountry.countries)
_ALPHA2_OF_NUMERIC: Final[dict[str, str]] = {str(c.numeric): str(c.alpha_2) for c in pycountry.countries}


def _alpha2(value: str) -> str:
    if value not in _ALPHA2:
        raise PydanticCustomError(
            "unknown_code", "{value} is not an ISO 3166-1 alpha-2 country code", {"value": show(value)}
        )
    return value


def numeric_country(code: str) -> str | None:
    """ISO 3166-1 alpha-2 for a 3-digit numeric code, or None when ISO has no such country."""
    return _ALPHA2_OF_NUMERIC.get(code)


def _numeric(value: str) -> str:
    if numeric_country(value) is None:
        raise PydanticCustomError(
            "unknown_code", "{value} is not an ISO 3166-1 numeric country code", {"value": show(value)}
        )
    return value


# pycountry's lookups ignore case, so the pattern comes first and insists on upper case / 3 digits.
Alpha2Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), AfterValidator(_alpha2)]
NumericCountry = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$"), AfterValidator(_numeric)]


def country_prefix(value: str) -> str:
    """amfori ids start with the ISO numeric country code of the legal entity."""
    if numeric_country(value[:3]) is None:
        raise PydanticCustomError(
            "unknown_code",
            "{value} does not start with an ISO 3166-1 numeric country code ({prefix})",
            {"value": value, "prefix": value[:3]},
        )
    return value


def absent(field: str, where: str) -> Any:
    """Before-validator for a field that must not be sent (JSON null counts as absent); it only
    runs if sent."""

    def reject(value: Any) -> None:
        if value is not None:
            raise PydanticCustomError(
                "unexpected_field", "{field} must be absent on " + where, {"field": field}
            )

    return BeforeValidator(reject)


ABSENT_SCHEMA: Final = WithJsonSchema({"not": {}})


# --- the discriminated union wrapper --------------------------------------------------------------------


def event_union_guard(
    tag: str, version_key: str, known_version: int | str
) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """Wrap validator for a platform's tagged union of events.

    It makes the union's errors read like the wire format: an unknown schema version is reported
    before anything else (a newer version may well have new event types), the member's tag is dropped
    from every loc (``payload.findings.1.clause``, not ``AuditPublished.payload...``), and an unknown
    or missing tag is reported at the tag field.

    Note that a wrap validator receives python objects, so the members are validated in python strict
    mode: that is why dates and times are parsed from text by IsoDate / UtcDateTime themselves.
    """

    def guard(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(value, dict):
            raise PydanticKnownError("dict_type")
        version = value.get(version_key)
        if type(version) is type(known_version) and version != known_version:
            fail(
                "event",
                [
                    (
                        (version_key,),
                        "unsupported_version",
                        f"{version_key} {show(version)} is not supported (this exchange reads "
                        f"{known_version!r})",
                        version,
                    )
                ],
            )
        try:
            return handler(value)
        except ValidationError as exc:
            fail(exc.title, [_relocate(err, tag, value.get(tag)) for err in exc.errors()])
            raise

    return guard


def _relocate(err: Any, tag: str, tag_value: object) -> tuple[Loc, str, str, object]:
    loc: Loc = tuple(err["loc"])
    if err["type"] == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        return (
            (tag,),
            "union_tag_invalid",
            f"unknown {tag} {show(tag_value)}; expected one of {expected}",
            tag_value,
        )
    if err["type"] == "union_tag_not_found":
        return (tag,), "missing", "Field required", None
    if loc and loc[0] == tag_value:
        loc = loc[1:]
    return loc, err["type"], err["msg"], err.get("input")
