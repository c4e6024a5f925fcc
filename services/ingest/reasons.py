"""Why a message was dead-lettered, in two forms.

The reason *class* is a small closed set: it is the only thing that goes into metric labels and log lines,
because a reason's text may quote the message (an identifier, a clause) and logs must carry no raw ids.
The reason *text* is specific and readable, and travels only in the dead-letter message's headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonClass(StrEnum):
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    UNEXPECTED_FIELD = "unexpected_field"
    BAD_PATTERN = "bad_pattern"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    UNKNOWN_ENUM = "unknown_enum"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
    UNKNOWN_CODE = "unknown_code"
    BAD_DATE = "bad_date"
    OUT_OF_RANGE = "out_of_range"
    TOO_LARGE = "too_large"
    KEY_MISMATCH = "key_mismatch"
    INVALID = "invalid"  # a validation failure no other class describes; kept so nothing is unlabelled
    INTERNAL_ERROR = "internal_error"  # ingest itself failed on this message: dead-lettered, never a crash


@dataclass(frozen=True)
class Rejection:
    reason_class: ReasonClass
    reason: str
