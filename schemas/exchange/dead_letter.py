"""What the exchange dead-letters, and why.

* Ingest's dead letters are the original message with reason headers; `IngestReasonClass` is the
  closed set of their `dlq_reason_class` (the only part that goes into metric labels and log lines).
* Normalize's are a pointer to the accepted record it could not map (`NormalizeDeadLetter`): not a
  copy, because the accepted envelope holds raw platform data, which never leaves normalize. An
  operator reads the original at `source_topic`/`source_partition`/`source_offset`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IngestReasonClass(StrEnum):
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


class NormalizeDeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    source_topic: str
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)
    reason_class: str = Field(
        description="A small closed set (mapping error codes, invalid_envelope, internal_error)."
    )
    reason: str = Field(description="Names codes and field locations, never a raw identifier or free text.")
