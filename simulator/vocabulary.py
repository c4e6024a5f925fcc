"""The vocabularies the simulated feed draws its content from: audit firms and auditors, how often
each SMETA clause and BSCI performance area turns up, the tags and indicators of forced labour, training
topics, and the templates of findings' free text. Data, and the few tables derived from it at import;
the builders (sedex.py, amfori.py, emitter.py) decide when and how much of each is drawn.
"""

from __future__ import annotations

from typing import Final

from schemas.taxonomy import (
    AMFORI_TRAINING_TOPICS,
    SEDEX_TRAINING_TOPICS,
    SMETA_CLAUSES,
    ZERO_TOLERANCE_CATEGORIES,
    Issue,
)

# (name, APSCA firm id, share of unannounced, share of audits below the minimum auditor-days, finding factor)
AUDIT_FIRMS: Final[tuple[tuple[str, str, float, float, float], ...]] = (
    ("Northbridge Social Assurance Ltd", "APSCA-F-00123", 0.10, 0.05, 1.0),
    ("Veritas Ethical Audits GmbH", "APSCA-F-00217", 0.20, 0.10, 1.1),
    ("Lotus Compliance Services Pvt. Ltd.", "APSCA-F-00342", 0.05, 0.30, 0.6),
    ("Meridian Workplace Verification S.A.", "APSCA-F-00415", 0.15, 0.08, 1.0),
    ("Çınar Denetim Hizmetleri A.Ş.", "APSCA-F-00508", 0.08, 0.12, 0.9),
    ("Asia Pacific Social Audit Co., Ltd.", "APSCA-F-00611", 0.12, 0.20, 0.8),
    ("Southern Cross Responsible Sourcing", "APSCA-F-00734", 0.25, 0.04, 1.3),
    ("Avaliações Éticas do Brasil Ltda.", "APSCA-F-00856", 0.10, 0.15, 0.9),
    ("Kilimanjaro Labour Standards PLC", "APSCA-F-00977", 0.06, 0.25, 0.7),
    ("Helvetia Supply Chain Audits AG", "APSCA-F-01042", 0.30, 0.02, 1.2),
)
AUDITOR_FIRST: Final = (
    "Anna",
    "Rafael",
    "Meera",
    "Tomasz",
    "Leila",
    "Chen",
    "Oluwaseun",
    "Ines",
    "Kenji",
    "Sofía",
    "Dariusz",
    "Aïcha",
    "Pedro",
    "Hà",
    "Søren",
    "Gülşen",
    "Arjun",
    "Nadia",
)
AUDITOR_LAST: Final = (
    "Kowalski",
    "Haddad",
    "Iyer",
    "Nguyễn",
    "Müller",
    "Okafor",
    "Fernández",
    "Yılmaz",
    "Sato",
    "Rossi",
    "O'Brien",
    "Dubois",
    "Rahman",
    "Lindgren",
    "Costa",
    "Wójcik",
)

SMETA_CLAUSE_WEIGHTS: Final[dict[str, float]] = {
    "0": 4,
    "0.A": 3,
    "0.B": 2,
    "1": 2,
    "1A": 2,
    "2": 2,
    "3": 10,
    "4": 0.7,
    "5": 6,
    "5A": 1.5,
    "6": 7,
    "7": 1.5,
    "8": 3,
    "8A": 1,
    "9": 1.5,
    "10A": 1.5,
    "10B": 1.5,
    "10B2": 1.5,
    "10B4": 1.5,
    "10C": 1,
}
SMETA_POOLS: Final[dict[tuple[str, int], tuple[tuple[str, ...], tuple[float, ...]]]] = {}
for _version, _extra in (
    ("6.1", {2: ("10A", "10B2"), 4: ("10A", "10B4", "10C")}),
    ("7.0", {2: ("10A",), 4: ("10B", "10C")}),
):
    _base = tuple(c for c in SMETA_CLAUSES[_version] if not c.startswith("10"))
    for _pillars, _ten in _extra.items():
        _clauses = _base + _ten
        SMETA_POOLS[(_version, _pillars)] = (_clauses, tuple(SMETA_CLAUSE_WEIGHTS[c] for c in _clauses))

SEDEX_TAGS_BY_ISSUE: Final[dict[Issue, tuple[str, ...]]] = {
    Issue.FORCED_LABOUR: ("ID_RETAINED", "DEBT", "MOVEMENT_RESTRICTED", "THREATS", "DECEPTION", "ISOLATION"),
    Issue.RESPONSIBLE_RECRUITMENT: ("RECRUITMENT_FEES", "DEBT", "DECEPTION", "ID_RETAINED"),
    Issue.WAGES: ("WAGES_WITHHELD",),
    Issue.WORKING_HOURS: ("EXCESSIVE_OT",),
    Issue.HARSH_TREATMENT: ("VIOLENCE", "THREATS"),
    Issue.HEALTH_SAFETY: ("POOR_LIVING_CONDITIONS",),
    Issue.REGULAR_EMPLOYMENT: ("VULNERABLE_WORKERS",),
}
AMFORI_INDICATORS_BY_PA: Final[dict[int, tuple[str, ...]]] = {
    11: (
        "DOCUMENT_RETENTION",
        "RECRUITMENT_FEE_DEBT",
        "FREEDOM_OF_MOVEMENT",
        "COERCION_THREAT",
        "CONTRACT_DECEPTION",
        "SOCIAL_ISOLATION",
    ),
    6: ("OVERTIME_EXCESSIVE",),
    5: ("WAGE_DEDUCTION_WITHHOLDING",),
    7: ("DORMITORY_CONDITIONS",),
    2: ("PHYSICAL_ABUSE", "COERCION_THREAT"),
    10: ("VULNERABLE_GROUP_EXPLOITATION",),
}

