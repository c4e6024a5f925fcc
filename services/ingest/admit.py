"""Decide, from the bytes alone, whether a platform message enters the exchange.

Cheap structural checks run before pydantic so that the commonest failures (not JSON, a newer
schema version, an event type we do not know) get a reason that names exactly that, instead of
whatever a discriminated-union error would say.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from schemas.platform import (
    AMFORI_EVENT,
    AMFORI_EVENT_FROM_JSON,
    AMFORI_EVENT_TYPES,
    SEDEX_EVENT,
    SEDEX_EVENT_FROM_JSON,
    SEDEX_EVENT_TYPES,
)
from schemas.platform.common import ChangeEvent, show

from .reasons import ReasonClass, Rejection

# platform-events.md: a message larger than 1 MiB is rejected (the topics accept up to 2 MiB, so it
# still reaches ingest and its dead-letter topic: schemas.topics.MAX_MESSAGE_BYTES).
MAX_PLATFORM_MESSAGE_BYTES: Final = 1024 * 1024
_MAX_ERRORS_IN_REASON: Final = 5


@dataclass(frozen=True)
class PlatformFormat:
    """What differs between the two platforms' envelopes, as far as admission cares."""

    platform: str
    adapter: TypeAdapter[Any]  # errors read as the wire format: a refusal's reasons
    from_json: TypeAdapter[Any]  # the same acceptance, validated from the bytes in JSON mode: the fast path
    event_types: frozenset[str]
    version_field: str
    type_field: str
    known_version: object  # 1 for Sedex (int), "1" for amfori (str)


SEDEX: Final = PlatformFormat(
    "sedex", SEDEX_EVENT, SEDEX_EVENT_FROM_JSON, SEDEX_EVENT_TYPES, "schemaVersion", "eventType", 1
)
AMFORI: Final = PlatformFormat(
    "amfori", AMFORI_EVENT, AMFORI_EVENT_FROM_JSON, AMFORI_EVENT_TYPES, "specVersion", "type", "1"
)


@dataclass(slots=True)
class Admitted:
    """Not frozen: one is made per event, and a frozen dataclass's `__init__` costs four times as much."""

    platform: str
    event: ChangeEvent


_ERROR_CLASSES: Final[dict[str, ReasonClass]] = {
    "missing": ReasonClass.MISSING_FIELD,
    "unexpected_field": ReasonClass.UNEXPECTED_FIELD,
    "extra_forbidden": ReasonClass.UNEXPECTED_FIELD,
    "string_pattern_mismatch": ReasonClass.BAD_PATTERN,
    "string_too_short": ReasonClass.BAD_PATTERN,
    "string_too_long": ReasonClass.BAD_PATTERN,
    "uuid_parsing": ReasonClass.BAD_PATTERN,
    "uuid_version": ReasonClass.BAD_PATTERN,
    "literal_error": ReasonClass.UNKNOWN_ENUM,
    "enum": ReasonClass.UNKNOWN_ENUM,
    "union_tag_invalid": ReasonClass.UNKNOWN_EVENT_TYPE,
    "union_tag_not_found": ReasonClass.MISSING_FIELD,
    "unknown_code": ReasonClass.UNKNOWN_CODE,
    "unsupported_version": ReasonClass.UNKNOWN_SCHEMA_VERSION,
    "bad_date": ReasonClass.BAD_DATE,
    "timezone_aware": ReasonClass.BAD_DATE,
    "out_of_range": ReasonClass.OUT_OF_RANGE,
    "greater_than": ReasonClass.OUT_OF_RANGE,
    "greater_than_equal": ReasonClass.OUT_OF_RANGE,
    "less_than": ReasonClass.OUT_OF_RANGE,
    "less_than_equal": ReasonClass.OUT_OF_RANGE,
    "finite_number": ReasonClass.OUT_OF_RANGE,
    "too_short": ReasonClass.OUT_OF_RANGE,
    "too_long": ReasonClass.OUT_OF_RANGE,
}


def classify_error(error_type: str) -> ReasonClass:
    if error_type in _ERROR_CLASSES:
        return _ERROR_CLASSES[error_type]
    if error_type.startswith(("date_", "datetime_", "time_")) or (
        error_type.endswith("_parsing") and ("date" in error_type)
    ):
        return ReasonClass.BAD_DATE
    if error_type.endswith("_type") or error_type in {"int_from_float", "int_parsing", "float_parsing"}:
        return ReasonClass.WRONG_TYPE
    return ReasonClass.INVALID


def format_location(loc: tuple[int | str, ...], tag: str | None) -> str:
    """`('AuditPublished', 'payload', 'findings', 1, 'clause')` -> `payload.findings[1].clause`."""
    parts = list(loc)
    if parts and tag is not None and parts[0] == tag:
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(event)"


def _describe(error: ErrorDetails, tag: str | None) -> str:
    # The message, never the input: pydantic's `input` may be a name or an address.
    return f"{format_location(error['loc'], tag)}: {error['msg']}"


