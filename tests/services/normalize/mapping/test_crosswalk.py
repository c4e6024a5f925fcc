"""Every crosswalk row of taxonomy.md, through the mapping.

The expected values are written out here from the contract, not read from ``schemas.taxonomy``, so a
wrong table row fails a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas import taxonomy
from schemas.shared.models import Audit, Finding, LabourRelations, PlatformSite, Training
from schemas.taxonomy import ForcedLabourIndicator as FL
from schemas.taxonomy import Issue, Sector, Severity
from services.normalize.mapping import Output
from tests.fixtures.examples import amfori_monitoring, sedex_audit

from .test_amfori_golden import envelope as amfori_envelope
from .test_amfori_golden import site_data
from .test_sedex_golden import envelope as sedex_envelope
from .test_sedex_golden import site_payload

MapRaw = Callable[[dict[str, Any]], list[Output]]
I = Issue

# --- helpers ------------------------------------------------------------------------------------------


def sedex_findings(
    map_raw: MapRaw, version: str, findings: list[dict[str, Any]], pillars: int = 4
) -> list[Finding]:
    raw = sedex_audit()
    raw["payload"]["methodology"] = {"scheme": "SMETA", "version": version, "pillars": pillars}
    raw["payload"]["findings"] = findings
    [out] = map_raw(raw)
    assert isinstance(out.value, Audit)
    return out.value.findings


def sedex_finding(
    clause: str = "3",
    type_: str = "NonCompliance",
    severity: str | None = "Minor",
    tags: list[str] | None = None,
) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "findingRef": "X-1",
        "type": type_,
        "clause": clause,
        "flTags": tags or [],
        "description": "text",
    }
    if severity is not None:
        finding["severity"] = severity
    return finding


def amfori_audit(
    map_raw: MapRaw, areas: list[dict[str, Any]], zero_tolerance: list[dict[str, Any]] | None = None
) -> Audit:
    raw = amfori_monitoring()
    raw["data"]["performanceAreas"] = areas
    raw["data"]["zeroTolerance"] = zero_tolerance or []
    [out] = map_raw(raw)
    assert isinstance(out.value, Audit)
    return out.value


def pa_finding(
    pa: int, crucial: bool = False, answer: str = "PARTIALLY", indicators: list[str] | None = None
) -> dict[str, Any]:
    return {
        "pa": pa,
        "rating": "C",
        "findings": [
            {
                "findingId": "F-1",
                "questionRef": f"PA{pa}.Q1",
                "crucial": crucial,
                "answer": answer,
                "indicators": indicators or [],
                "comment": "text",
            }
        ],
    }


# --- SMETA clauses ------------------------------------------------------------------------------------

# Mirrors schemas/taxonomy.py on purpose: the expected rows, copied from taxonomy.md, not imported.
SMETA_6_1 = {
    "0.A": I.MANAGEMENT_SYSTEMS,
    "0.B": I.MANAGEMENT_SYSTEMS,
    "1": I.FORCED_LABOUR,
    "2": I.FREEDOM_OF_ASSOCIATION,
    "3": I.HEALTH_SAFETY,
    "4": I.CHILD_LABOUR,
    "5": I.WAGES,
    "6": I.WORKING_HOURS,
    "7": I.DISCRIMINATION,
    "8": I.REGULAR_EMPLOYMENT,
    "8A": I.SUBCONTRACTING_HOMEWORK,
    "9": I.HARSH_TREATMENT,
    "10A": I.RESPONSIBLE_RECRUITMENT,
    "10B2": I.ENVIRONMENT,
    "10B4": I.ENVIRONMENT,
    "10C": I.BUSINESS_ETHICS,
}
SMETA_7_0 = {
    "0": I.MANAGEMENT_SYSTEMS,
    "1": I.FORCED_LABOUR,
    "1A": I.RESPONSIBLE_RECRUITMENT,
    "2": I.FREEDOM_OF_ASSOCIATION,
    "3": I.HEALTH_SAFETY,
    "4": I.CHILD_LABOUR,
    "5": I.WAGES,
    "5A": I.WAGES,
    "6": I.WORKING_HOURS,
    "7": I.DISCRIMINATION,
    "8": I.REGULAR_EMPLOYMENT,
    "8A": I.SUBCONTRACTING_HOMEWORK,
    "9": I.HARSH_TREATMENT,
    "10A": I.ENVIRONMENT,
    "10B": I.ENVIRONMENT,
    "10C": I.BUSINESS_ETHICS,
}
SMETA_ROWS = [("6.1", c, i) for c, i in SMETA_6_1.items()] + [("7.0", c, i) for c, i in SMETA_7_0.items()]


def test_the_expected_smeta_tables_cover_the_taxonomy() -> None:
    assert {v: dict(t) for v, t in taxonomy.SMETA_CLAUSES.items()} == {"6.1": SMETA_6_1, "7.0": SMETA_7_0}


@pytest.mark.parametrize(("version", "clause", "issue"), SMETA_ROWS)
def test_smeta_clause(map_raw: MapRaw, version: str, clause: str, issue: Issue) -> None:
    [finding] = sedex_findings(map_raw, version, [sedex_finding(clause)])
    assert (finding.issue, finding.source_code) == (issue, f"SMETA-{version}:{clause}")


def test_smeta_10a_depends_on_the_methodology_version(map_raw: MapRaw) -> None:
    [old] = sedex_findings(map_raw, "6.1", [sedex_finding("10A")], pillars=2)
    [new] = sedex_findings(map_raw, "7.0", [sedex_finding("10A")], pillars=2)
    assert (old.issue, new.issue) == (I.RESPONSIBLE_RECRUITMENT, I.ENVIRONMENT)
    assert old.source_code != new.source_code


# --- amfori performance areas and zero tolerance ------------------------------------------------------

BSCI = {
    1: I.MANAGEMENT_SYSTEMS,
    2: I.MANAGEMENT_SYSTEMS,
    3: I.FREEDOM_OF_ASSOCIATION,
    4: I.DISCRIMINATION,
    5: I.WAGES,
    6: I.WORKING_HOURS,
    7: I.HEALTH_SAFETY,
    8: I.CHILD_LABOUR,
    9: I.CHILD_LABOUR,
    10: I.REGULAR_EMPLOYMENT,
    11: I.FORCED_LABOUR,
    12: I.ENVIRONMENT,
    13: I.BUSINESS_ETHICS,
}
ZERO_TOLERANCE = {
    "CHILD_LABOUR": (I.CHILD_LABOUR, []),
    "FORCED_LABOUR": (I.FORCED_LABOUR, [FL.ABUSE_OF_VULNERABILITY]),
    "INHUMANE_TREATMENT": (I.HARSH_TREATMENT, []),
    "OHS_IMMINENT_HARM": (I.HEALTH_SAFETY, []),
    "BRIBERY": (I.BUSINESS_ETHICS, []),
    "HIDDEN_PRODUCTION": (I.SUBCONTRACTING_HOMEWORK, []),
}


def test_the_expected_amfori_tables_cover_the_taxonomy() -> None:
    assert dict(taxonomy.BSCI_PERFORMANCE_AREAS) == BSCI
    assert set(taxonomy.ZERO_TOLERANCE_CATEGORIES) == set(ZERO_TOLERANCE)


@pytest.mark.parametrize(("pa", "issue"), BSCI.items())
def test_bsci_performance_area(map_raw: MapRaw, pa: int, issue: Issue) -> None:
    [finding] = amfori_audit(map_raw, [pa_finding(pa)]).findings
    assert (finding.issue, finding.source_code) == (issue, f"BSCI-2.0:PA{pa}.Q1")


@pytest.mark.parametrize(("category", "expected"), ZERO_TOLERANCE.items())
def test_zero_tolerance_category(map_raw: MapRaw, category: str, expected: tuple[Issue, list[FL]]) -> None:
    zt = [{"findingId": "Z-1", "category": category, "comment": "text"}]
    [finding] = amfori_audit(map_raw, [], zt).findings
    assert (finding.issue, finding.fl_indicators) == expected
    assert finding.severity is Severity.CRITICAL
    assert finding.source_code == f"BSCI-2.0:ZT:{category}"


# --- forced-labour indicators -------------------------------------------------------------------------

SEDEX_TAGS = {
    "VULNERABLE_WORKERS": FL.ABUSE_OF_VULNERABILITY,
    "DECEPTION": FL.DECEPTION,
    "MOVEMENT_RESTRICTED": FL.RESTRICTION_OF_MOVEMENT,
    "ISOLATION": FL.ISOLATION,
    "VIOLENCE": FL.PHYSICAL_SEXUAL_VIOLENCE,
    "THREATS": FL.INTIMIDATION_THREATS,
    "ID_RETAINED": FL.RETENTION_OF_IDENTITY_DOCUMENTS,
    "WAGES_WITHHELD": FL.WITHHOLDING_OF_WAGES,
    "DEBT": FL.DEBT_BONDAGE,
    "RECRUITMENT_FEES": FL.DEBT_BONDAGE,
    "POOR_LIVING_CONDITIONS": FL.ABUSIVE_WORKING_LIVING_CONDITIONS,
    "EXCESSIVE_OT": FL.EXCESSIVE_OVERTIME,
}
AMFORI_INDICATORS = {
    "VULNERABLE_GROUP_EXPLOITATION": FL.ABUSE_OF_VULNERABILITY,
    "CONTRACT_DECEPTION": FL.DECEPTION,
    "FREEDOM_OF_MOVEMENT": FL.RESTRICTION_OF_MOVEMENT,
    "SOCIAL_ISOLATION": FL.ISOLATION,
    "PHYSICAL_ABUSE": FL.PHYSICAL_SEXUAL_VIOLENCE,
    "COERCION_THREAT": FL.INTIMIDATION_THREATS,
    "DOCUMENT_RETENTION": FL.RETENTION_OF_IDENTITY_DOCUMENTS,
    "WAGE_DEDUCTION_WITHHOLDING": FL.WITHHOLDING_OF_WAGES,
    "RECRUITMENT_FEE_DEBT": FL.DEBT_BONDAGE,
    "DORMITORY_CONDITIONS": FL.ABUSIVE_WORKING_LIVING_CONDITIONS,
    "OVERTIME_EXCESSIVE": FL.EXCESSIVE_OVERTIME,
}


def test_the_expected_indicator_tables_cover_the_taxonomy() -> None:
    assert dict(taxonomy.SEDEX_FL_TAGS) == SEDEX_TAGS
    assert dict(taxonomy.AMFORI_FL_INDICATORS) == AMFORI_INDICATORS
    assert set(AMFORI_INDICATORS.values()) == set(FL)


@pytest.mark.parametrize(("tag", "indicator"), SEDEX_TAGS.items())
def test_sedex_fl_tag(map_raw: MapRaw, tag: str, indicator: FL) -> None:
    [finding] = sedex_findings(map_raw, "7.0", [sedex_finding("1", tags=[tag])])
    assert finding.fl_indicators == [indicator]


@pytest.mark.parametrize(("code", "indicator"), AMFORI_INDICATORS.items())
def test_amfori_fl_indicator(map_raw: MapRaw, code: str, indicator: FL) -> None:
    [finding] = amfori_audit(map_raw, [pa_finding(11, indicators=[code])]).findings
    assert finding.fl_indicators == [indicator]


def test_indicators_are_deduplicated_and_sorted(map_raw: MapRaw) -> None:
    tags = ["RECRUITMENT_FEES", "EXCESSIVE_OT", "DEBT", "ID_RETAINED"]
    [finding] = sedex_findings(map_raw, "7.0", [sedex_finding("1", tags=tags)])
    assert finding.fl_indicators == [
        FL.DEBT_BONDAGE,
        FL.EXCESSIVE_OVERTIME,
        FL.RETENTION_OF_IDENTITY_DOCUMENTS,
    ]


def test_observations_and_good_examples_are_not_findings_nor_their_tags(map_raw: MapRaw) -> None:
    findings = [
        {**sedex_finding("1", "Observation", None, ["THREATS"]), "findingRef": "O-1"},
        {**sedex_finding("2", "GoodExample", None, []), "findingRef": "G-1"},
    ]
    assert sedex_findings(map_raw, "7.0", findings) == []


# --- severity -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["NonCompliance", "CollaborativeActionRequired"])
@pytest.mark.parametrize(
    ("given", "severity"),
    [("Critical", Severity.CRITICAL), ("Major", Severity.MAJOR), ("Minor", Severity.MINOR)],
)
def test_sedex_severity(map_raw: MapRaw, type_: str, given: str, severity: Severity) -> None:
    [finding] = sedex_findings(map_raw, "7.0", [sedex_finding("3", type_, given)])
    assert finding.severity is severity


@pytest.mark.parametrize(
    ("crucial", "answer", "severity"),
    [
        (True, "NO", Severity.MAJOR),
        (True, "PARTIALLY", Severity.MINOR),
        (False, "NO", Severity.MINOR),
        (False, "PARTIALLY", Severity.MINOR),
    ],
)
def test_amfori_performance_area_severity(
    map_raw: MapRaw, crucial: bool, answer: str, severity: Severity
) -> None:
    [finding] = amfori_audit(map_raw, [pa_finding(7, crucial, answer)]).findings
    assert finding.severity is severity


# --- sectors ------------------------------------------------------------------------------------------

UNSPSC = [
    ("53102500", Sector.APPAREL_TEXTILES),
    ("11161800", Sector.APPAREL_TEXTILES),
    ("53111600", Sector.FOOTWEAR_LEATHER),
    ("53121600", Sector.FOOTWEAR_LEATHER),
    ("53131600", Sector.PERSONAL_CARE_CHEMICALS),
    ("50192100", Sector.FOOD_AGRICULTURE),
    ("10151500", Sector.FOOD_AGRICULTURE),
    ("52161500", Sector.ELECTRONICS),
    ("43211500", Sector.ELECTRONICS),
    ("32101600", Sector.ELECTRONICS),
    ("56101500", Sector.HOME_FURNITURE),
    ("60141000", Sector.TOYS_LEISURE),
    ("49161500", Sector.TOYS_LEISURE),
    ("12352100", Sector.PERSONAL_CARE_CHEMICALS),
    ("47131800", Sector.PERSONAL_CARE_CHEMICALS),
    ("14111500", Sector.PACKAGING_PAPER),
    ("24121500", Sector.PACKAGING_PAPER),
    # no row matches: OTHER
    ("24101500", Sector.OTHER),  # 24 alone is no row, only 2412
    ("53141500", Sector.OTHER),  # 53 alone is no row
    ("11101500", Sector.OTHER),  # 11 alone is no row, only 1116
    ("99999999", Sector.OTHER),
]
GICS = [
    ("25203010", Sector.APPAREL_TEXTILES),
    ("25203030", Sector.APPAREL_TEXTILES),
    ("25203020", Sector.FOOTWEAR_LEATHER),
    ("30201010", Sector.FOOD_AGRICULTURE),
    ("30202030", Sector.FOOD_AGRICULTURE),
    ("25201010", Sector.ELECTRONICS),
    ("25201040", Sector.ELECTRONICS),
    ("45203010", Sector.ELECTRONICS),
    ("25201020", Sector.HOME_FURNITURE),
    ("25201050", Sector.HOME_FURNITURE),
    ("25202010", Sector.TOYS_LEISURE),
    ("30301010", Sector.PERSONAL_CARE_CHEMICALS),
    ("15101010", Sector.PERSONAL_CARE_CHEMICALS),
    # longest prefix wins: 151030 and 15105020 over 1510
    ("15103010", Sector.PACKAGING_PAPER),
    ("15105020", Sector.PACKAGING_PAPER),
    ("15105010", Sector.PERSONAL_CARE_CHEMICALS),
    # no row matches: OTHER
    ("25203040", Sector.OTHER),
    ("45202030", Sector.OTHER),
    ("30401010", Sector.OTHER),  # 30 alone is no row
    ("10101010", Sector.OTHER),
]


def test_every_sector_row_is_exercised() -> None:
    assert {c for c in taxonomy.UNSPSC_SECTOR_PREFIXES} <= {
        p for code, _ in UNSPSC for p in taxonomy.UNSPSC_SECTOR_PREFIXES if code.startswith(p)
    }
    assert {c for c in taxonomy.GICS_SECTOR_PREFIXES} <= {
        p for code, _ in GICS for p in taxonomy.GICS_SECTOR_PREFIXES if code.startswith(p)
    }


@pytest.mark.parametrize(("unspsc", "sector"), UNSPSC)
def test_unspsc_sector(map_raw: MapRaw, unspsc: str, sector: Sector) -> None:
    payload = site_payload()
    payload["productCategory"] = {"unspsc": unspsc}
    [out] = map_raw(sedex_envelope("SiteUpserted", 1, payload))
    assert isinstance(out.value, PlatformSite) and out.value.sector is sector


@pytest.mark.parametrize(("gics", "sector"), GICS)
def test_gics_sector(map_raw: MapRaw, gics: str, sector: Sector) -> None:
    data = site_data()
    data["gicsSubIndustry"] = gics
    [out] = map_raw(amfori_envelope("site.updated", 1, data))
    assert isinstance(out.value, PlatformSite) and out.value.sector is sector


# --- training topics ----------------------------------------------------------------------------------

SEDEX_TOPICS = {
    "FORCED_LABOUR_MODERN_SLAVERY": [I.FORCED_LABOUR],
    "RESPONSIBLE_RECRUITMENT": [I.RESPONSIBLE_RECRUITMENT],
    "HEALTH_AND_SAFETY": [I.HEALTH_SAFETY],
    "WAGES_AND_HOURS": [I.WAGES, I.WORKING_HOURS],
    "WORKER_VOICE": [I.FREEDOM_OF_ASSOCIATION],
    "ENVIRONMENT": [I.ENVIRONMENT],
    "BUSINESS_ETHICS": [I.BUSINESS_ETHICS],
    "MANAGEMENT_SYSTEMS": [I.MANAGEMENT_SYSTEMS],
}
AMFORI_TOPICS = {
    "forced-labour": [I.FORCED_LABOUR],
    "responsible-recruitment": [I.RESPONSIBLE_RECRUITMENT],
    "ohs": [I.HEALTH_SAFETY],
    "fair-remuneration": [I.WAGES],
    "working-hours": [I.WORKING_HOURS],
    "social-dialogue": [I.FREEDOM_OF_ASSOCIATION],
    "environment": [I.ENVIRONMENT],
    "ethics": [I.BUSINESS_ETHICS],
    "child-labour": [I.CHILD_LABOUR],
    "grievance-mechanisms": [I.MANAGEMENT_SYSTEMS],
}


def test_the_expected_topic_tables_cover_the_taxonomy() -> None:
    assert set(taxonomy.SEDEX_TRAINING_TOPICS) == set(SEDEX_TOPICS)
    assert set(taxonomy.AMFORI_TRAINING_TOPICS) == set(AMFORI_TOPICS)


@pytest.mark.parametrize(("topic", "issues"), SEDEX_TOPICS.items())
def test_sedex_training_topic(map_raw: MapRaw, topic: str, issues: list[Issue]) -> None:
    payload = {
        "trainingRef": "T-1",
        "courseCode": "C-1",
        "topic": topic,
        "completedOn": "2026-01-20",
        "participants": 1,
    }
    [out] = map_raw(sedex_envelope("TrainingCompleted", 1, payload))
    assert isinstance(out.value, Training) and out.value.issues == issues


@pytest.mark.parametrize(("topic", "issues"), AMFORI_TOPICS.items())
def test_amfori_training_topic(map_raw: MapRaw, topic: str, issues: list[Issue]) -> None:
    data = {"completionId": "C-1", "courseId": "K-1", "topic": topic, "completedAt": 0, "participants": 1}
    [out] = map_raw(amfori_envelope("academy.completion", 1, data))
    assert isinstance(out.value, Training) and out.value.issues == issues


# --- labour relations ---------------------------------------------------------------------------------

FLAGS = ("tradeUnion", "workerCommittee", "collectiveAgreement", "grievanceMechanism")
SHARED_FLAGS = ("has_union", "has_worker_committee", "has_collective_agreement", "has_grievance_mechanism")


@pytest.mark.parametrize(("flag", "shared"), list(zip(FLAGS, SHARED_FLAGS, strict=True)))
def test_sedex_labour_relations_flag_by_flag(map_raw: MapRaw, flag: str, shared: str) -> None:
    raw = sedex_audit()
    raw["payload"]["workerRepresentation"] = {f: f == flag for f in FLAGS}
    [out] = map_raw(raw)
    assert isinstance(out.value, Audit)
    assert out.value.labour_relations == LabourRelations(**{s: s == shared for s in SHARED_FLAGS})


@pytest.mark.parametrize(
    ("voice", "expected"),
    [
        (("PRESENT", "NONE", False, False), (True, False, False, False)),
        (("ABSENT", "ELECTED", False, False), (False, True, False, False)),
        (("ABSENT", "APPOINTED", False, False), (False, False, False, False)),  # appointed does not count
        (("ABSENT", "NONE", True, False), (False, False, True, False)),
        (("ABSENT", "NONE", False, True), (False, False, False, True)),
        (("PRESENT", "ELECTED", True, True), (True, True, True, True)),
    ],
)
def test_amfori_labour_relations(
    map_raw: MapRaw, voice: tuple[str, str, bool, bool], expected: tuple[bool, bool, bool, bool]
) -> None:
    raw = amfori_monitoring()
    union, rep, cba, grievance = voice
    raw["data"]["workersVoice"] = {
        "union": union,
        "workersRepresentative": rep,
        "cba": cba,
        "grievanceChannel": grievance,
    }
    [out] = map_raw(raw)
    assert isinstance(out.value, Audit)
    assert out.value.labour_relations == LabourRelations(**dict(zip(SHARED_FLAGS, expected, strict=True)))


# --- countries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numeric", "name", "alpha_2"),
    [
        ("050", "Bangladesh", "BD"),
        ("276", "Germany", "DE"),
        ("704", "Viet Nam", "VN"),
        ("156", "China", "CN"),
        ("356", "India", "IN"),
        ("792", "Türkiye", "TR"),
        ("076", "Brazil", "BR"),
        ("144", "Sri Lanka", "LK"),
        ("050", "Not Bangladesh at all", "BD"),  # the name is informative only
    ],
)
def test_amfori_numeric_country_to_alpha_2(map_raw: MapRaw, numeric: str, name: str, alpha_2: str) -> None:
    data = site_data()
    data["address"]["country"] = {"numeric": numeric, "name": name}
    [out] = map_raw(amfori_envelope("site.updated", 1, data))
    assert isinstance(out.value, PlatformSite) and out.value.country == alpha_2
