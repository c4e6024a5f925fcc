"""Admission at its boundaries and the reasons it gives (platform-events.md "What ingest must reject";
docs/ingest.md: the dead-letter reason names the field, e.g. `payload.findings[1].clause`).

* A message *larger* than 1 MiB is rejected: exactly 1 MiB is not too large.
* A key that does not match the event's site or company reference is rejected, and the reason names
  the envelope field the key must equal, per platform and event type.
* An invalid nested field is named by its path through the message, list indices included.
* Mistyped values are `wrong_type`, unparsable dates `bad_date`, whatever pydantic calls them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.ingest.admit import AMFORI, MAX_PLATFORM_MESSAGE_BYTES, SEDEX, Admitted, admit, classify_error
from services.ingest.reasons import ReasonClass, Rejection
from tests.fixtures.examples import amfori_monitoring, encode, sedex_audit

SEDEX_KEY = b"ZS1098453"
AMFORI_KEY = b"050-0012345-001"


def padded(event: dict[str, Any], size: int) -> bytes:
    """The event as JSON, padded with trailing whitespace (still the same JSON) to `size` bytes."""
    value = encode(event)
    assert len(value) <= size
    return value + b" " * (size - len(value))


def test_a_message_of_exactly_one_mebibyte_is_not_too_large() -> None:
    assert MAX_PLATFORM_MESSAGE_BYTES == 1024 * 1024
    at_limit = admit(SEDEX, SEDEX_KEY, padded(sedex_audit(), 1024 * 1024))
    assert isinstance(at_limit, Admitted), at_limit
    over = admit(SEDEX, SEDEX_KEY, padded(sedex_audit(), 1024 * 1024 + 1))
    assert isinstance(over, Rejection) and over.reason_class is ReasonClass.TOO_LARGE


def sedex_consent() -> dict[str, Any]:
    event = sedex_audit()
    event.pop("siteRef")
    event.update(eventType="ConsentChanged", payload={"scope": "AGGREGATE_EXCHANGE", "granted": True})
    return event


def amfori_consent() -> dict[str, Any]:
    event = amfori_monitoring()
    event.pop("siteAmforiId")
    event.update(type="consent.updated", data={"purpose": "aggregate-exchange", "status": "REVOKED"})
    return event


@pytest.mark.parametrize(
    ("fmt", "event", "right_key", "field"),
    [
        (SEDEX, sedex_audit(), SEDEX_KEY, "siteRef"),
        (SEDEX, sedex_consent(), b"ZC1043921", "companyRef"),
        (AMFORI, amfori_monitoring(), AMFORI_KEY, "siteAmforiId"),
        (AMFORI, amfori_consent(), b"050-0012345", "legalEntityAmforiId"),
    ],
    ids=["sedex site", "sedex consent", "amfori site", "amfori consent"],
)
def test_a_key_mismatch_names_the_field_the_key_must_equal(
    fmt: Any, event: dict[str, Any], right_key: bytes, field: str
) -> None:
    assert isinstance(admit(fmt, right_key, encode(event)), Admitted)
    wrong = admit(fmt, b"someone-else", encode(event))
    assert isinstance(wrong, Rejection) and wrong.reason_class is ReasonClass.KEY_MISMATCH
    assert wrong.reason == f"key does not match the event's {field}"
    assert admit(fmt, b"\xff", encode(event)) == Rejection(ReasonClass.KEY_MISMATCH, "key is not UTF-8")


def amfori_nested(path: tuple[str | int, ...], value: object) -> Rejection:
    event = amfori_monitoring()
    node: Any = event
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    outcome = admit(AMFORI, AMFORI_KEY, encode(event))
    assert isinstance(outcome, Rejection), outcome
    return outcome


@pytest.mark.parametrize(
    ("path", "value", "reason_class", "location"),
    [
        (("data", "performanceAreas", 0, "pa"), 14, ReasonClass.OUT_OF_RANGE, "data.performanceAreas[0].pa"),
        (
            ("data", "performanceAreas", 1, "findings", 0, "indicators"),
            ["TIRED"],
            ReasonClass.UNKNOWN_CODE,
            "data.performanceAreas[1].findings[0]",
        ),
        (("data", "auditDate"), "2026-02-17", ReasonClass.WRONG_TYPE, "data.auditDate"),
    ],
)
def test_an_invalid_nested_field_is_named_by_its_path(
    path: tuple[str | int, ...], value: object, reason_class: ReasonClass, location: str
) -> None:
    rejection = amfori_nested(path, value)
    assert rejection.reason_class is reason_class
    assert rejection.reason.startswith(location), rejection.reason


def test_every_error_is_listed_up_to_five_then_counted() -> None:
    event = sedex_audit()
    for finding in event["payload"]["findings"]:
        finding["severity"] = "Huge"
    event["payload"]["findings"] = event["payload"]["findings"] * 4
    outcome = admit(SEDEX, SEDEX_KEY, encode(event))
    assert isinstance(outcome, Rejection) and outcome.reason_class is ReasonClass.UNKNOWN_ENUM
    errors = len(event["payload"]["findings"])
    assert errors > 5
    assert outcome.reason.count("payload.findings[") == 5
    assert outcome.reason.endswith(f"; and {errors - 5} more")


@pytest.mark.parametrize(
    ("error_type", "reason_class"),
    [
        ("int_parsing", ReasonClass.WRONG_TYPE),
        ("float_parsing", ReasonClass.WRONG_TYPE),
        ("int_from_float", ReasonClass.WRONG_TYPE),
        ("string_type", ReasonClass.WRONG_TYPE),
        ("date_from_datetime_parsing", ReasonClass.BAD_DATE),
        ("datetime_parsing", ReasonClass.BAD_DATE),
        ("time_parsing", ReasonClass.BAD_DATE),
        ("missing", ReasonClass.MISSING_FIELD),
        ("extra_forbidden", ReasonClass.UNEXPECTED_FIELD),
        ("value_error", ReasonClass.INVALID),
        ("uuid_parsing", ReasonClass.BAD_PATTERN),
    ],
)
def test_pydantic_error_types_map_to_the_contracts_reason_classes(
    error_type: str, reason_class: ReasonClass
) -> None:
    assert classify_error(error_type) is reason_class


def test_a_number_where_a_whole_number_is_due_is_a_wrong_type() -> None:
    event = sedex_audit()
    event["payload"]["workersInterviewed"] = 18.5
    outcome = admit(SEDEX, SEDEX_KEY, json.dumps(event).encode())
    assert isinstance(outcome, Rejection)
    assert outcome.reason_class is ReasonClass.WRONG_TYPE
    assert outcome.reason.startswith("payload.workersInterviewed")


def test_a_hostile_event_type_is_quoted_to_64_characters_only() -> None:
    """docs/reliability.md: a reason never carries more than a short excerpt of the message."""
    event = sedex_audit()
    event["eventType"] = "A" * 64 + "B" * 200
    outcome = admit(SEDEX, SEDEX_KEY, encode(event))
    assert isinstance(outcome, Rejection) and outcome.reason_class is ReasonClass.UNKNOWN_EVENT_TYPE
    assert outcome.reason == f"eventType: {'A' * 64!r} is not a sedex event type"


def test_a_mistyped_schema_version_names_the_type_due_and_the_value_given() -> None:
    event = amfori_monitoring()
    event["specVersion"] = 1  # amfori's is the string "1"
    outcome = admit(AMFORI, AMFORI_KEY, encode(event))
    assert isinstance(outcome, Rejection) and outcome.reason_class is ReasonClass.WRONG_TYPE
    assert outcome.reason.startswith("specVersion: must be a str, got 1"), outcome.reason


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"eventId": ', "Expecting value"),
    ],
)
def test_a_value_that_is_not_json_to_read_says_so_and_why(value: bytes, why: str) -> None:
    """docs/ingest.md: a `not_json` reason says the value is not JSON (the format's name as the
    contract writes it), then why."""
    outcome = admit(SEDEX, SEDEX_KEY, value)
    assert isinstance(outcome, Rejection) and outcome.reason_class is ReasonClass.NOT_JSON
    assert outcome.reason.startswith("value is not JSON"), outcome.reason
    assert why in outcome.reason, outcome.reason
