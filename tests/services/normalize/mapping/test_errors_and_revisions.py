"""What the mapping refuses (MappingError, safe to dead-letter), crosswalk revisions as data, determinism."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

from schemas.exchange.accepted import AcceptedEvent
from schemas.shared.models import Audit, PlatformSite
from schemas.taxonomy import SMETA_CLAUSES, Issue
from services.normalize.mapping import (
    Crosswalk,
    MappingContext,
    MappingError,
    MappingErrorCode,
    Output,
    map_event,
)
from services.normalize.mapping.amfori import alpha_2
from tests.fixtures.examples import amfori_monitoring, sedex_audit

from .test_sedex_golden import envelope as sedex_envelope
from .test_sedex_golden import site_payload

MapRaw = Callable[[dict[str, Any]], list[Output]]
Accept = Callable[[dict[str, Any]], AcceptedEvent]

RAW_STRINGS = (
    "ZS1098453",
    "ZC1043921",
    "SMETA-2026-000871",
    "NC-1",
    "NC-2",
    "050-0012345",
    "MON-88231",
    "F-1",
    "F-2",
    "Passports",
    "Overtime",
    "Auditor",
)


def assert_safe(exc: MappingError) -> None:
    for raw in RAW_STRINGS:
        assert raw not in str(exc), raw


def without_clause(version: str, clause: str) -> Crosswalk:
    tables = {v: dict(t) for v, t in SMETA_CLAUSES.items()}
    del tables[version][clause]
    return Crosswalk(smeta_clauses=MappingProxyType({v: MappingProxyType(t) for v, t in tables.items()}))


def test_a_clause_the_crosswalk_no_longer_knows_is_a_mapping_error(
    ctx: MappingContext, accept: Accept
) -> None:
    revised = dataclasses.replace(ctx, crosswalk=without_clause("7.0", "1A"))
    with pytest.raises(MappingError) as caught:
        map_event(accept(sedex_audit()), revised)
    assert caught.value.code is MappingErrorCode.UNKNOWN_CLAUSE
    assert "payload.findings[1].clause" in caught.value.reason
    assert_safe(caught.value)


def test_a_crosswalk_revision_is_a_data_change_and_keeps_the_source_code(
    ctx: MappingContext, accept: Accept
) -> None:
    tables = {v: dict(t) for v, t in SMETA_CLAUSES.items()}
    tables["7.0"]["1A"] = Issue.FORCED_LABOUR
    revised = dataclasses.replace(ctx, crosswalk=Crosswalk(smeta_clauses=tables))
    [before] = map_event(accept(sedex_audit()), ctx)
    [after] = map_event(accept(sedex_audit()), revised)
    assert isinstance(before.value, Audit) and isinstance(after.value, Audit)
    old = {f.source_code: f.issue for f in before.value.findings}
    new = {f.source_code: f.issue for f in after.value.findings}
    assert old["SMETA-7.0:1A"] is Issue.RESPONSIBLE_RECRUITMENT
    assert new == {**old, "SMETA-7.0:1A": Issue.FORCED_LABOUR}


def test_a_repeated_sedex_finding_ref_is_a_mapping_error(map_raw: MapRaw) -> None:
    raw = sedex_audit()
    raw["payload"]["findings"][1]["findingRef"] = "NC-1"
    with pytest.raises(MappingError) as caught:
        map_raw(raw)
    assert caught.value.code is MappingErrorCode.DUPLICATE_FINDING
    assert_safe(caught.value)


def test_an_observation_may_share_a_ref_it_is_dropped_anyway(map_raw: MapRaw) -> None:
    raw = sedex_audit()
    observation = {
        "findingRef": "NC-1",
        "type": "Observation",
        "clause": "3",
        "flTags": [],
        "description": "x",
    }
    raw["payload"]["findings"].append(observation)
    [out] = map_raw(raw)
    assert isinstance(out.value, Audit) and len(out.value.findings) == 2


def test_a_finding_id_repeated_across_areas_and_zero_tolerance_is_a_mapping_error(map_raw: MapRaw) -> None:
    raw = amfori_monitoring()
    raw["data"]["zeroTolerance"] = [{"findingId": "F-1", "category": "BRIBERY", "comment": "x"}]
    with pytest.raises(MappingError) as caught:
        map_raw(raw)
    assert caught.value.code is MappingErrorCode.DUPLICATE_FINDING
    assert "data.zeroTolerance[0].findingId" in caught.value.reason
    assert_safe(caught.value)


def test_a_question_of_another_performance_area_is_a_mapping_error(map_raw: MapRaw) -> None:
    raw = amfori_monitoring()
    raw["data"]["performanceAreas"][0]["findings"][0]["questionRef"] = "PA3.Q3"  # under pa 6
    with pytest.raises(MappingError) as caught:
        map_raw(raw)
    assert caught.value.code is MappingErrorCode.INCONSISTENT_QUESTION
    assert_safe(caught.value)


def test_a_numeric_code_that_is_no_iso_country_is_a_mapping_error() -> None:
    assert alpha_2("050") == "BD"
    with pytest.raises(MappingError) as caught:
        alpha_2("999")
    assert caught.value.code is MappingErrorCode.UNKNOWN_COUNTRY
    assert "999" not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "claimed", "reason"),
    [
        (sedex_audit, "amfori", "a Sedex event in a non-Sedex envelope"),
        (amfori_monitoring, "sedex", "an amfori event in a non-amfori envelope"),
    ],
)
def test_an_envelope_whose_platform_contradicts_its_event_is_a_mapping_error_that_says_so(
    ctx: MappingContext, accept: Accept, raw: Callable[[], dict[str, Any]], claimed: str, reason: str
) -> None:
    """Both directions, each reason naming the platforms as the contract spells them (an operator
    reading the dead letter learns which side lied)."""
    lying = accept(raw()).model_copy(update={"platform": claimed})
    with pytest.raises(MappingError) as caught:
        map_event(lying, ctx)
    assert caught.value.code is MappingErrorCode.INCONSISTENT_ENVELOPE
    assert reason in str(caught.value)


def test_a_shared_constraint_violation_becomes_invalid_record_without_the_value(
    ctx: MappingContext, accept: Accept
) -> None:
    # A crosswalk row pointing at something that is not an Issue cannot produce a valid record.
    tables = {v: dict(t) for v, t in SMETA_CLAUSES.items()}
    tables["7.0"]["6"] = "ZS1098453 overtime"  # type: ignore[assignment]
    revised = dataclasses.replace(ctx, crosswalk=Crosswalk(smeta_clauses=tables))
    with pytest.raises(MappingError) as caught:
        map_event(accept(sedex_audit()), revised)
    assert caught.value.code is MappingErrorCode.INVALID_RECORD
    assert "issue" in caught.value.reason
    assert_safe(caught.value)


def test_mapping_is_deterministic_and_independent_of_list_order(map_raw: MapRaw) -> None:
    payload = site_payload()
    payload["linkedCustomers"] = [{"companyRef": f"ZC{3000000 + i}"} for i in range(8)]
    first = map_raw(sedex_envelope("SiteUpserted", 1, payload))
    random.Random(1).shuffle(payload["linkedCustomers"])
    second = map_raw(sedex_envelope("SiteUpserted", 1, payload))
    assert first == second
    assert isinstance(first[0].value, PlatformSite) and isinstance(second[0].value, PlatformSite)
    assert first[0].value.model_dump_json() == second[0].value.model_dump_json()

    raw = sedex_audit()
    [audit] = map_raw(raw)
    raw["payload"]["findings"].reverse()
    [reversed_audit] = map_raw(raw)
    assert audit == reversed_audit


def test_the_same_ref_on_two_platforms_or_of_two_kinds_gets_different_pseudonyms(ctx: MappingContext) -> None:
    assert ctx.site_id("sedex", "X1") != ctx.site_id("amfori", "X1")
    assert ctx.company_id("sedex", "X1") != ctx.member_id("sedex", "X1")
    assert ctx.audit_id("sedex", "X1") != ctx.training_id("sedex", "X1")


def test_consent_is_keyed_by_the_company_pseudonym_the_site_carries(map_raw: MapRaw) -> None:
    [site] = map_raw(sedex_envelope("SiteUpserted", 1, site_payload()))
    [consent] = map_raw(
        sedex_envelope("ConsentChanged", 1, {"scope": "AGGREGATE_EXCHANGE", "granted": True}, site=False)
    )
    assert isinstance(site.value, PlatformSite)
    assert consent.key == site.value.company_id
