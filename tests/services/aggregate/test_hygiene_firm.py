"""The one name the exchange publishes (aggregates.md "Hygiene": the exception is an audit firm's APSCA id
and name in `audit-quality`): the guard lets exactly `cell.audit_firm` and `cell.audit_firm_name` of an
audit-quality message through, in the shapes the message allows, and refuses a name, free text or a firm
id anywhere else, and a firm name that would smuggle a pseudonym, a date or a second line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.aggregate.release import HygieneError, assert_hygienic, build_message, encode_message
from tests.services.aggregate.examples import ISSUE_MESSAGE, PSEUDONYM

RELEASE = datetime(2026, 5, 1, tzinfo=UTC)
CELL = {
    "period": "2026-Q1",
    "audit_firm": "APSCA-F-00123",
    "country": "BD",
    "audit_firm_name": "Çınar Denetim Hizmetleri A.Ş.",
}
MEASURES: dict[str, Any] = {
    "audits": 24,
    "sites": 22,
    "unannounced_pct": 12.5,
    "semi_announced_pct": 37.5,
    "zero_finding_pct": 25.0,
    "mean_findings_per_audit": 2.4,
    "below_minimum_days_pct": 8.3,
    "critical_missed_pct": 20.0,
}
FIRM: dict[str, Any] = {
    "table": "audit-quality",
    "schema_version": 1,
    "release_id": "2026-05-01T00:00:00Z",
    "released_at": "2026-05-01T00:00:00Z",
    "revision": 0,
    "cell": CELL,
    "status": "published",
    "measures": MEASURES,
}
ISSUE = ISSUE_MESSAGE


def check(document: dict[str, Any]) -> None:
    assert_hygienic(json.dumps(document, ensure_ascii=False).encode())


def test_an_audit_quality_message_with_its_firm_passes_from_the_planner_s_path() -> None:
    message = build_message("audit-quality", CELL, "published", MEASURES, RELEASE, RELEASE, 0)
    key, value, _ = encode_message(message)
    assert key == b'{"audit_firm":"APSCA-F-00123","country":"BD","period":"2026-Q1"}'  # no name in the key
    assert json.loads(value)["cell"]["audit_firm_name"] == "Çınar Denetim Hizmetleri A.Ş."
    check(FIRM)
    check({**FIRM, "status": "suppressed", "measures": None})


@pytest.mark.parametrize(
    ("document", "why"),
    [
        # the firm's fields in another table
        ({**ISSUE, "cell": {**ISSUE["cell"], "audit_firm_name": "Example Assurance Ltd"}}, "outside"),
        ({**ISSUE, "cell": {**ISSUE["cell"], "audit_firm": "APSCA-F-00123"}}, "outside"),
        # a name under another field, in any table
        ({**ISSUE, "cell": {**ISSUE["cell"], "country": "Example Assurance Ltd"}}, "free text"),
        ({**ISSUE, "measures": {**ISSUE["measures"], "site_name": None}}, "name field"),
        ({**FIRM, "cell": {**CELL, "lead_auditor": "A. Auditor"}}, "free text"),
        ({**FIRM, "cell": {**CELL, "auditor_name": "A. Auditor"}}, "name field"),
        # a name or a firm id in the measures, even of audit-quality
        ({**FIRM, "measures": {**MEASURES, "audit_firm_name": "Example Assurance Ltd"}}, "name field"),
        ({**FIRM, "measures": {**MEASURES, "worst": "Example Assurance Ltd"}}, "free text"),
        ({**FIRM, "measures": {**MEASURES, "firm": "APSCA-F-00217"}}, "APSCA"),
        ({**FIRM, "measures": {**MEASURES, "by_firm": {"APSCA-F-00217": 3}}}, "APSCA"),
        ({**ISSUE, "measures": {**ISSUE["measures"], "note": "APSCA-F-00217"}}, "APSCA"),
        # an auditor's APSCA number is no firm id, even where the firm id goes
        ({**FIRM, "cell": {**CELL, "audit_firm": "CSCA-21701234"}}, "shape"),
        # a top-level word that is not the table's or the status's
        ({**FIRM, "status": "published by Example Assurance"}, "free text"),
        # a forecast's method is a model's name from a closed list, and nothing else
        ({**ISSUE, "method": "Example Assurance"}, "free text"),
        ({**ISSUE, "cell": {**ISSUE["cell"], "method": "AutoETS"}}, "free text"),
    ],
)
def test_no_name_or_firm_id_gets_through_anywhere_else(document: dict[str, Any], why: str) -> None:
    with pytest.raises(HygieneError, match=why):
        check(document)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (f"Example {PSEUDONYM}", "pseudonym"),
        ("Example k1.sealed.AbC-_x9 Ltd", "sealed"),
        ("Example Assurance 2026-04-02", "date"),
        ("Example Assurance\nSite 7, Dhaka", "shape"),
        ("Example Assurance contact@example.com", "shape"),
        ("Example 0123456789abcdef Ltd", "shape"),
        ("x" * 121, "shape"),
        ("", "shape"),
    ],
)
def test_a_firm_name_cannot_smuggle_a_pseudonym_a_date_or_an_address(name: str, why: str) -> None:
    with pytest.raises(HygieneError, match=why):
        check({**FIRM, "cell": {**CELL, "audit_firm_name": name}})