def _reject_validation(exc: ValidationError, tag: str | None) -> Rejection:
    errors = exc.errors(include_url=False, include_input=False)
    text = "; ".join(_describe(e, tag) for e in errors[:_MAX_ERRORS_IN_REASON])
    if len(errors) > _MAX_ERRORS_IN_REASON:
        text += f"; and {len(errors) - _MAX_ERRORS_IN_REASON} more"
    return Rejection(classify_error(errors[0]["type"]), text)


def _check_version(fmt: PlatformFormat, obj: dict[str, Any]) -> Rejection | None:
    field = fmt.version_field
    if field not in obj:
        return Rejection(ReasonClass.MISSING_FIELD, f"{field}: Field required")
    value = obj[field]
    expected_type = type(fmt.known_version)
    if type(value) is not expected_type:  # `type is`: a JSON true must not pass as the int 1
        return Rejection(
            ReasonClass.WRONG_TYPE, f"{field}: must be a {expected_type.__name__}, got {show(value)}"
        )
    if value != fmt.known_version:
        return Rejection(
            ReasonClass.UNKNOWN_SCHEMA_VERSION,
            f"{field}: {show(value)} is not a schema version this exchange knows (it knows "
            f"{fmt.known_version!r})",
        )
    return None


def _check_event_type(fmt: PlatformFormat, obj: dict[str, Any]) -> Rejection | None:
    field = fmt.type_field
    if field not in obj:
        return Rejection(ReasonClass.MISSING_FIELD, f"{field}: Field required")
    value = obj[field]
    if not isinstance(value, str):
        return Rejection(ReasonClass.WRONG_TYPE, f"{field}: must be a string")
    if value not in fmt.event_types:
        return Rejection(
            ReasonClass.UNKNOWN_EVENT_TYPE,
            f"{field}: {value[:64]!r} is not a {fmt.platform} event type",
        )
    return None


def admit(fmt: PlatformFormat, key: bytes | None, value: bytes | None) -> Admitted | Rejection:
    """Accept a message as a typed platform event, or say why not.

    Parsed once: the platform model validates the bytes (`validate_json`, in JSON mode: `from_json`).
    Only a message it refuses is read again, by `_refusal`, whose structural checks name the problem
    the way the contract does. The models are strict, so whatever they accept passes those checks too
    (`test_admit` compares both paths on the feed, every rejection class and hostile input)."""
    if value is None:
        return Rejection(ReasonClass.NOT_JSON, "message has no value")
    if len(value) > MAX_PLATFORM_MESSAGE_BYTES:
        return Rejection(
            ReasonClass.TOO_LARGE, f"value is {len(value)} bytes; the limit is {MAX_PLATFORM_MESSAGE_BYTES}"
        )
    try:
        # pydantic's JSON parser refuses bytes that are not UTF-8 (overlong forms and surrogates
        # included), so the fast path needs no decode of its own; `_refusal` names that reason.
        event: ChangeEvent = fmt.from_json.validate_json(value)
    except (ValueError, RecursionError):  # ValidationError is a ValueError
        return _refusal(fmt, key, value)
    return _key_check(fmt, event, key)


def _refusal(fmt: PlatformFormat, key: bytes | None, value: bytes) -> Admitted | Rejection:
    """Why the platform model refused `value`, the checks in the contract's order. (Returns `Admitted`
    only if the model accepts it after all, which the fast path rules out.)"""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(ReasonClass.NOT_UTF8, f"value is not UTF-8 (byte {exc.start})")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection(
            ReasonClass.NOT_JSON, f"value is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    except RecursionError:
        return Rejection(ReasonClass.NOT_JSON, "value is not JSON this exchange can read: nested too deeply")
    except ValueError:
        # Valid JSON, but an integer longer than Python will convert (sys.get_int_max_str_digits, 4,300
        # digits by default, a guard against quadratic-time parsing). No field of either format holds
        # such a number, so it is out of range whatever field it is in.
        return Rejection(
            ReasonClass.OUT_OF_RANGE, "value holds an integer too long to read (over 4,300 digits)"
        )
    if not isinstance(obj, dict):
        return Rejection(ReasonClass.NOT_OBJECT, f"value is a JSON {type(obj).__name__}, not an object")
    rejection = _check_version(fmt, obj) or _check_event_type(fmt, obj)
    if rejection is not None:
        return rejection
    tag = obj[fmt.type_field]
    try:
        event: ChangeEvent = fmt.adapter.validate_json(value)
    except ValidationError as exc:
        return _reject_validation(exc, tag)
    return _key_check(fmt, event, key)


def _key_check(fmt: PlatformFormat, event: ChangeEvent, key: bytes | None) -> Admitted | Rejection:
    expected_key = event.message_key
    if key is None:
        return Rejection(ReasonClass.KEY_MISMATCH, "message has no key")
    try:
        key_text = key.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection(ReasonClass.KEY_MISMATCH, "key is not UTF-8")
    if key_text != expected_key:
        field = _key_field(fmt, event.event_type)
        return Rejection(ReasonClass.KEY_MISMATCH, f"key does not match the event's {field}")
    return Admitted(fmt.platform, event)


def _key_field(fmt: PlatformFormat, event_type: str) -> str:
    if fmt is SEDEX:
        return "companyRef" if event_type == "ConsentChanged" else "siteRef"
    return "legalEntityAmforiId" if event_type == "consent.updated" else "siteAmforiId"
