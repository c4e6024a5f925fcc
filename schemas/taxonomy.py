"""The shared vocabulary and the crosswalk from each platform's codes (taxonomy.md), as data.

Kept as plain tables so that a crosswalk revision is a data change with a test, and so that ingest
(which must reject unknown codes) and normalize (which maps them) read the very same tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Issue(StrEnum):
    MANAGEMENT_SYSTEMS = "MANAGEMENT_SYSTEMS"
    FORCED_LABOUR = "FORCED_LABOUR"
    RESPONSIBLE_RECRUITMENT = "RESPONSIBLE_RECRUITMENT"
    FREEDOM_OF_ASSOCIATION = "FREEDOM_OF_ASSOCIATION"
    HEALTH_SAFETY = "HEALTH_SAFETY"
    CHILD_LABOUR = "CHILD_LABOUR"
    WAGES = "WAGES"
    WORKING_HOURS = "WORKING_HOURS"
    DISCRIMINATION = "DISCRIMINATION"
    REGULAR_EMPLOYMENT = "REGULAR_EMPLOYMENT"
    SUBCONTRACTING_HOMEWORK = "SUBCONTRACTING_HOMEWORK"
    HARSH_TREATMENT = "HARSH_TREATMENT"
    ENVIRONMENT = "ENVIRONMENT"
    BUSINESS_ETHICS = "BUSINESS_ETHICS"


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


SEVERITY_RANK: Final[Mapping[Severity, int]] = MappingProxyType(
    {Severity.MINOR: 1, Severity.MAJOR: 2, Severity.CRITICAL: 3}
)


class ForcedLabourIndicator(StrEnum):
    ABUSE_OF_VULNERABILITY = "ABUSE_OF_VULNERABILITY"
    DECEPTION = "DECEPTION"
    RESTRICTION_OF_MOVEMENT = "RESTRICTION_OF_MOVEMENT"
    ISOLATION = "ISOLATION"
    PHYSICAL_SEXUAL_VIOLENCE = "PHYSICAL_SEXUAL_VIOLENCE"
    INTIMIDATION_THREATS = "INTIMIDATION_THREATS"
    RETENTION_OF_IDENTITY_DOCUMENTS = "RETENTION_OF_IDENTITY_DOCUMENTS"
    WITHHOLDING_OF_WAGES = "WITHHOLDING_OF_WAGES"
    DEBT_BONDAGE = "DEBT_BONDAGE"
    ABUSIVE_WORKING_LIVING_CONDITIONS = "ABUSIVE_WORKING_LIVING_CONDITIONS"
    EXCESSIVE_OVERTIME = "EXCESSIVE_OVERTIME"


class Sector(StrEnum):
    APPAREL_TEXTILES = "APPAREL_TEXTILES"
    FOOTWEAR_LEATHER = "FOOTWEAR_LEATHER"
    FOOD_AGRICULTURE = "FOOD_AGRICULTURE"
    ELECTRONICS = "ELECTRONICS"
    HOME_FURNITURE = "HOME_FURNITURE"
    TOYS_LEISURE = "TOYS_LEISURE"
    PERSONAL_CARE_CHEMICALS = "PERSONAL_CARE_CHEMICALS"
    PACKAGING_PAPER = "PACKAGING_PAPER"
    OTHER = "OTHER"


class WorkforceBand(StrEnum):
    B1_49 = "1-49"
    B50_249 = "50-249"
    B250_999 = "250-999"
    B1000_PLUS = "1000+"


I = Issue

# SMETA clause -> issue, per methodology version. A clause absent from its version's table is unknown.
SMETA_CLAUSES: Final[Mapping[str, Mapping[str, Issue]]] = MappingProxyType(
    {
        "6.1": MappingProxyType(
            {
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
        ),
        "7.0": MappingProxyType(
            {
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
        ),
    }
)

BSCI_PERFORMANCE_AREAS: Final[Mapping[int, Issue]] = MappingProxyType(
    {
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
)

ZERO_TOLERANCE_CATEGORIES: Final[Mapping[str, Issue]] = MappingProxyType(
    {
        "CHILD_LABOUR": I.CHILD_LABOUR,
        "FORCED_LABOUR": I.FORCED_LABOUR,
        "INHUMANE_TREATMENT": I.HARSH_TREATMENT,
        "OHS_IMMINENT_HARM": I.HEALTH_SAFETY,
        "BRIBERY": I.BUSINESS_ETHICS,
        "HIDDEN_PRODUCTION": I.SUBCONTRACTING_HOMEWORK,
    }
)

# A zero-tolerance finding of this category also counts as this indicator.
ZERO_TOLERANCE_INDICATOR: Final[Mapping[str, ForcedLabourIndicator]] = MappingProxyType(
    {"FORCED_LABOUR": ForcedLabourIndicator.ABUSE_OF_VULNERABILITY}
)

F = ForcedLabourIndicator
# taxonomy.md "Forced-labour indicators", row for row: the shared code, Sedex's flTags, amfori's indicator.
_FL_CROSSWALK: Final[tuple[tuple[ForcedLabourIndicator, tuple[str, ...], str], ...]] = (
    (F.ABUSE_OF_VULNERABILITY, ("VULNERABLE_WORKERS",), "VULNERABLE_GROUP_EXPLOITATION"),
    (F.DECEPTION, ("DECEPTION",), "CONTRACT_DECEPTION"),
    (F.RESTRICTION_OF_MOVEMENT, ("MOVEMENT_RESTRICTED",), "FREEDOM_OF_MOVEMENT"),
    (F.ISOLATION, ("ISOLATION",), "SOCIAL_ISOLATION"),
    (F.PHYSICAL_SEXUAL_VIOLENCE, ("VIOLENCE",), "PHYSICAL_ABUSE"),
    (F.INTIMIDATION_THREATS, ("THREATS",), "COERCION_THREAT"),
    (F.RETENTION_OF_IDENTITY_DOCUMENTS, ("ID_RETAINED",), "DOCUMENT_RETENTION"),
    (F.WITHHOLDING_OF_WAGES, ("WAGES_WITHHELD",), "WAGE_DEDUCTION_WITHHOLDING"),
    (F.DEBT_BONDAGE, ("DEBT", "RECRUITMENT_FEES"), "RECRUITMENT_FEE_DEBT"),
    (F.ABUSIVE_WORKING_LIVING_CONDITIONS, ("POOR_LIVING_CONDITIONS",), "DORMITORY_CONDITIONS"),
    (F.EXCESSIVE_OVERTIME, ("EXCESSIVE_OT",), "OVERTIME_EXCESSIVE"),
)
SEDEX_FL_TAGS: Final[Mapping[str, ForcedLabourIndicator]] = MappingProxyType(
    {tag: code for code, tags, _ in _FL_CROSSWALK for tag in tags}
)
AMFORI_FL_INDICATORS: Final[Mapping[str, ForcedLabourIndicator]] = MappingProxyType(
    {indicator: code for code, _, indicator in _FL_CROSSWALK}
)

S = Sector
UNSPSC_SECTOR_PREFIXES: Final[Mapping[str, Sector]] = MappingProxyType(
    {
        "5310": S.APPAREL_TEXTILES,
        "1116": S.APPAREL_TEXTILES,
        "5311": S.FOOTWEAR_LEATHER,
        "5312": S.FOOTWEAR_LEATHER,
        "5313": S.PERSONAL_CARE_CHEMICALS,
        "50": S.FOOD_AGRICULTURE,
        "10": S.FOOD_AGRICULTURE,
        "52": S.ELECTRONICS,
        "43": S.ELECTRONICS,
        "32": S.ELECTRONICS,
        "56": S.HOME_FURNITURE,
        "60": S.TOYS_LEISURE,
        "49": S.TOYS_LEISURE,
        "12": S.PERSONAL_CARE_CHEMICALS,
        "47": S.PERSONAL_CARE_CHEMICALS,
        "14": S.PACKAGING_PAPER,
        "2412": S.PACKAGING_PAPER,
    }
)

GICS_SECTOR_PREFIXES: Final[Mapping[str, Sector]] = MappingProxyType(
    {
        "25203010": S.APPAREL_TEXTILES,
        "25203030": S.APPAREL_TEXTILES,
        "25203020": S.FOOTWEAR_LEATHER,
        "302": S.FOOD_AGRICULTURE,
        "25201010": S.ELECTRONICS,
        "25201040": S.ELECTRONICS,
        "452030": S.ELECTRONICS,
        "25201020": S.HOME_FURNITURE,
        "25201050": S.HOME_FURNITURE,
        "25202010": S.TOYS_LEISURE,
        "3030": S.PERSONAL_CARE_CHEMICALS,
        "1510": S.PERSONAL_CARE_CHEMICALS,
        "151030": S.PACKAGING_PAPER,
        "15105020": S.PACKAGING_PAPER,
    }
)

SEDEX_TRAINING_TOPICS: Final[Mapping[str, tuple[Issue, ...]]] = MappingProxyType(
    {
        "FORCED_LABOUR_MODERN_SLAVERY": (I.FORCED_LABOUR,),
        "RESPONSIBLE_RECRUITMENT": (I.RESPONSIBLE_RECRUITMENT,),
        "HEALTH_AND_SAFETY": (I.HEALTH_SAFETY,),
        "WAGES_AND_HOURS": (I.WAGES, I.WORKING_HOURS),
        "WORKER_VOICE": (I.FREEDOM_OF_ASSOCIATION,),
        "ENVIRONMENT": (I.ENVIRONMENT,),
        "BUSINESS_ETHICS": (I.BUSINESS_ETHICS,),
        "MANAGEMENT_SYSTEMS": (I.MANAGEMENT_SYSTEMS,),
    }
)

AMFORI_TRAINING_TOPICS: Final[Mapping[str, tuple[Issue, ...]]] = MappingProxyType(
    {
        "forced-labour": (I.FORCED_LABOUR,),
        "responsible-recruitment": (I.RESPONSIBLE_RECRUITMENT,),
        "ohs": (I.HEALTH_SAFETY,),
        "fair-remuneration": (I.WAGES,),
        "working-hours": (I.WORKING_HOURS,),
        "social-dialogue": (I.FREEDOM_OF_ASSOCIATION,),
        "environment": (I.ENVIRONMENT,),
        "ethics": (I.BUSINESS_ETHICS,),
        "child-labour": (I.CHILD_LABOUR,),
        "grievance-mechanisms": (I.MANAGEMENT_SYSTEMS,),
    }
)


def sector_for(code: str, prefixes: Mapping[str, Sector]) -> Sector:
    """Longest matching prefix wins; no match is OTHER."""
    for length in range(len(code), 0, -1):
        sector = prefixes.get(code[:length])
        if sector is not None:
            return sector
    return Sector.OTHER


def workforce_band(total: int) -> WorkforceBand:
    if total < 50:
        return WorkforceBand.B1_49
    if total < 250:
        return WorkforceBand.B50_249
    if total < 1000:
        return WorkforceBand.B250_999
    return WorkforceBand.B1000_PLUS


# (largest workforce, minimum on-site auditor-days); above the last bound the minimum is 5.
_MIN_AUDITOR_DAYS: Final[tuple[tuple[int, float], ...]] = (
    (50, 1.5),
    (250, 3.0),
    (550, 3.5),
    (800, 4.0),
    (1200, 4.5),
)


def min_auditor_days(total: int) -> float:
    for bound, days in _MIN_AUDITOR_DAYS:
        if total <= bound:
            return days
    return 5.0
