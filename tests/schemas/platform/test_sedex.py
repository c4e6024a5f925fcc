"""Sedex event models: the contract's example, every rejection rule with its error type and location."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from _pytest.mark import ParameterSet
from pydantic import ValidationError

from schemas.platform import PLATFORM_ADAPTERS, ChangeEvent
from schemas.platform.sedex import (
    SEDEX_EVENT,
    SEDEX_EVENT_FROM_JSON,
    SEDEX_EVENT_TYPES,
    AuditPublished,
    ConsentChanged,
)
from tests.schemas.platform.helpers import DROP, Doc, Loc, changed, errors, raw, rejection

# The example from platform-events.md, verbatim.
AUDIT: Doc = json.loads("""
{"schemaVersion":1,"eventId":"5b0d6c2e-8a51-4f7e-9d43-0d6f1f4f2a10","eventType":"AuditPublished",
 "occurredAt":"2026-02-12T08:30:00Z","entityVersion":1,"companyRef":"ZC1043921","siteRef":"ZS1098453",
 "payload":{"auditRef":"SMETA-2026-000871","methodology":{"scheme":"SMETA","version":"7.0","pillars":4},
  "auditType":"Periodic","announcement":"Semi-announced","auditStart":"2026-02-10","auditEnd":"2026-02-11",
  "auditorDays":3.0,"auditCompany":{"name":"Example Assurance Ltd","apscaFirmId":"APSCA-F-00123"},
  "leadAuditor":{"name":"A. Auditor","apscaNumber":"CSCA-21701234"},"workersInterviewed":18,
  "workerRepresentation":{"tradeUnion":false,"workerCommittee":true,"collectiveAgreement":false,"grievanceMechanism":true},
  "findings":[{"findingRef":"NC-1","type":"NonCompliance","clause":"6","severity":"Major","flTags":["EXCESSIVE_OT"],
   "description":"Workers in the sewing line worked 74 hours in week 3."},
   {"findingRef":"NC-2","type":"NonCompliance","clause":"1A","severity":"Critical","flTags":["ID_RETAINED","RECRUITMENT_FEES"],
   "description":"Passports of 12 migrant workers held by the agent."}]}}
