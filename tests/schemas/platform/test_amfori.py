"""amfori event models: the contract's example, every rejection rule with its error type and location."""

from __future__ import annotations

import json
from datetime import date

import pytest
from _pytest.mark import ParameterSet
from pydantic import ValidationError

from schemas.platform import PLATFORM_ADAPTERS, ChangeEvent
from schemas.platform.amfori import (
    AMFORI_EVENT,
    AMFORI_EVENT_FROM_JSON,
    AMFORI_EVENT_TYPES,
    MonitoringCompleted,
    SiteUpdated,
)
from schemas.platform.common import utc_day
from tests.schemas.platform.helpers import DROP, Doc, Loc, changed, errors, raw, rejection

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
    assert (
        AMFORI_EVENT_FROM_JSON.validate_json(raw(doc)) == event
    )  # the fast path accepts it, as the same model
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


CASES: list[ParameterSet] = [
    # envelope
    rejection("spec version as int", MONITORING, "specVersion", 1, "literal_error"),
    rejection("newer spec version", MONITORING, "specVersion", "2", "unsupported_version"),
    rejection("id not a uuid", MONITORING, "id", "0c8f9a3e", "string_pattern_mismatch"),
    rejection("unknown type", MONITORING, "type", "monitoring.deleted", "union_tag_invalid"),
    rejection("missing type", MONITORING, "type", DROP, "missing"),
    rejection("timestamp as string", MONITORING, "timestamp", "1771405200000", "int_type"),
    rejection("negative timestamp", MONITORING, "timestamp", -1, "out_of_range"),
    rejection("timestamp after 9999", MONITORING, "timestamp", 253_402_300_800_000, "out_of_range"),
    rejection("version 0", MONITORING, "version", 0, "greater_than_equal"),
    rejection("version as bool", MONITORING, "version", True, "int_type"),
    rejection(
        "bad legal entity id", MONITORING, "legalEntityAmforiId", "50-0012345", "string_pattern_mismatch"
    ),
    rejection("legal entity not a country", MONITORING, "legalEntityAmforiId", "999-0012345", "unknown_code"),
    rejection("bad site id", MONITORING, "siteAmforiId", "050-0012345", "string_pattern_mismatch"),
    rejection("site not a country", MONITORING, "siteAmforiId", "000-0012345-001", "unknown_code"),
    rejection("missing site id", ACADEMY, "siteAmforiId", DROP, "missing"),
    rejection("site id on consent", CONSENT, "siteAmforiId", SITE_ID, "unexpected_field"),
    rejection("missing data", MONITORING, "data", DROP, "missing"),
    # site.updated
    rejection("unknown numeric country", SITE, "data.address.country.numeric", "999", "unknown_code"),
    rejection(
        "numeric country not 3 digits", SITE, "data.address.country.numeric", "50", "string_pattern_mismatch"
    ),
    rejection("numeric country as int", SITE, "data.address.country.numeric", 50, "string_type"),
    rejection("percentage above 100", SITE, "data.workforce.femalePct", 100.5, "less_than_equal"),
    rejection("negative percentage", SITE, "data.workforce.migrantPct", -1, "greater_than_equal"),
    rejection("negative workforce", SITE, "data.workforce.total", -5, "greater_than_equal"),
    rejection("short gics code", SITE, "data.gicsSubIndustry", "252030", "string_pattern_mismatch"),
    rejection("bad os id", SITE, "data.osId", "bd2024123abc123", "string_pattern_mismatch"),
    rejection("unknown partner role", SITE, "data.businessPartners.1.role", "OWNER", "literal_error"),
    rejection(
        "bad partner id", SITE, "data.businessPartners.0.amforiId", "276-12", "string_pattern_mismatch"
    ),
    rejection("bad partner lei", SITE, "data.businessPartners.0.lei", "5493001KJ", "string_pattern_mismatch"),
    rejection("missing local name", SITE, "data.localName", DROP, "missing"),
    # monitoring.completed / monitoring.updated
    rejection("pa 0", MONITORING, "data.performanceAreas.0.pa", 0, "greater_than_equal"),
    rejection("pa 14", MONITORING, "data.performanceAreas.1.pa", 14, "less_than_equal"),
    rejection("unknown rating", MONITORING, "data.overallRating", "F", "literal_error"),
    rejection("unknown pa rating", MONITORING, "data.performanceAreas.0.rating", "a", "literal_error"),
    rejection(
        "unknown indicator",
        MONITORING,
        "data.performanceAreas.1.findings.0.indicators",
        ["ID_RETAINED"],
        "unknown_code",
        at="data.performanceAreas.1.findings.0.indicators.0",
    ),
    rejection(
        "unknown answer", MONITORING, "data.performanceAreas.0.findings.0.answer", "YES", "literal_error"
    ),
    rejection(
        "crucial as string", MONITORING, "data.performanceAreas.0.findings.0.crucial", "true", "bool_type"
    ),
    rejection(
        "bad question ref",
        MONITORING,
        "data.performanceAreas.0.findings.0.questionRef",
        "PA14.Q1",
        "string_pattern_mismatch",
    ),
    rejection(
        "unknown zero-tolerance category",
        MONITORING,
        "data.zeroTolerance",
        [{"findingId": "ZT-1", "category": "SLAVERY", "comment": "..."}],
        "unknown_code",
        at="data.zeroTolerance.0.category",
    ),
    rejection("wrong initiative", MONITORING, "data.monitoringInitiative", "amfori BEPI", "literal_error"),
    rejection("wrong methodology version", MONITORING, "data.methodologyVersion", "1.0", "literal_error"),
    rejection("unknown monitoring type", MONITORING, "data.monitoringType", "DESKTOP", "literal_error"),
    rejection("unknown announcement", MONITORING, "data.announcementType", "ANNOUNCED", "literal_error"),
    rejection("audit date as iso text", MONITORING, "data.auditDate", "2026-02-17", "int_type"),
    rejection("audit date negative", MONITORING, "data.auditDate", -86400000, "out_of_range"),
    rejection("negative man-days", MONITORING, "data.manDays", -1, "greater_than_equal"),
    rejection("unknown union value", MONITORING, "data.workersVoice.union", "YES", "literal_error"),
    rejection(
        "unknown representative", MONITORING, "data.workersVoice.workersRepresentative", "HR", "literal_error"
    ),
    rejection("missing auditor", MONITORING, "data.auditor", DROP, "missing"),
    rejection("missing monitoring id", CANCELLED, "data.monitoringId", DROP, "missing"),
    # remediation.updated
    rejection("resolved without time", REMEDIATION, "data.resolvedAt", DROP, "missing"),
    rejection(
        "resolved time while open",
        REMEDIATION,
        "data.state",
        "IN_PROGRESS",
        "unexpected_field",
        at="data.resolvedAt",
    ),
    rejection("unknown state", REMEDIATION, "data.state", "DONE", "literal_error"),
    rejection("deadline as float", REMEDIATION, "data.deadline", 1775001600000.5, "int_type"),
    # consent.updated
    rejection("unknown purpose", CONSENT, "data.purpose", "marketing", "literal_error"),
    rejection("unknown consent status", CONSENT, "data.status", "granted", "literal_error"),
    # academy.completion
    rejection("no participants", ACADEMY, "data.participants", 0, "greater_than_equal"),
    rejection("unknown topic", ACADEMY, "data.topic", "FORCED_LABOUR_MODERN_SLAVERY", "unknown_code"),
    rejection("empty completion id", ACADEMY, "data.completionId", "", "string_too_short"),
]


@pytest.mark.parametrize(("doc", "error_type", "loc"), CASES)
def test_rejection(doc: Doc, error_type: str, loc: Loc) -> None:
    assert errors(AMFORI_EVENT, doc) == [(error_type, loc)]
    # The fast path (JSON mode, no guard) refuses it too; ingest then reads it again for the reason.
    with pytest.raises(ValidationError):
        AMFORI_EVENT_FROM_JSON.validate_json(raw(doc))
