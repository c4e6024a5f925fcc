"""Messages as the contract's examples write them (aggregates.md "Message format"), for the tests of the
hygiene guard: a clean message each test changes in one place."""

from __future__ import annotations

from typing import Any

ISSUE_MESSAGE: dict[str, Any] = {
    "table": "issue-prevalence",
    "schema_version": 1,
    "release_id": "2026-05-01T00:00:00Z",
    "released_at": "2026-05-01T00:00:04Z",
    "revision": 0,
    "cell": {"period": "2026-Q1", "country": "BD", "sector": "APPAREL_TEXTILES", "issue": "WAGES"},
    "status": "published",
    "measures": {
        "audited_sites": 41,
        "sites_with_issue": 12,
        "by_severity": {"critical": 0, "major": 7, "minor": 5},
        "rate_pct": 29.3,
    },
}
PSEUDONYM = "k1.rsite.0123456789abcdef0123456789abcdef"  # normalize's shape: <key id>.<kind>.<32 hex>