""")


def envelope(event_type: str, payload: Doc, **changes: Any) -> Doc:
    doc = {k: v for k, v in AUDIT.items() if k != "payload"}
    doc.update(
        eventType=event_type, eventId="7e1f0a52-3c44-4d8e-a9b1-2f6c8d0e4b73", payload=payload, **changes
    )
    return doc


SITE = envelope(
    "SiteUpserted",
    {
        "siteName": "Sunrise Garments Unit 2",
        "address": {"street": "12 Mill Road", "city": "Gazipur", "country": "BD"},
        "osId": "BD2024123ABC123",
        "productCategory": {"unspsc": "53102500"},
        "workers": {"total": 420, "female": 300, "migrant": 20, "temporary": 0},
        "linkedCustomers": [
            {"companyRef": "ZC2000001", "lei": "5493001KJTIIGC8Y1R12"},
            {"companyRef": "ZC2000002"},
        ],
    },
)
SITE_REMOVED = envelope("SiteRemoved", {})
AUDIT_WITHDRAWN = envelope("AuditWithdrawn", {"auditRef": "SMETA-2026-000871"})
CORRECTIVE = envelope(
    "CorrectiveActionUpdated",
    {
        "auditRef": "SMETA-2026-000871",
        "findingRef": "NC-1",
        "status": "Closed",
        "dueDate": "2026-04-01",
        "closedDate": "2026-03-20",
        "verification": "OnSite",
    },
)
CONSENT = {
    k: v
    for k, v in envelope("ConsentChanged", {"scope": "AGGREGATE_EXCHANGE", "granted": False}).items()
    if k != "siteRef"
}
TRAINING = envelope(
    "TrainingCompleted",
    {
        "trainingRef": "TR-77",
        "courseCode": "FL-101",
        "topic": "FORCED_LABOUR_MODERN_SLAVERY",
        "completedOn": "2026-01-15",
        "participants": 12,
    },
)


@pytest.mark.parametrize(
    ("doc", "entity_kind", "entity_id", "message_key", "site_ref"),
    [
        (AUDIT, "audit", "SMETA-2026-000871", "ZS1098453", "ZS1098453"),
        (SITE, "site", "ZS1098453", "ZS1098453", "ZS1098453"),
        (SITE_REMOVED, "site", "ZS1098453", "ZS1098453", "ZS1098453"),
        (AUDIT_WITHDRAWN, "audit", "SMETA-2026-000871", "ZS1098453", "ZS1098453"),
        (changed(AUDIT, "eventType", "AuditRevised"), "audit", "SMETA-2026-000871", "ZS1098453", "ZS1098453"),
        (CORRECTIVE, "finding", "SMETA-2026-000871/NC-1", "ZS1098453", "ZS1098453"),
        (CONSENT, "company", "ZC1043921", "ZC1043921", None),
        (TRAINING, "training", "TR-77", "ZS1098453", "ZS1098453"),
    ],
    ids=lambda v: v["eventType"] if isinstance(v, dict) else None,
)
def test_every_event_type_parses_with_the_generic_properties(
    doc: Doc, entity_kind: str, entity_id: str, message_key: str, site_ref: str | None
) -> None:
    event = PLATFORM_ADAPTERS["sedex.changes.v1"].validate_json(raw(doc))
    assert isinstance(event, ChangeEvent)
    assert (
        SEDEX_EVENT_FROM_JSON.validate_json(raw(doc)) == event
    )  # the fast path accepts it, as the same model
    assert event.event_type == doc["eventType"]
    assert event.event_id == doc["eventId"]
    assert event.entity_version == 1
    assert event.company_ref == "ZC1043921"
    assert event.occurred_at_ms == 1770885000000  # 2026-02-12T08:30:00Z
    assert (event.entity_kind, event.entity_id, event.message_key, event.site_ref) == (
        entity_kind,
        entity_id,
        message_key,
        site_ref,
    )


def test_the_contract_example_keeps_its_content() -> None:
    event = SEDEX_EVENT.validate_json(raw(AUDIT))
    assert isinstance(event, AuditPublished)
    assert event.occurred_at == datetime(2026, 2, 12, 8, 30, tzinfo=UTC)
    assert [(f.clause, f.severity, f.fl_tags) for f in event.payload.findings] == [
        ("6", "Major", ["EXCESSIVE_OT"]),
        ("1A", "Critical", ["ID_RETAINED", "RECRUITMENT_FEES"]),
    ]
    assert event.payload.methodology.pillars == 4


def test_event_types_are_exactly_the_union_members() -> None:
    mapping = SEDEX_EVENT.json_schema()["discriminator"]["mapping"]
    assert set(mapping) == SEDEX_EVENT_TYPES


def test_a_redelivery_parses_identically() -> None:
    first, again = SEDEX_EVENT.validate_json(raw(AUDIT)), SEDEX_EVENT.validate_json(raw(AUDIT))
    assert first == again
    assert first.model_dump() == again.model_dump()


def test_offsets_are_normalised_to_utc() -> None:
    event = SEDEX_EVENT.validate_json(raw(changed(AUDIT, "occurredAt", "2026-02-12T10:30:00+02:00")))
    assert event.occurred_at == datetime(2026, 2, 12, 8, 30, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at_ms == 1770885000000


def test_unknown_fields_are_dropped() -> None:
    doc = changed(changed(AUDIT, "note", "free text"), "payload.findings.0.auditorNotes", "Mr X said...")
    event = SEDEX_EVENT.validate_json(raw(doc))
    assert "free text" not in repr(event.model_dump()) and "Mr X" not in repr(event.model_dump())


def test_confidential_text_stays_out_of_repr_and_error_messages() -> None:
    event = SEDEX_EVENT.validate_json(raw(SITE))
    assert "Sunrise" not in repr(event) and "Mill Road" not in repr(event)
    audit = SEDEX_EVENT.validate_json(raw(AUDIT))
    assert "Passports" not in repr(audit) and "A. Auditor" not in repr(audit)
    for bad in (
        changed(AUDIT, "payload.findings.1.clause", "99"),
        changed(AUDIT, "payload.findings.1.type", "Observation"),
        changed(changed(SITE, "payload.workers.female", 999), "payload.address.country", "XX"),
    ):
        with pytest.raises(ValidationError) as caught:
            SEDEX_EVENT.validate_json(raw(bad))
        for error in caught.value.errors():
            assert not [
                text for text in ("Passports", "Sunrise", "Mill Road", "Gazipur") if text in error["msg"]
            ]


def test_clause_message_names_clause_and_version() -> None:
    doc = changed(changed(AUDIT, "payload.methodology.version", "6.1"), "payload.findings.1.clause", "10B")
    with pytest.raises(ValidationError) as caught:
        SEDEX_EVENT.validate_json(raw(doc))
    [error] = caught.value.errors()
    assert (error["type"], error["loc"], error["msg"]) == (
        "unknown_code",
        ("payload", "findings", 1, "clause"),
        "'10B' is not a SMETA 6.1 clause",
    )


@pytest.mark.parametrize(
    ("clause", "in_6_1", "in_7_0"),
    [
        ("10A", True, True),
        ("10B2", True, False),
        ("1A", False, True),
        ("0.A", True, False),
        ("0", False, True),
    ],
)
def test_clauses_depend_on_the_methodology_version(clause: str, in_6_1: bool, in_7_0: bool) -> None:
    one_finding = changed(AUDIT, "payload.findings", AUDIT["payload"]["findings"][:1])
    for version, known in (("6.1", in_6_1), ("7.0", in_7_0)):
        doc = changed(
            changed(one_finding, "payload.methodology.version", version), "payload.findings.0.clause", clause
        )
        if known:
            assert SEDEX_EVENT.validate_json(raw(doc))
        else:
            assert errors(SEDEX_EVENT, doc) == [("unknown_code", ("payload", "findings", 0, "clause"))]


def test_a_newer_schema_version_is_named_before_anything_else() -> None:
    doc = changed(changed(AUDIT, "schemaVersion", 2), "eventType", "SiteMerged")
    with pytest.raises(ValidationError) as caught:
        SEDEX_EVENT.validate_json(raw(doc))
    [error] = caught.value.errors()
    assert (error["type"], error["loc"]) == ("unsupported_version", ("schemaVersion",))
    assert "2" in error["msg"]


def test_not_an_object() -> None:
    with pytest.raises(ValidationError) as caught:
        SEDEX_EVENT.validate_json(b"[1]")
    assert caught.value.errors()[0]["type"] == "dict_type"


def test_consent_model_has_no_site() -> None:
    event = SEDEX_EVENT.validate_json(raw(CONSENT))
    assert isinstance(event, ConsentChanged) and event.site_ref is None
    assert SEDEX_EVENT.validate_json(raw(changed(CONSENT, "siteRef", None))).site_ref is None


CASES: list[ParameterSet] = [
    # envelope
    rejection("schema version as string", AUDIT, "schemaVersion", "1", "int_type"),
    rejection("schema version as bool", AUDIT, "schemaVersion", True, "int_type"),
    rejection("newer schema version", AUDIT, "schemaVersion", 2, "unsupported_version"),
    rejection("event id not a uuid", AUDIT, "eventId", "evt-1", "string_pattern_mismatch"),
    rejection("event id as int", AUDIT, "eventId", 5, "string_type"),
    rejection("unknown event type", AUDIT, "eventType", "SiteMerged", "union_tag_invalid"),
    rejection("missing event type", AUDIT, "eventType", DROP, "missing"),
    rejection("naive time", AUDIT, "occurredAt", "2026-02-12T08:30:00", "bad_date"),
    rejection("unparsable time", AUDIT, "occurredAt", "12/02/2026", "datetime_parsing"),
    rejection("date as time", AUDIT, "occurredAt", "2026-02-12", "datetime_parsing"),
    rejection("epoch as time", AUDIT, "occurredAt", 1770885000, "datetime_type"),
    rejection(
        "time beyond year 9999 in UTC", AUDIT, "occurredAt", "9999-12-31T23:00:00-05:00", "out_of_range"
    ),
    rejection("entity version 0", AUDIT, "entityVersion", 0, "greater_than_equal"),
    rejection("entity version as string", AUDIT, "entityVersion", "1", "int_type"),
    rejection("entity version as float", AUDIT, "entityVersion", 1.5, "int_type"),
    rejection("bad company ref", AUDIT, "companyRef", "ZS1043921", "string_pattern_mismatch"),
    rejection("missing company ref", AUDIT, "companyRef", DROP, "missing"),
    rejection("bad site ref", AUDIT, "siteRef", "ZS12", "string_pattern_mismatch"),
    rejection("missing site ref", TRAINING, "siteRef", DROP, "missing"),
    rejection("site ref on consent", CONSENT, "siteRef", "ZS1098453", "unexpected_field"),
    rejection("payload not an object", AUDIT, "payload", [], "model_type"),
    # SiteUpserted
    rejection("unknown country", SITE, "payload.address.country", "XX", "unknown_code"),
    rejection("lower-case country", SITE, "payload.address.country", "bd", "string_pattern_mismatch"),
    rejection("bad os id", SITE, "payload.osId", "BD123", "string_pattern_mismatch"),
    rejection("short unspsc", SITE, "payload.productCategory.unspsc", "5310", "string_pattern_mismatch"),
    rejection("negative count", SITE, "payload.workers.total", -1, "greater_than_equal"),
    rejection("female above total", SITE, "payload.workers.female", 421, "out_of_range"),
    rejection("temporary above total", SITE, "payload.workers.temporary", 500, "out_of_range"),
    rejection("missing site name", SITE, "payload.siteName", DROP, "missing"),
    rejection(
        "bad customer lei",
        SITE,
        "payload.linkedCustomers.0.lei",
        "5493001KJTIIGC8Y1RAB",
        "string_pattern_mismatch",
    ),
    rejection(
        "bad customer ref", SITE, "payload.linkedCustomers.1.companyRef", "ZC1", "string_pattern_mismatch"
    ),
    # AuditPublished / AuditRevised
    rejection("clause unknown in version", AUDIT, "payload.findings.1.clause", "10B2", "unknown_code"),
    rejection(
        "unknown fl tag",
        AUDIT,
        "payload.findings.0.flTags",
        ["EXCESSIVE_OT", "SLAVERY"],
        "unknown_code",
        at="payload.findings.0.flTags.1",
    ),
    rejection("severity missing on NC", AUDIT, "payload.findings.0.severity", DROP, "missing"),
    rejection(
        "severity missing on CAR",
        changed(AUDIT, "payload.findings.0.type", "CollaborativeActionRequired"),
        "payload.findings.0.severity",
        None,
        "missing",
    ),
    rejection(
        "severity on observation",
        AUDIT,
        "payload.findings.1.type",
        "Observation",
        "unexpected_field",
        at="payload.findings.1.severity",
    ),
    rejection(
        "severity on good example",
        AUDIT,
        "payload.findings.1.type",
        "GoodExample",
        "unexpected_field",
        at="payload.findings.1.severity",
    ),
    rejection("unknown severity", AUDIT, "payload.findings.0.severity", "High", "literal_error"),
    rejection("unknown finding type", AUDIT, "payload.findings.0.type", "Issue", "literal_error"),
    rejection(
        "start after end", AUDIT, "payload.auditStart", "2026-02-12", "out_of_range", at="payload.auditEnd"
    ),
    rejection("impossible date", AUDIT, "payload.auditEnd", "2026-02-30", "date_parsing"),
    rejection("datetime as date", AUDIT, "payload.auditEnd", "2026-02-11T00:00:00Z", "date_parsing"),
    rejection("number as date", AUDIT, "payload.auditEnd", 20260211, "date_type"),
    rejection("unknown scheme", AUDIT, "payload.methodology.scheme", "WCA", "literal_error"),
    rejection("unknown version", AUDIT, "payload.methodology.version", "8.0", "literal_error"),
    rejection("three pillars", AUDIT, "payload.methodology.pillars", 3, "literal_error"),
    rejection("pillars as float", AUDIT, "payload.methodology.pillars", 4.0, "int_type"),
    rejection("unknown audit type", AUDIT, "payload.auditType", "Surprise", "literal_error"),
    rejection("unknown announcement", AUDIT, "payload.announcement", "Semi", "literal_error"),
    rejection("negative auditor days", AUDIT, "payload.auditorDays", -0.5, "greater_than_equal"),
    rejection("auditor days as string", AUDIT, "payload.auditorDays", "3", "float_type"),
    rejection("negative interviews", AUDIT, "payload.workersInterviewed", -1, "greater_than_equal"),
    rejection("flag as string", AUDIT, "payload.workerRepresentation.tradeUnion", "false", "bool_type"),
    rejection("empty audit ref", AUDIT, "payload.auditRef", "", "string_too_short"),
    rejection("long finding ref", AUDIT, "payload.findings.0.findingRef", "F" * 65, "string_too_long"),
    rejection("missing description", AUDIT, "payload.findings.0.description", DROP, "missing"),
    rejection("missing audit ref", AUDIT_WITHDRAWN, "payload.auditRef", DROP, "missing"),
    # CorrectiveActionUpdated
    rejection("closed without date", CORRECTIVE, "payload.closedDate", DROP, "missing"),
    rejection(
        "closed date while open",
        CORRECTIVE,
        "payload.status",
        "Open",
        "unexpected_field",
        at="payload.closedDate",
    ),
    rejection("unknown status", CORRECTIVE, "payload.status", "Done", "literal_error"),
    rejection("unknown verification", CORRECTIVE, "payload.verification", "Phone", "literal_error"),
    # ConsentChanged
    rejection("unknown scope", CONSENT, "payload.scope", "ALL", "literal_error"),
    rejection("granted as string", CONSENT, "payload.granted", "true", "bool_type"),
    # TrainingCompleted
    rejection("no participants", TRAINING, "payload.participants", 0, "greater_than_equal"),
    rejection("unknown topic", TRAINING, "payload.topic", "forced-labour", "unknown_code"),
]


@pytest.mark.parametrize(("doc", "error_type", "loc"), CASES)
def test_rejection(doc: Doc, error_type: str, loc: Loc) -> None:
    assert errors(SEDEX_EVENT, doc) == [(error_type, loc)]
    # The fast path (JSON mode, no guard) refuses it too; ingest then reads it again for the reason.
    with pytest.raises(ValidationError):
        SEDEX_EVENT_FROM_JSON.validate_json(raw(doc))