PA_WEIGHTS: Final[tuple[float, ...]] = (1.0, 0.8, 0.5, 0.4, 1.4, 1.6, 2.0, 0.2, 0.3, 0.6, 0.5, 0.6, 0.3)
ZT_CATEGORIES: Final[tuple[str, ...]] = tuple(ZERO_TOLERANCE_CATEGORIES)
SEDEX_TRAINING_CHOICES: Final[tuple[str, ...]] = tuple(SEDEX_TRAINING_TOPICS)
AMFORI_TRAINING_CHOICES: Final[tuple[str, ...]] = tuple(AMFORI_TRAINING_TOPICS)

# Free text as auditors write it: numbers, and now and then the name of a person at the site.
TEMPLATES: Final[dict[Issue, tuple[str, ...]]] = {
    Issue.MANAGEMENT_SYSTEMS: (
        "No documented procedure for reviewing the code of conduct; HR manager {name} was not aware of it.",
        "Management could not show risk assessments for the last {n} months.",
        "Grievance box in the canteen had not been opened since {month}; no log kept.",
    ),
    Issue.FORCED_LABOUR: (
        "Passports of {n} migrant workers held by the agent; released only on request to {name}.",
        "Workers must give {d} days' notice and lose the deposit of {n}00 when resigning.",
        "Security guards lock the dormitory gate at 22:00; workers cannot leave without permission.",
    ),
    Issue.RESPONSIBLE_RECRUITMENT: (
        "{n} workers paid recruitment fees of up to {n}00 USD to a broker in their home country.",
        "Contracts were signed in a language {n} workers could not read; explained by supervisor {name}.",
    ),
    Issue.FREEDOM_OF_ASSOCIATION: (
        "Worker committee members were appointed by management, not elected.",
        "Workers interviewed said that {name} warned them against joining the union.",
    ),
    Issue.HEALTH_SAFETY: (
        "Fire exit on floor {d} blocked by cartons; extinguisher last inspected {n} months ago.",
        "{n} workers in the dyeing section without gloves or masks.",
        "No first-aid trained person on the night shift; {name} is the only first-aider.",
        "Electrical panel in the cutting room open and unlabelled.",
    ),
    Issue.CHILD_LABOUR: (
        "{d} workers aged 16-17 worked night shifts; age records incomplete.",
        "Age verification relied on self-declaration for {n} workers hired since {month}.",
    ),
    Issue.WAGES: (
        "Overtime paid at the normal rate for {n} workers in {month}.",
        "Wages paid {d} days late in {month}; {n} workers affected.",
        "Deductions for meals exceed the legal limit for {pct}% of workers.",
    ),
    Issue.WORKING_HOURS: (
        "Workers in the sewing line worked {h} hours in week {d}.",
        "Overtime above 60 h/week for {pct}% of workers during peak season.",
        "{n} workers had no rest day for {d} consecutive weeks, per records kept by {name}.",
    ),
    Issue.DISCRIMINATION: (
        "Pregnancy tests required at hiring for female applicants.",
        "Female workers paid {pct}% less than male workers for the same grade.",
    ),
    Issue.REGULAR_EMPLOYMENT: (
        "{pct}% of workers on rolling 3-month contracts for more than {d} years.",
        "Agency workers ({n}) not covered by social insurance.",
    ),
    Issue.SUBCONTRACTING_HOMEWORK: (
        "Embroidery subcontracted to home workers without the customer's approval.",
        "Unauthorised subcontracting of finishing to a unit in {month} (stated by {name}).",
    ),
    Issue.HARSH_TREATMENT: (
        "Workers reported verbal abuse by line supervisor {name}.",
        "Fines of {n} for talking during work hours recorded in the disciplinary log.",
    ),
    Issue.ENVIRONMENT: (
        "Wastewater discharge permit expired in {month}.",
        "Chemical storage without secondary containment; {n} drums leaking.",
    ),
    Issue.BUSINESS_ETHICS: (
        "No anti-bribery policy; gifts register not kept.",
        "Two sets of time records found; manager {name} presented the second set.",
    ),
}
OBSERVATIONS: Final[tuple[str, ...]] = (
    "Canteen clean and well ventilated.",
    "Worker committee meets monthly; minutes signed by {name}.",
    "Good practice: childcare room on site for {n} children.",
    "Training records for fire drills complete for the last {d} quarters.",
)
MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
