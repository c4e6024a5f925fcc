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
from typing import Annotated, Any, ClassVar, Final, Literal, Protocol, cast, runtime_checkable

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


@dataclass(frozen=True, eq=False)  # hashed by identity: a core schema is a dict
class FromJson:
    """Annotated marker: in JSON mode (`validate_json`, ingest's fast path) the value is validated by
    `schema`, all inside pydantic-core; in python mode (the union guard's path, which names a refusal
    the way the contract does) by the annotations before the marker, as before.

    Why: those annotations are python functions, and each field that has one calls back into the
    interpreter from pydantic-core; on the simulator's feed they were a third of ingest's validation.
    `schema` must accept exactly what the python path accepts for the same JSON value: the
    platform-model tests check both paths on the feed, and on generated text near each format
    (`test_from_json`). Only acceptance must agree: a refusal is read again on the python path, whose
    errors are the ones reported. The JSON Schema is the python path's."""

    schema: CoreSchema

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.json_or_python_schema(json_schema=self.schema, python_schema=handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(python_branch(schema))


def python_branch(schema: CoreSchema) -> CoreSchema:
    """`schema` with its JSON-or-python step replaced by the python branch: what the JSON Schema is
    generated from. (pydantic generates it from the JSON branch, here a pattern or a literal the
    python branch states more plainly: a format, an enum, a pattern and a check.)"""
    if schema["type"] == "json-or-python":
        return cast(CoreSchema, schema["python_schema"])
    inner = schema.get("schema")
    if isinstance(inner, dict):
        return cast(CoreSchema, {**schema, "schema": python_branch(cast(CoreSchema, inner))})
    return schema


def one_of_pattern(codes: Iterable[str], template: str = "{}") -> str:
    """A regular expression matching exactly `template` with one of `codes` (plain letters and digits)."""
    alternatives = "|".join(sorted(codes))
    assert re.fullmatch(r"[A-Za-z0-9|]*", alternatives), "codes are letters and digits"
    return "^" + template.format(f"(?:{alternatives})") + "$"


JSON_PARSING: Final = ConfigDict(cache_strings="keys")
"""The JSON-mode adapters' parsing: only keys go through pydantic-core's string cache. The values are
mostly ids met once (event ids, references), which the cache would hash and store for nothing: 7 % of
validating the feed's events (7.8 against 8.4 µs an event)."""


def from_json_adapter(union: Any) -> TypeAdapter[Any]:
    """A platform's union of events without its guard (`event_union_guard`), so that pydantic-core
    validates it from the bytes in JSON mode: the guard's wrap validator hands the members python
    objects, which cost ingest a sixth of its validation, and in JSON mode the fields marked `FromJson`
    are validated inside pydantic-core too. It accepts exactly what the guarded adapter accepts (the
    platform model tests, `test_from_json`, and `test_admit`'s comparison on the feed), but its errors
    are not reported as the wire reads them: a refusal is read again through the guarded adapter, which
    validates its members through this one in python mode."""
    return TypeAdapter(union, config=JSON_PARSING)


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
    int,
    AfterValidator(_epoch_ms),
    FromJson(core_schema.int_schema(ge=0, le=MAX_EPOCH_MS, strict=True)),
    Field(json_schema_extra={"minimum": 0, "maximum": MAX_EPOCH_MS}),
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


# In JSON mode, the same text checks inside pydantic-core: the pattern (ASCII digits only; Python's \d
# also matches other scripts' digits, which the parse then refuses), then the lax parse of the text,
# which for text of that form is the strict parse `validate_strings` makes (a chain hands the second
# step a python str, which a strict date refuses).
_JSON_DATE: Final = core_schema.chain_schema(
    [
        core_schema.str_schema(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", strict=True),
        core_schema.date_schema(strict=False),
    ]
)
_JSON_DATETIME: Final = core_schema.chain_schema(
    [
        core_schema.str_schema(
            pattern=(
                r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
                r"(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?$"
            ),
            strict=True,
        ),
        core_schema.datetime_schema(strict=False),
    ]
)
IsoDate = Annotated[date, BeforeValidator(_iso_date_text), FromJson(_JSON_DATE)]
UtcDateTime = Annotated[
    datetime, BeforeValidator(_rfc3339_text), FromJson(_JSON_DATETIME), AfterValidator(_aware_utc)
]

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
        # In JSON mode a literal of the table's keys, inside pydantic-core (see `FromJson`).
        return core_schema.json_or_python_schema(
            json_schema=core_schema.literal_schema(sorted(self.table)),
            python_schema=core_schema.no_info_after_validator_function(self._check, handler(source)),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(python_branch(schema))
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
Alpha2Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_alpha2),
    FromJson(core_schema.str_schema(pattern=one_of_pattern(_ALPHA2), strict=True)),
]
NumericCountry = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{3}$"),
    AfterValidator(_numeric),
    FromJson(core_schema.str_schema(pattern=one_of_pattern(_ALPHA2_OF_NUMERIC), strict=True)),
]


def numeric_country_pattern(template: str) -> str:
    """A pattern for `template` whose `{}` is an ISO 3166-1 numeric country code: `country_prefix`
    inside pydantic-core."""
    return one_of_pattern(_ALPHA2_OF_NUMERIC, template)


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
    tag: str, version_key: str, known_version: int | str, members: TypeAdapter[Any]
) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """Wrap validator for a platform's tagged union of events.

    It makes the union's errors read like the wire format: an unknown schema version is reported
    before anything else (a newer version may well have new event types), the member's tag is dropped
    from every loc (``payload.findings.1.clause``, not ``AuditPublished.payload...``), and an unknown
    or missing tag is reported at the tag field.

    The guard validates the members itself, in python strict mode, through `members` (the union
    without the guard), not through the handler it is given. A wrap validator receives python objects
    either way, which is why dates and times are parsed from text by IsoDate / UtcDateTime themselves;
    but the handler keeps the caller's mode, and in JSON mode `FromJson` would pick its JSON branch,
    whose errors are pydantic-core's, not the contract's. In python mode the errors are the ones
    reported to the platforms, whichever way the guarded adapter was called.
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
            return members.validate_python(value)
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
