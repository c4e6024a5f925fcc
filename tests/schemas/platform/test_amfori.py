"""amfori event models: the contract's example, every rejection rule with its error type and location."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.platform import PLATFORM_ADAPTERS, ChangeEvent
from schemas.platform.amfori import AMFORI_EVENT, AMFORI_EVENT_TYPES, MonitoringCompleted, SiteUpdated
from schemas.platform.common import utc_day

Doc = dict[str, Any]

# The example from platform-events.md, verbatim.
MONITORING: Doc = json.loads("""
{"specVersion":"1","id":"0c8f9a3e-1d2b-4c5d-8e9f-a0b1c2d3e4f5","type":"monitoring.completed","timestamp":1771405200000,
 "version":1,"legalEntityAmforiId":"050-0012345","siteAmforiId":"050-0012345-001",
 "data":{"monitoringId":"MON-88231","monitoringInitiative":"amfori BSCI","methodologyVersion":"2.0",
  "monitoringType":"FULL_AUDIT","announcementType":"SEMI_ANNOUNCED","auditDate":1771286400000,"manDays":3.5,
  "auditingCompany":{"name":"Example Assurance Ltd","apscaFirmId":"APSCA-F-00123"},"auditor":{"name":"B. Auditor"},
  "overallRating":"C",
  "performanceAreas":[{"pa":6,"rating":"D","findings":[{"findingId":"F-1","questionRef":"PA6.Q3","crucial":true,
    "answer":"NO","indicators":["OVERTIME_EXCESSIVE"],"comment":"Overtime above 60 h/week for 40% of workers."}]},
   {"pa":11,"rating":"C","findings":[{"findingId":"F-2","questionRef":"PA11.Q1","crucial":true,"answer":"PARTIALLY",
    "indicators":["DOCUMENT_RETENTION"],"comment":"Two workers' ID cards kept in HR office."}]}],
  "zeroTolerance":[],
  "workersVoice":{"union":"ABSENT","workersRepresentative":"ELECTED","cba":false,"grievanceChannel":true}}}
