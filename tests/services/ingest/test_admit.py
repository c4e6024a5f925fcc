"""Admission: every rejection class of the contract, with its reason text, from bytes alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.ingest.admit import (
    AMFORI,
    MAX_PLATFORM_MESSAGE_BYTES,
    SEDEX,
    Admitted,
    PlatformFormat,
    _refusal,
    admit,
)
from services.ingest.reasons import ReasonClass, Rejection
from simulator.feed import generate_feed
from tests.fixtures.examples import amfori_monitoring, encode, sedex_audit

SEDEX_KEY = b"ZS1098453"
AMFORI_KEY = b"050-0012345-001"


def rejected(fmt: PlatformFormat, key: bytes | None, value: bytes) -> Rejection:
    outcome = admit(fmt, key, value)
    assert isinstance(outcome, Rejection), outcome
    return outcome


def test_spec_examples_are_admitted() -> None:
    sedex = admit(SEDEX, SEDEX_KEY, encode(sedex_audit()))
    amfori = admit(AMFORI, AMFORI_KEY, encode(amfori_monitoring()))
    assert isinstance(sedex, Admitted) and sedex.event.event_id == "5b0d6c2e-8a51-4f7e-9d43-0d6f1f4f2a10"
    assert isinstance(amfori, Admitted) and amfori.event.entity_id == "MON-88231"
    assert sedex.event.entity_kind == amfori.event.entity_kind == "audit"


def test_bytes_level_rejections() -> None:
    assert rejected(SEDEX, SEDEX_KEY, b"\xff\xfe{}").reason_class is ReasonClass.NOT_UTF8
    assert rejected(SEDEX, SEDEX_KEY, b'{"schemaVersion":1,').reason_class is ReasonClass.NOT_JSON
    assert rejected(AMFORI, AMFORI_KEY, b"[1,2]").reason_class is ReasonClass.NOT_OBJECT
    big = sedex_audit()
    big["payload"]["findings"][0]["description"] = "x" * MAX_PLATFORM_MESSAGE_BYTES
    too_large = rejected(SEDEX, SEDEX_KEY, encode(big))
    assert too_large.reason_class is ReasonClass.TOO_LARGE and "limit is 1048576" in too_large.reason


def _sedex(mutate: Callable[[dict[str, Any]], None], key: bytes = SEDEX_KEY) -> Rejection:
    event = sedex_audit()
    mutate(event)
    return rejected(SEDEX, key, encode(event))


def _amfori(mutate: Callable[[dict[str, Any]], None], key: bytes | None = AMFORI_KEY) -> Rejection:
    event = amfori_monitoring()
    mutate(event)
    return rejected(AMFORI, key, encode(event))


def test_unknown_schema_version_names_the_version() -> None:
    r = _sedex(lambda e: e.update(schemaVersion=2))
    assert r.reason_class is ReasonClass.UNKNOWN_SCHEMA_VERSION and "schemaVersion: 2 " in r.reason
    r = _amfori(lambda e: e.update(specVersion="2"))
    assert r.reason_class is ReasonClass.UNKNOWN_SCHEMA_VERSION and "'2'" in r.reason
    assert _sedex(lambda e: e.update(schemaVersion=True)).reason_class is ReasonClass.WRONG_TYPE


def test_unknown_event_type() -> None:
    r = _sedex(lambda e: e.update(eventType="AuditDeleted"))
    assert r.reason_class is ReasonClass.UNKNOWN_EVENT_TYPE and "'AuditDeleted'" in r.reason
    assert _amfori(lambda e: e.update(type="site.merged")).reason_class is ReasonClass.UNKNOWN_EVENT_TYPE


@pytest.mark.parametrize(
    ("mutate", "reason_class", "location"),
    [
        (lambda e: e["payload"].pop("auditEnd"), ReasonClass.MISSING_FIELD, "payload.auditEnd"),
        (lambda e: e.update(entityVersion="1"), ReasonClass.WRONG_TYPE, "entityVersion"),
        (lambda e: e.update(companyRef="ZX1043921"), ReasonClass.BAD_PATTERN, "companyRef"),
        (
            lambda e: e["payload"].update(announcement="Surprise"),
            ReasonClass.UNKNOWN_ENUM,
            "payload.announcement",
        ),
        (lambda e: e["payload"].update(auditEnd="2026-02-31"), ReasonClass.BAD_DATE, "payload.auditEnd"),
        (
            lambda e: e["payload"].update(workersInterviewed=-1),
            ReasonClass.OUT_OF_RANGE,
            "payload.workersInterviewed",
        ),
        (lambda e: e.update(entityVersion=0), ReasonClass.OUT_OF_RANGE, "entityVersion"),
    ],
)
def test_sedex_field_rejections_name_the_field(
    mutate: Callable[[dict[str, Any]], None], reason_class: ReasonClass, location: str
) -> None:
    r = _sedex(mutate)
    assert r.reason_class is reason_class, r
    assert r.reason.startswith(location), r.reason


def test_clause_unknown_for_the_methodology_version() -> None:
    r = _sedex(lambda e: e["payload"]["findings"][1].update(clause="10B2"))
    assert r.reason_class is ReasonClass.UNKNOWN_CODE
    assert "payload.findings[1]" in r.reason and "'10B2' is not a SMETA 7.0 clause" in r.reason


@pytest.mark.parametrize(
    ("mutate", "reason_class"),
    [
        (lambda e: e["data"]["performanceAreas"][0].update(pa=14), ReasonClass.OUT_OF_RANGE),
        (lambda e: e.update(siteAmforiId="050-0012345"), ReasonClass.BAD_PATTERN),
        (
            lambda e: e["data"]["performanceAreas"][1]["findings"][0].update(indicators=["TIRED"]),
            ReasonClass.UNKNOWN_CODE,
        ),
        (lambda e: e["data"].update(monitoringType="DESK_REVIEW"), ReasonClass.UNKNOWN_ENUM),
        (lambda e: e["data"].update(auditDate="2026-02-17"), ReasonClass.WRONG_TYPE),
    ],
)
def test_amfori_field_rejections(mutate: Callable[[dict[str, Any]], None], reason_class: ReasonClass) -> None:
    assert _amfori(mutate).reason_class is reason_class


def test_key_must_match_the_events_site() -> None:
    r = _sedex(lambda e: None, key=b"ZS0000001")
    assert r.reason_class is ReasonClass.KEY_MISMATCH and "siteRef" in r.reason
    assert _amfori(lambda e: None, key=None).reason_class is ReasonClass.KEY_MISMATCH


def test_reason_text_never_echoes_free_text() -> None:
    def bad_description(e: dict[str, Any]) -> None:
        e["payload"]["findings"][0]["description"] = 42

    r = _sedex(bad_description)
    assert r.reason_class is ReasonClass.WRONG_TYPE
    assert "42" not in r.reason and "sewing" not in r.reason


def test_an_integer_too_long_to_read_is_out_of_range_not_an_internal_error() -> None:
    """Python refuses to convert integers of more than 4,300 digits (a ValueError, not a JSON error)."""
    huge = b'{"schemaVersion":1,"entityVersion":' + b"9" * 5000 + b"}"
    r = rejected(SEDEX, SEDEX_KEY, huge)
    assert r.reason_class is ReasonClass.OUT_OF_RANGE and "4,300 digits" in r.reason
    nested = encode(sedex_audit()).replace(b'"entityVersion":1', b'"entityVersion":' + b"1" * 4400)
    assert rejected(SEDEX, SEDEX_KEY, nested).reason_class is ReasonClass.OUT_OF_RANGE


@pytest.mark.parametrize("version", [0, 2**31, 10**40])
def test_versions_outside_1_to_2_31_minus_1_are_out_of_range(version: int) -> None:
    """platform-events.md bounds entity versions; one absurd version must not freeze an entity."""
    r = _sedex(lambda e: e.update(entityVersion=version))
    assert r.reason_class is ReasonClass.OUT_OF_RANGE and "entityVersion" in r.reason
    r = _amfori(lambda e: e.update(version=version))
    assert r.reason_class is ReasonClass.OUT_OF_RANGE and "version" in r.reason


def test_the_largest_version_is_admitted() -> None:
    event = sedex_audit()
    event["entityVersion"] = 2**31 - 1
    assert isinstance(admit(SEDEX, SEDEX_KEY, encode(event)), Admitted)


def test_parsing_once_answers_as_the_full_checks_do_on_the_feed() -> None:
    """The simulator's feed (every rejection class, redeliveries, stale versions): `admit`, which
    parses once, gives what `_refusal`, every check from the bytes, gives; admitted events equal."""
    formats = {"sedex.changes.v1": SEDEX, "amfori.changes.v1": AMFORI}
    messages = generate_feed(seed=11, sites_per_platform=30).messages
    classes: set[ReasonClass | None] = set()
    for m in messages:
        if len(m.value) > MAX_PLATFORM_MESSAGE_BYTES:  # refused on its size, before either path
            continue
        fast, full = admit(formats[m.topic], m.key, m.value), _refusal(formats[m.topic], m.key, m.value)
        assert fast == full, (m.expect, fast, full)
        classes.add(fast.reason_class if isinstance(fast, Rejection) else None)
    assert None in classes and len(classes) > 10  # admitted, and many kinds of refusal
