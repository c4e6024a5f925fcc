"""Sedex event models: the contract's example, every rejection rule with its error type and location."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.platform import PLATFORM_ADAPTERS, ChangeEvent
from schemas.platform.sedex import SEDEX_EVENT, SEDEX_EVENT_TYPES, AuditPublished, ConsentChanged

Doc = dict[str, Any]

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


def raw(doc: Doc) -> bytes:
    return json.dumps(doc).encode()


def errors(doc: Doc) -> list[tuple[str, tuple[str | int, ...]]]:
    with pytest.raises(ValidationError) as caught:
        SEDEX_EVENT.validate_json(raw(doc))
    return [(e["type"], tuple(e["loc"])) for e in caught.value.errors()]


def changed(doc: Doc, path: str, value: Any = ..., *, drop: bool = False) -> Doc:
    """A copy of doc with the dotted path set (or dropped); numeric parts index lists."""
    out = copy.deepcopy(doc)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = out
    for part in parents:
        target = target[part]
    if drop:
        del target[last]
    else:
        target[last] = value
    return out


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
            assert errors(doc) == [("unknown_code", ("payload", "findings", 0, "clause"))]


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


P = "payload"
CASES: list[tuple[str, Doc, Callable[[Doc], Doc], str, tuple[str | int, ...]]] = [
    # envelope
    (
        "schema version as string",
        AUDIT,
        lambda d: changed(d, "schemaVersion", "1"),
        "int_type",
        ("schemaVersion",),
    ),
    (
        "schema version as bool",
        AUDIT,
        lambda d: changed(d, "schemaVersion", True),
        "int_type",
        ("schemaVersion",),
    ),
    (
        "newer schema version",
        AUDIT,
        lambda d: changed(d, "schemaVersion", 2),
        "unsupported_version",
        ("schemaVersion",),
    ),
    (
        "event id not a uuid",
        AUDIT,
        lambda d: changed(d, "eventId", "evt-1"),
        "string_pattern_mismatch",
        ("eventId",),
    ),
    ("event id as int", AUDIT, lambda d: changed(d, "eventId", 5), "string_type", ("eventId",)),
    (
        "unknown event type",
        AUDIT,
        lambda d: changed(d, "eventType", "SiteMerged"),
        "union_tag_invalid",
        ("eventType",),
    ),
    ("missing event type", AUDIT, lambda d: changed(d, "eventType", drop=True), "missing", ("eventType",)),
    (
        "naive time",
        AUDIT,
        lambda d: changed(d, "occurredAt", "2026-02-12T08:30:00"),
        "bad_date",
        ("occurredAt",),
    ),
    (
        "unparsable time",
        AUDIT,
        lambda d: changed(d, "occurredAt", "12/02/2026"),
        "datetime_parsing",
        ("occurredAt",),
    ),
    (
        "date as time",
        AUDIT,
        lambda d: changed(d, "occurredAt", "2026-02-12"),
        "datetime_parsing",
        ("occurredAt",),
    ),
    (
        "epoch as time",
        AUDIT,
        lambda d: changed(d, "occurredAt", 1770885000),
        "datetime_type",
        ("occurredAt",),
    ),
    (
        "time beyond year 9999 in UTC",
        AUDIT,
        lambda d: changed(d, "occurredAt", "9999-12-31T23:00:00-05:00"),
        "out_of_range",
        ("occurredAt",),
    ),
    (
        "entity version 0",
        AUDIT,
        lambda d: changed(d, "entityVersion", 0),
        "greater_than_equal",
        ("entityVersion",),
    ),
    (
        "entity version as string",
        AUDIT,
        lambda d: changed(d, "entityVersion", "1"),
        "int_type",
        ("entityVersion",),
    ),
    (
        "entity version as float",
        AUDIT,
        lambda d: changed(d, "entityVersion", 1.5),
        "int_type",
        ("entityVersion",),
    ),
    (
        "bad company ref",
        AUDIT,
        lambda d: changed(d, "companyRef", "ZS1043921"),
        "string_pattern_mismatch",
        ("companyRef",),
    ),
    ("missing company ref", AUDIT, lambda d: changed(d, "companyRef", drop=True), "missing", ("companyRef",)),
    ("bad site ref", AUDIT, lambda d: changed(d, "siteRef", "ZS12"), "string_pattern_mismatch", ("siteRef",)),
    ("missing site ref", TRAINING, lambda d: changed(d, "siteRef", drop=True), "missing", ("siteRef",)),
    (
        "site ref on consent",
        CONSENT,
        lambda d: changed(d, "siteRef", "ZS1098453"),
        "unexpected_field",
        ("siteRef",),
    ),
    ("payload not an object", AUDIT, lambda d: changed(d, P, []), "model_type", (P,)),
    # SiteUpserted
    (
        "unknown country",
        SITE,
        lambda d: changed(d, "payload.address.country", "XX"),
        "unknown_code",
        (P, "address", "country"),
    ),
    (
        "lower-case country",
        SITE,
        lambda d: changed(d, "payload.address.country", "bd"),
        "string_pattern_mismatch",
        (P, "address", "country"),
    ),
    (
        "bad os id",
        SITE,
        lambda d: changed(d, "payload.osId", "BD123"),
        "string_pattern_mismatch",
        (P, "osId"),
    ),
    (
        "short unspsc",
        SITE,
        lambda d: changed(d, "payload.productCategory.unspsc", "5310"),
        "string_pattern_mismatch",
        (P, "productCategory", "unspsc"),
    ),
    (
        "negative count",
        SITE,
        lambda d: changed(d, "payload.workers.total", -1),
        "greater_than_equal",
        (P, "workers", "total"),
    ),
    (
        "female above total",
        SITE,
        lambda d: changed(d, "payload.workers.female", 421),
        "out_of_range",
        (P, "workers", "female"),
    ),
    (
        "temporary above total",
        SITE,
        lambda d: changed(d, "payload.workers.temporary", 500),
        "out_of_range",
        (P, "workers", "temporary"),
    ),
    (
        "missing site name",
        SITE,
        lambda d: changed(d, "payload.siteName", drop=True),
        "missing",
        (P, "siteName"),
    ),
    (
        "bad customer lei",
        SITE,
        lambda d: changed(d, "payload.linkedCustomers.0.lei", "5493001KJTIIGC8Y1RAB"),
        "string_pattern_mismatch",
        (P, "linkedCustomers", 0, "lei"),
    ),
    (
        "bad customer ref",
        SITE,
        lambda d: changed(d, "payload.linkedCustomers.1.companyRef", "ZC1"),
        "string_pattern_mismatch",
        (P, "linkedCustomers", 1, "companyRef"),
    ),
    # AuditPublished / AuditRevised
    (
        "clause unknown in version",
        AUDIT,
        lambda d: changed(d, "payload.findings.1.clause", "10B2"),
        "unknown_code",
        (P, "findings", 1, "clause"),
    ),
    (
        "unknown fl tag",
        AUDIT,
        lambda d: changed(d, "payload.findings.0.flTags", ["EXCESSIVE_OT", "SLAVERY"]),
        "unknown_code",
        (P, "findings", 0, "flTags", 1),
    ),
    (
        "severity missing on NC",
        AUDIT,
        lambda d: changed(d, "payload.findings.0.severity", drop=True),
        "missing",
        (P, "findings", 0, "severity"),
    ),
    (
        "severity missing on CAR",
        AUDIT,
        lambda d: changed(
            changed(d, "payload.findings.0.type", "CollaborativeActionRequired"),
            "payload.findings.0.severity",
            None,
        ),
        "missing",
        (P, "findings", 0, "severity"),
    ),
    (
        "severity on observation",
        AUDIT,
        lambda d: changed(d, "payload.findings.1.type", "Observation"),
        "unexpected_field",
        (P, "findings", 1, "severity"),
    ),
    (
        "severity on good example",
        AUDIT,
        lambda d: changed(d, "payload.findings.1.type", "GoodExample"),
        "unexpected_field",
        (P, "findings", 1, "severity"),
    ),
    (
        "unknown severity",
        AUDIT,
        lambda d: changed(d, "payload.findings.0.severity", "High"),
        "literal_error",
        (P, "findings", 0, "severity"),
    ),
    (
        "unknown finding type",
        AUDIT,
        lambda d: changed(d, "payload.findings.0.type", "Issue"),
        "literal_error",
        (P, "findings", 0, "type"),
    ),
    (
        "start after end",
        AUDIT,
        lambda d: changed(d, "payload.auditStart", "2026-02-12"),
        "out_of_range",
        (P, "auditEnd"),
    ),
    (
        "impossible date",
        AUDIT,
        lambda d: changed(d, "payload.auditEnd", "2026-02-30"),
        "date_parsing",
        (P, "auditEnd"),
    ),
    (
        "datetime as date",
        AUDIT,
        lambda d: changed(d, "payload.auditEnd", "2026-02-11T00:00:00Z"),
        "date_parsing",
        (P, "auditEnd"),
    ),
    (
        "number as date",
        AUDIT,
        lambda d: changed(d, "payload.auditEnd", 20260211),
        "date_type",
        (P, "auditEnd"),
    ),
    (
        "unknown scheme",
        AUDIT,
        lambda d: changed(d, "payload.methodology.scheme", "WCA"),
        "literal_error",
        (P, "methodology", "scheme"),
    ),
    (
        "unknown version",
        AUDIT,
        lambda d: changed(d, "payload.methodology.version", "8.0"),
        "literal_error",
        (P, "methodology", "version"),
    ),
    (
        "three pillars",
        AUDIT,
        lambda d: changed(d, "payload.methodology.pillars", 3),
        "literal_error",
        (P, "methodology", "pillars"),
    ),
    (
        "pillars as float",
        AUDIT,
        lambda d: changed(d, "payload.methodology.pillars", 4.0),
        "int_type",
        (P, "methodology", "pillars"),
    ),
    (
        "unknown audit type",
        AUDIT,
        lambda d: changed(d, "payload.auditType", "Surprise"),
        "literal_error",
        (P, "auditType"),
    ),
    (
        "unknown announcement",
        AUDIT,
        lambda d: changed(d, "payload.announcement", "Semi"),
        "literal_error",
        (P, "announcement"),
    ),
    (
        "negative auditor days",
        AUDIT,
        lambda d: changed(d, "payload.auditorDays", -0.5),
        "greater_than_equal",
        (P, "auditorDays"),
    ),
    (
        "auditor days as string",
        AUDIT,
        lambda d: changed(d, "payload.auditorDays", "3"),
        "float_type",
        (P, "auditorDays"),
    ),
    (
        "negative interviews",
        AUDIT,
        lambda d: changed(d, "payload.workersInterviewed", -1),
        "greater_than_equal",
        (P, "workersInterviewed"),
    ),
    (
        "flag as string",
        AUDIT,
        lambda d: changed(d, "payload.workerRepresentation.tradeUnion", "false"),
        "bool_type",
        (P, "workerRepresentation", "tradeUnion"),
    ),
    (
        "empty audit ref",
        AUDIT,
        lambda d: changed(d, "payload.auditRef", ""),
        "string_too_short",
        (P, "auditRef"),
    ),
    (
        "long finding ref",
        AUDIT,
        lambda d: changed(d, "payload.findings.0.findingRef", "F" * 65),
        "string_too_long",
        (P, "findings", 0, "findingRef"),
    ),
    (
        "missing description",
        AUDIT,
        lambda d: changed(d, "payload.findings.0.description", drop=True),
        "missing",
        (P, "findings", 0, "description"),
    ),
    (
        "missing audit ref",
        AUDIT_WITHDRAWN,
        lambda d: changed(d, "payload.auditRef", drop=True),
        "missing",
        (P, "auditRef"),
    ),
    # CorrectiveActionUpdated
    (
        "closed without date",
        CORRECTIVE,
        lambda d: changed(d, "payload.closedDate", drop=True),
        "missing",
        (P, "closedDate"),
    ),
    (
        "closed date while open",
        CORRECTIVE,
        lambda d: changed(d, "payload.status", "Open"),
        "unexpected_field",
        (P, "closedDate"),
    ),
    (
        "unknown status",
        CORRECTIVE,
        lambda d: changed(d, "payload.status", "Done"),
        "literal_error",
        (P, "status"),
    ),
    (
        "unknown verification",
        CORRECTIVE,
        lambda d: changed(d, "payload.verification", "Phone"),
        "literal_error",
        (P, "verification"),
    ),
    # ConsentChanged
    ("unknown scope", CONSENT, lambda d: changed(d, "payload.scope", "ALL"), "literal_error", (P, "scope")),
    (
        "granted as string",
        CONSENT,
        lambda d: changed(d, "payload.granted", "true"),
        "bool_type",
        (P, "granted"),
    ),
    # TrainingCompleted
    (
        "no participants",
        TRAINING,
        lambda d: changed(d, "payload.participants", 0),
        "greater_than_equal",
        (P, "participants"),
    ),
    (
        "unknown topic",
        TRAINING,
        lambda d: changed(d, "payload.topic", "forced-labour"),
        "unknown_code",
        (P, "topic"),
    ),
]


@pytest.mark.parametrize(
    ("doc", "mutate", "error_type", "loc"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rejection(
    doc: Doc, mutate: Callable[[Doc], Doc], error_type: str, loc: tuple[str | int, ...]
) -> None:
    assert errors(mutate(doc)) == [(error_type, loc)]