""")


def envelope(event_type: str, data: Doc) -> Doc:
    doc = {k: v for k, v in MONITORING.items() if k != "data"}
    doc.update(type=event_type, id="9a4c2e10-6b7d-4f31-8c5e-1d2f3a4b5c6d", data=data)
    return doc


SITE = envelope(
    "site.updated",
    {
        "name": "Golden Thread Knitwear",
        "localName": "Golden Thread Knitwear Ltd.",
        "address": {
            "street": "Plot 7, EPZ Road",
            "city": "Dhaka",
            "country": {"numeric": "050", "name": "Bangladesh"},
        },
        "osId": "BD2024123ABC123",
        "gicsSubIndustry": "25203010",
        "workforce": {"total": 850, "femalePct": 62.5, "migrantPct": 0},
        "businessPartners": [
            {"amforiId": "276-0001234", "role": "RSP_HOLDER", "lei": "5493001KJTIIGC8Y1R12"},
            {"amforiId": "528-0004321", "role": "PARTNER"},
        ],
    },
)
SITE_DELETED = envelope("site.deleted", {})
CANCELLED = envelope("monitoring.cancelled", {"monitoringId": "MON-88231"})
REMEDIATION = envelope(
    "remediation.updated",
    {
        "monitoringId": "MON-88231",
        "findingId": "F-1",
        "state": "RESOLVED",
        "deadline": 1775001600000,
        "resolvedAt": 1774000000000,
    },
)
CONSENT = {
    k: v
    for k, v in envelope("consent.updated", {"purpose": "aggregate-exchange", "status": "REVOKED"}).items()
    if k != "siteAmforiId"
}
ACADEMY = envelope(
    "academy.completion",
    {
        "completionId": "AC-5512",
        "courseId": "BSCI-FL-1",
        "topic": "forced-labour",
        "completedAt": 1770000000000,
        "participants": 3,
    },
)


def raw(doc: Doc) -> bytes:
    return json.dumps(doc).encode()


def errors(doc: Doc) -> list[tuple[str, tuple[str | int, ...]]]:
    with pytest.raises(ValidationError) as caught:
        AMFORI_EVENT.validate_json(raw(doc))
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


SITE_ID = "050-0012345-001"


@pytest.mark.parametrize(
    ("doc", "entity_kind", "entity_id", "message_key", "site_ref"),
    [
        (MONITORING, "audit", "MON-88231", SITE_ID, SITE_ID),
        (changed(MONITORING, "type", "monitoring.updated"), "audit", "MON-88231", SITE_ID, SITE_ID),
        (SITE, "site", SITE_ID, SITE_ID, SITE_ID),
        (SITE_DELETED, "site", SITE_ID, SITE_ID, SITE_ID),
        (CANCELLED, "audit", "MON-88231", SITE_ID, SITE_ID),
        (REMEDIATION, "finding", "MON-88231/F-1", SITE_ID, SITE_ID),
        (CONSENT, "company", "050-0012345", "050-0012345", None),
        (ACADEMY, "training", "AC-5512", SITE_ID, SITE_ID),
    ],
    ids=lambda v: v["type"] if isinstance(v, dict) else None,
)
def test_every_event_type_parses_with_the_generic_properties(
    doc: Doc, entity_kind: str, entity_id: str, message_key: str, site_ref: str | None
) -> None:
    event = PLATFORM_ADAPTERS["amfori.changes.v1"].validate_json(raw(doc))
    assert isinstance(event, ChangeEvent)
    assert event.event_type == doc["type"]
    assert event.event_id == doc["id"]
    assert event.entity_version == 1
    assert event.company_ref == "050-0012345"
    assert event.occurred_at_ms == 1771405200000
    assert (event.entity_kind, event.entity_id, event.message_key, event.site_ref) == (
        entity_kind,
        entity_id,
        message_key,
        site_ref,
    )


def test_the_contract_example_keeps_its_content() -> None:
    event = AMFORI_EVENT.validate_json(raw(MONITORING))
    assert isinstance(event, MonitoringCompleted)
    assert utc_day(event.data.audit_date) == date(2026, 2, 17)
    assert [(pa.pa, [f.indicators for f in pa.findings]) for pa in event.data.performance_areas] == [
        (6, [["OVERTIME_EXCESSIVE"]]),
        (11, [["DOCUMENT_RETENTION"]]),
    ]


def test_country_maps_to_alpha_2() -> None:
    event = AMFORI_EVENT.validate_json(raw(SITE))
    assert isinstance(event, SiteUpdated)
    assert event.data.address.country.alpha_2 == "BD"
    assert "Golden Thread" not in repr(event) and "EPZ Road" not in repr(event)


def test_event_types_are_exactly_the_union_members() -> None:
    assert set(AMFORI_EVENT.json_schema()["discriminator"]["mapping"]) == AMFORI_EVENT_TYPES


def test_a_redelivery_parses_identically() -> None:
    assert AMFORI_EVENT.validate_json(raw(MONITORING)) == AMFORI_EVENT.validate_json(raw(MONITORING))


def test_unknown_fields_are_dropped() -> None:
    doc = changed(changed(MONITORING, "note", "free text"), "data.auditor.phone", "+880 1711 000000")
    dumped = repr(AMFORI_EVENT.validate_json(raw(doc)).model_dump())
    assert "free text" not in dumped and "1711" not in dumped


def test_a_newer_spec_version_is_named_before_anything_else() -> None:
    doc = changed(changed(MONITORING, "specVersion", "2"), "type", "monitoring.scheduled")
    with pytest.raises(ValidationError) as caught:
        AMFORI_EVENT.validate_json(raw(doc))
    [error] = caught.value.errors()
    assert (error["type"], error["loc"]) == ("unsupported_version", ("specVersion",))
    assert "'2'" in error["msg"]


def test_epoch_bounds_are_inclusive() -> None:
    for ms in (0, 253_402_300_799_999):
        assert AMFORI_EVENT.validate_json(raw(changed(MONITORING, "data.auditDate", ms)))


D = "data"
PA = (D, "performanceAreas")
CASES: list[tuple[str, Doc, Callable[[Doc], Doc], str, tuple[str | int, ...]]] = [
    # envelope
    (
        "spec version as int",
        MONITORING,
        lambda d: changed(d, "specVersion", 1),
        "literal_error",
        ("specVersion",),
    ),
    (
        "newer spec version",
        MONITORING,
        lambda d: changed(d, "specVersion", "2"),
        "unsupported_version",
        ("specVersion",),
    ),
    ("id not a uuid", MONITORING, lambda d: changed(d, "id", "0c8f9a3e"), "string_pattern_mismatch", ("id",)),
    (
        "unknown type",
        MONITORING,
        lambda d: changed(d, "type", "monitoring.deleted"),
        "union_tag_invalid",
        ("type",),
    ),
    ("missing type", MONITORING, lambda d: changed(d, "type", drop=True), "missing", ("type",)),
    (
        "timestamp as string",
        MONITORING,
        lambda d: changed(d, "timestamp", "1771405200000"),
        "int_type",
        ("timestamp",),
    ),
    ("negative timestamp", MONITORING, lambda d: changed(d, "timestamp", -1), "out_of_range", ("timestamp",)),
    (
        "timestamp after 9999",
        MONITORING,
        lambda d: changed(d, "timestamp", 253_402_300_800_000),
        "out_of_range",
        ("timestamp",),
    ),
    ("version 0", MONITORING, lambda d: changed(d, "version", 0), "greater_than_equal", ("version",)),
    ("version as bool", MONITORING, lambda d: changed(d, "version", True), "int_type", ("version",)),
    (
        "bad legal entity id",
        MONITORING,
        lambda d: changed(d, "legalEntityAmforiId", "50-0012345"),
        "string_pattern_mismatch",
        ("legalEntityAmforiId",),
    ),
    (
        "legal entity not a country",
        MONITORING,
        lambda d: changed(d, "legalEntityAmforiId", "999-0012345"),
        "unknown_code",
        ("legalEntityAmforiId",),
    ),
    (
        "bad site id",
        MONITORING,
        lambda d: changed(d, "siteAmforiId", "050-0012345"),
        "string_pattern_mismatch",
        ("siteAmforiId",),
    ),
    (
        "site not a country",
        MONITORING,
        lambda d: changed(d, "siteAmforiId", "000-0012345-001"),
        "unknown_code",
        ("siteAmforiId",),
    ),
    (
        "missing site id",
        ACADEMY,
        lambda d: changed(d, "siteAmforiId", drop=True),
        "missing",
        ("siteAmforiId",),
    ),
    (
        "site id on consent",
        CONSENT,
        lambda d: changed(d, "siteAmforiId", SITE_ID),
        "unexpected_field",
        ("siteAmforiId",),
    ),
    ("missing data", MONITORING, lambda d: changed(d, D, drop=True), "missing", (D,)),
    # site.updated
    (
        "unknown numeric country",
        SITE,
        lambda d: changed(d, "data.address.country.numeric", "999"),
        "unknown_code",
        (D, "address", "country", "numeric"),
    ),
    (
        "numeric country not 3 digits",
        SITE,
        lambda d: changed(d, "data.address.country.numeric", "50"),
        "string_pattern_mismatch",
        (D, "address", "country", "numeric"),
    ),
    (
        "numeric country as int",
        SITE,
        lambda d: changed(d, "data.address.country.numeric", 50),
        "string_type",
        (D, "address", "country", "numeric"),
    ),
    (
        "percentage above 100",
        SITE,
        lambda d: changed(d, "data.workforce.femalePct", 100.5),
        "less_than_equal",
        (D, "workforce", "femalePct"),
    ),
    (
        "negative percentage",
        SITE,
        lambda d: changed(d, "data.workforce.migrantPct", -1),
        "greater_than_equal",
        (D, "workforce", "migrantPct"),
    ),
    (
        "negative workforce",
        SITE,
        lambda d: changed(d, "data.workforce.total", -5),
        "greater_than_equal",
        (D, "workforce", "total"),
    ),
    (
        "short gics code",
        SITE,
        lambda d: changed(d, "data.gicsSubIndustry", "252030"),
        "string_pattern_mismatch",
        (D, "gicsSubIndustry"),
    ),
    (
        "bad os id",
        SITE,
        lambda d: changed(d, "data.osId", "bd2024123abc123"),
        "string_pattern_mismatch",
        (D, "osId"),
    ),
    (
        "unknown partner role",
        SITE,
        lambda d: changed(d, "data.businessPartners.1.role", "OWNER"),
        "literal_error",
        (D, "businessPartners", 1, "role"),
    ),
    (
        "bad partner id",
        SITE,
        lambda d: changed(d, "data.businessPartners.0.amforiId", "276-12"),
        "string_pattern_mismatch",
        (D, "businessPartners", 0, "amforiId"),
    ),
    (
        "bad partner lei",
        SITE,
        lambda d: changed(d, "data.businessPartners.0.lei", "5493001KJ"),
        "string_pattern_mismatch",
        (D, "businessPartners", 0, "lei"),
    ),
    (
        "missing local name",
        SITE,
        lambda d: changed(d, "data.localName", drop=True),
        "missing",
        (D, "localName"),
    ),
    # monitoring.completed / monitoring.updated
    (
        "pa 0",
        MONITORING,
        lambda d: changed(d, "data.performanceAreas.0.pa", 0),
        "greater_than_equal",
        (*PA, 0, "pa"),
    ),
    (
        "pa 14",
        MONITORING,
        lambda d: changed(d, "data.performanceAreas.1.pa", 14),
        "less_than_equal",
        (*PA, 1, "pa"),
    ),
    (
        "unknown rating",
        MONITORING,
        lambda d: changed(d, "data.overallRating", "F"),
        "literal_error",
        (D, "overallRating"),
    ),
    (
        "unknown pa rating",
        MONITORING,
        lambda d: changed(d, "data.performanceAreas.0.rating", "a"),
        "literal_error",
        (*PA, 0, "rating"),
    ),
    (
        "unknown indicator",
        MONITORING,
        lambda d: changed(d, "data.performanceAreas.1.findings.0.indicators", ["ID_RETAINED"]),
        "unknown_code",
        (*PA, 1, "findings", 0, "indicators", 0),
    ),
    (
        "unknown answer",
        MONITORING,
        lambda d: changed(d, "data.performanceAreas.0.findings.0.answer", "YES"),
        "literal_error",
        (*PA, 0, "findings", 0, "answer"),
    ),
    (
        "crucial as string",
        MONITORING,
        lambda d: changed(d, "data.performanceAreas.0.findings.0.crucial", "true"),
        "bool_type",
        (*PA, 0, "findings", 0, "crucial"),
    ),
    (
        "bad question ref",
        MONITORING,
        lambda d: changed(d, "data.performanceAreas.0.findings.0.questionRef", "PA14.Q1"),
        "string_pattern_mismatch",
        (*PA, 0, "findings", 0, "questionRef"),
    ),
    (
        "unknown zero-tolerance category",
        MONITORING,
        lambda d: changed(
            d, "data.zeroTolerance", [{"findingId": "ZT-1", "category": "SLAVERY", "comment": "..."}]
        ),
        "unknown_code",
        (D, "zeroTolerance", 0, "category"),
    ),
    (
        "wrong initiative",
        MONITORING,
        lambda d: changed(d, "data.monitoringInitiative", "amfori BEPI"),
        "literal_error",
        (D, "monitoringInitiative"),
    ),
    (
        "wrong methodology version",
        MONITORING,
        lambda d: changed(d, "data.methodologyVersion", "1.0"),
        "literal_error",
        (D, "methodologyVersion"),
    ),
    (
        "unknown monitoring type",
        MONITORING,
        lambda d: changed(d, "data.monitoringType", "DESKTOP"),
        "literal_error",
        (D, "monitoringType"),
    ),
    (
        "unknown announcement",
        MONITORING,
        lambda d: changed(d, "data.announcementType", "ANNOUNCED"),
        "literal_error",
        (D, "announcementType"),
    ),
    (
        "audit date as iso text",
        MONITORING,
        lambda d: changed(d, "data.auditDate", "2026-02-17"),
        "int_type",
        (D, "auditDate"),
    ),
    (
        "audit date negative",
        MONITORING,
        lambda d: changed(d, "data.auditDate", -86400000),
        "out_of_range",
        (D, "auditDate"),
    ),
    (
        "negative man-days",
        MONITORING,
        lambda d: changed(d, "data.manDays", -1),
        "greater_than_equal",
        (D, "manDays"),
    ),
    (
        "unknown union value",
        MONITORING,
        lambda d: changed(d, "data.workersVoice.union", "YES"),
        "literal_error",
        (D, "workersVoice", "union"),
    ),
    (
        "unknown representative",
        MONITORING,
        lambda d: changed(d, "data.workersVoice.workersRepresentative", "HR"),
        "literal_error",
        (D, "workersVoice", "workersRepresentative"),
    ),
    (
        "missing auditor",
        MONITORING,
        lambda d: changed(d, "data.auditor", drop=True),
        "missing",
        (D, "auditor"),
    ),
    (
        "missing monitoring id",
        CANCELLED,
        lambda d: changed(d, "data.monitoringId", drop=True),
        "missing",
        (D, "monitoringId"),
    ),
    # remediation.updated
    (
        "resolved without time",
        REMEDIATION,
        lambda d: changed(d, "data.resolvedAt", drop=True),
        "missing",
        (D, "resolvedAt"),
    ),
    (
        "resolved time while open",
        REMEDIATION,
        lambda d: changed(d, "data.state", "IN_PROGRESS"),
        "unexpected_field",
        (D, "resolvedAt"),
    ),
    ("unknown state", REMEDIATION, lambda d: changed(d, "data.state", "DONE"), "literal_error", (D, "state")),
    (
        "deadline as float",
        REMEDIATION,
        lambda d: changed(d, "data.deadline", 1775001600000.5),
        "int_type",
        (D, "deadline"),
    ),
    # consent.updated
    (
        "unknown purpose",
        CONSENT,
        lambda d: changed(d, "data.purpose", "marketing"),
        "literal_error",
        (D, "purpose"),
    ),
    (
        "unknown consent status",
        CONSENT,
        lambda d: changed(d, "data.status", "granted"),
        "literal_error",
        (D, "status"),
    ),
    # academy.completion
    (
        "no participants",
        ACADEMY,
        lambda d: changed(d, "data.participants", 0),
        "greater_than_equal",
        (D, "participants"),
    ),
    (
        "unknown topic",
        ACADEMY,
        lambda d: changed(d, "data.topic", "FORCED_LABOUR_MODERN_SLAVERY"),
        "unknown_code",
        (D, "topic"),
    ),
    (
        "empty completion id",
        ACADEMY,
        lambda d: changed(d, "data.completionId", ""),
        "string_too_short",
        (D, "completionId"),
    ),
]


@pytest.mark.parametrize(
    ("doc", "mutate", "error_type", "loc"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rejection(
    doc: Doc, mutate: Callable[[Doc], Doc], error_type: str, loc: tuple[str | int, ...]
) -> None:
    assert errors(mutate(doc)) == [(error_type, loc)]
