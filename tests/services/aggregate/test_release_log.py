"""The release log the releaser plans on (services/aggregate/release.py `ReleaseLog`): a copy to plan on
is independent of the log the releaser keeps following, and stored noise draws follow one another
(aggregates.md "Differential-privacy mode": every draw of a table's period is counted, so the budget
spent is the sum; a draw is never lost nor counted twice)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.exchange.aggregates import NoiseDrawRecord
from services.aggregate.identity import Affiliation
from services.aggregate.model import CellKey
from services.aggregate.release import ReleaseLog, build_message, draw_key, site_key, state_key

COORDS = {"period": "2026-Q1", "country": "BD", "sector": "APPAREL_TEXTILES", "issue": "WAGES"}
KEY = CellKey.of("issue-prevalence", **COORDS)
WHEN = datetime(2026, 5, 1, tzinfo=UTC)


def draw(n: int, table: str = "forced-labour", period: str = "2026-Q1") -> NoiseDrawRecord:
    return NoiseDrawRecord(
        schema_version=1, table=table, period=period, draws=n, rho_spent=0.1 * n, scale=2.0, cells=[]
    )


def released(log: ReleaseLog) -> None:
    message = build_message(
        "issue-prevalence", COORDS, "suppressed", None, WHEN, WHEN, log.next_revision(KEY)
    )
    log.record(message, {"k1.rsite.a": ""})


def filled() -> ReleaseLog:
    log = ReleaseLog()
    released(log)
    log.record_affiliations(
        {"k1.site.1": Affiliation("k1.company.a", frozenset({"k1.company.a"}), frozenset())}
    )
    log.record_draw(draw(1))
    return log


def test_a_copy_holds_what_the_log_holds() -> None:
    log = filled()
    copy = log.copy()
    assert list(copy.items()) == list(log.items()) and len(copy) == 1
    assert copy.next_revision(KEY) == log.next_revision(KEY) == 1
    assert copy.affiliations == log.affiliations and set(copy.affiliations) == {"k1.site.1"}
    assert copy.draws == log.draws and set(copy.draws) == {("forced-labour", "2026-Q1")}


def test_planning_on_a_copy_leaves_the_log_as_it_was() -> None:
    log = filled()
    copy = log.copy()
    released(copy)
    copy.record_affiliations(
        {"k1.site.2": Affiliation("k1.company.b", frozenset({"k1.company.b"}), frozenset())}
    )
    copy.record_draw(draw(2))
    copy.record_draw(draw(1, table="labour-relations"))
    assert log.next_revision(KEY) == 1 and copy.next_revision(KEY) == 2
    assert set(log.affiliations) == {"k1.site.1"}
    assert log.draws[("forced-labour", "2026-Q1")].record.draws == 1 and len(log.draws) == 1
    # ... and the log keeps following its own records after the copy was taken.
    log.record_draw(draw(1, period="2026-Q3"))
    assert ("forced-labour", "2026-Q3") not in copy.draws


def test_draws_of_a_period_follow_one_another() -> None:
    log = ReleaseLog()
    assert log.record_draw(draw(1)) == (
        draw_key("forced-labour", "2026-Q1"),
        draw(1).model_dump_json().encode(),
    )
    log.record_draw(draw(2))
    for wrong in (1, 2, 4):  # a draw counted twice, or one skipped
        with pytest.raises(ValueError, match=r"draw \d of forced-labour 2026-Q1 does not follow"):
            log.record_draw(draw(wrong))
    log.record_draw(draw(3))
    assert log.draws[("forced-labour", "2026-Q1")].record.draws == 3
    log.record_draw(draw(1, period="2026-Q2"))  # another period counts on its own


def test_the_release_state_keys_are_the_documented_ones() -> None:
    """The release-state topic is compacted by key, and a restart rebuilds the log from it: a key that
    changed shape would leave the old record beside the new one, and the rebuilt log would forget a
    cell's releases (schemas/exchange/aggregates.py documents the keys: compact JSON, sorted keys)."""
    assert state_key(KEY) == (
        b'{"cell":{"country":"BD","issue":"WAGES","period":"2026-Q1","sector":"APPAREL_TEXTILES"},'
        b'"table":"issue-prevalence"}'
    )
    assert draw_key("forced-labour", "2026-Q1") == b'{"noise":{"period":"2026-Q1","table":"forced-labour"}}'
    assert site_key("k1.site.1") == b'{"site":"k1.site.1"}'
