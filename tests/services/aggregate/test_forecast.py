"""Forecasts in a release (services.aggregate.forecast via plan_release), written from the contract's
promise that forecasting discloses nothing new: a forecast is a function of the published messages.

* Two normalised states that give the same published view give byte-identical forecast records; a
  change to a published value changes the forecast.
* Forecasts exist exactly for the issue-prevalence series published with outcomes at the latest period
  with enough consecutive published periods; none for withheld or suppressed cells.
* A subscriber recomputes every forecast from the public table messages alone.
* Replays, restarts and owed releases give the same bytes; an unchanged view sends nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from schemas.exchange.aggregates import (
    FORECASTS_TOPIC,
    RELEASE_STATE_TOPIC,
    ForecastMessage,
    parse_message,
    topic_of,
)
from schemas.taxonomy import Issue, Sector, Severity
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.forecast import model
from services.aggregate.forecast.messages import build_forecast
from services.aggregate.forecast.series import series_of
from services.aggregate.planner import ReleasePlan, plan_release
from services.aggregate.release import Record, ReleaseLog, assert_hygienic, owed_records, split_phases
from tests.services.aggregate.crafted import FIRST_Q1_RELEASE, Crafted

QUARTERS = [(y, q) for y in (2024, 2025) for q in (1, 2, 3, 4)] + [(2026, 1)]
Q2_RELEASE = datetime(2026, 7, 31, tzinfo=UTC)  # 2026-Q2 closes on 2026-06-30 + 30 days
ISSUE_PUBLIC = topic_of("issue-prevalence")


def _day(year: int, quarter: int) -> date:
    return date(year, 3 * quarter - 1, 15)


def world(quarters: list[tuple[int, int]] = QUARTERS) -> Crafted:
    """24 sites in BD and in VN (their cells show outcomes: at least outcome_min = 20 sites), 6 in KH
    (population only), apparel, one audit each per quarter; WAGES and HEALTH_SAFETY come and go."""
    w = Crafted()
    for country, n in (("BD", 24), ("VN", 24), ("KH", 6)):
        for i in range(n):
            w.site(f"{country}{i}", country=country, sector=Sector.APPAREL_TEXTILES)
    for t, (year, quarter) in enumerate(quarters):
        for country, n in (("BD", 24), ("VN", 24), ("KH", 6)):
            for i in range(n):
                audit(w, country, i, year, quarter, t)
    return w


def audit(
    w: Crafted, country: str, i: int, year: int, quarter: int, t: int, *extra: tuple[Issue, Severity]
) -> None:
    findings: list[tuple[Issue, Severity]] = []
    if (i * 5 + t * 3 + len(country)) % 11 < 3 + t % 4:
        findings.append((Issue.WAGES, Severity.MAJOR))
    if (i * 7 + t) % 5 == 0:
        findings.append((Issue.HEALTH_SAFETY, Severity.MINOR))
    w.audit(f"{country}{i}-{year}Q{quarter}", f"{country}{i}", *findings, *extra, end=_day(year, quarter))


def release(w: Crafted, log: ReleaseLog | None = None, at: datetime = FIRST_Q1_RELEASE) -> ReleasePlan:
    return plan_release(w.state(), ReleaseLog() if log is None else log, DisclosureParams(), at)


def forecasts(plan: ReleasePlan) -> list[Record]:
    return [r for r in plan.records if r[0] == FORECASTS_TOPIC]


def table_records(plan: ReleasePlan) -> list[Record]:
    return [r for r in plan.records if r[0] not in (FORECASTS_TOPIC, RELEASE_STATE_TOPIC)]


def messages(plan: ReleasePlan) -> list[ForecastMessage]:
    return [ForecastMessage.model_validate_json(v) for _, _, v, _ in forecasts(plan)]


@pytest.fixture(scope="module")
def first() -> ReleasePlan:
    return release(world())


def test_forecasts_for_the_series_published_with_outcomes_and_no_others(first: ReleasePlan) -> None:
    """From the contract's view: every issue-prevalence series whose 2026-Q1 cell shows outcomes and
    whose nine quarters are all published with outcomes gets a 2026-Q2 forecast; nothing else does."""
    shown: dict[tuple[str, str, str], set[str]] = {}
    withheld: set[tuple[str, str, str]] = set()
    for topic, _, value, _ in table_records(first):
        if topic != ISSUE_PUBLIC:
            continue
        m = json.loads(value)
        c = m["cell"]
        key = (c["country"], c["sector"], c["issue"])
        if m["measures"] is not None and m["measures"]["rate_pct"] is not None:
            shown.setdefault(key, set()).add(c["period"])
        else:
            withheld.add(key)
    expected = {k for k, periods in shown.items() if len(periods) == len(QUARTERS)}
    got = {(m.cell.country, m.cell.sector, m.cell.issue) for m in messages(first)}
    assert got == expected and len(got) >= 6
    assert {k[0] for k in withheld} >= {"KH"} and not any(k[0] == "KH" for k in got)
    for m in messages(first):
        assert m.cell.period == "2026-Q2" and m.last_period == "2026-Q1"
        assert m.periods_used == len(QUARTERS) and m.revision == 0 and m.method == model.METHOD
        assert 0 <= m.lower_80 <= m.rate_pct <= m.upper_80 <= 100
    assert first.forecasts.sent == len(got)


def test_forecast_records_are_hygienic_and_keyed_like_the_table(first: ReleasePlan) -> None:
    for _, key, value, headers in forecasts(first):
        assert_hygienic(value)
        m = ForecastMessage.model_validate_json(value)
        assert key == json.dumps(m.cell.model_dump(), sort_keys=True, separators=(",", ":")).encode()
        h = dict(headers)
        assert h["ce_type"] == b"org.sourcing-exchange.aggregate.forecast.issue-prevalence"
        assert h["ce_time"] == b"2026-05-01T00:00:00Z"
    # Forecast records come before the marker, in the release's transaction.
    assert first.records[-1][0] == RELEASE_STATE_TOPIC and first.records[-1][1] == b"__last_release__"


def test_a_subscriber_recomputes_every_forecast_from_the_public_tables(first: ReleasePlan) -> None:
    """The forecast is a function of the published messages: parsing the table topics' values and
    nothing else gives the same forecasts."""
    public = [parse_message(v) for t, _, v, _ in table_records(first)]
    recomputed = [build_forecast(s, FIRST_Q1_RELEASE, 0) for s in series_of(public, model.MIN_PERIODS)]
    assert recomputed == messages(first)


def test_same_published_view_from_different_states_gives_identical_forecasts(first: ReleasePlan) -> None:
    """Two KH sites (a cell whose outcomes are withheld) swap their WAGES findings in 2025-Q3: the
    normalised state differs, every published value (the margins included) is the same, and so is
    every forecast byte."""
    w = world()
    t = QUARTERS.index((2025, 3))
    kh = [i for i in range(6) if (i * 5 + t * 3 + 2) % 11 < 3 + t % 4]
    kh_without = [i for i in range(6) if i not in kh]
    assert kh and kh_without
    a, b = kh[0], kh_without[0]
    w.audit(f"KH{a}-2025Q3", f"KH{a}", end=_day(2025, 3))
    w.audit(f"KH{b}-2025Q3", f"KH{b}", (Issue.WAGES, Severity.MAJOR), end=_day(2025, 3))
    other = release(w)
    assert w.state().audits != world().state().audits  # the states differ
    assert table_records(other) == table_records(first)  # the published view does not
    assert forecasts(other) == forecasts(first) and forecasts(first)


def test_held_changes_change_no_forecast() -> None:
    """A late revision of one BD site's 2025-Q3 audit is held by the revision rule (fewer than k_delta
    sites changed): the next release publishes the same view whether or not it happened, and sends the
    same new forecasts."""
    log_a, log_b = ReleaseLog(), ReleaseLog()
    release(world(), log_a)
    release(world(), log_b)
    later = [*QUARTERS, (2026, 2)]
    a, b = world(later), world(later)
    audit(b, "BD", 0, 2025, 3, QUARTERS.index((2025, 3)), (Issue.CHILD_LABOUR, Severity.CRITICAL))
    plan_a, plan_b = release(a, log_a, Q2_RELEASE), release(b, log_b, Q2_RELEASE)
    assert plan_b.held > 0
    assert table_records(plan_a) == table_records(plan_b)
    assert forecasts(plan_a) == forecasts(plan_b)
    assert {m.cell.period for m in messages(plan_a)} == {"2026-Q3"}


def test_a_changed_published_value_changes_the_forecast(first: ReleasePlan) -> None:
    """Six more BD sites with WAGES in 2025-Q4 (published with outcomes): the BD and margin forecasts of
    WAGES change, the others do not."""
    w = world()
    t = QUARTERS.index((2025, 4))
    without = [i for i in range(24) if not (i * 5 + t * 3 + 2) % 11 < 3 + t % 4][:6]
    for i in without:
        audit(w, "BD", i, 2025, 4, t, (Issue.WAGES, Severity.MINOR))
    before = {m.cell.model_dump_json(): m for m in messages(first)}
    after = {m.cell.model_dump_json(): m for m in messages(release(w))}
    changed = {k for k in before if before[k] != after[k]}
    assert changed and all(
        before[k].cell.issue == "WAGES" and before[k].cell.country in ("BD", "ALL") for k in changed
    )


def test_replay_restart_and_owed_release_give_the_same_bytes(first: ReleasePlan) -> None:
    assert release(world()).records == first.records  # a replay from scratch
    log = ReleaseLog()
    plan = release(world(), log)
    state = {k: v for t, k, v, _ in plan.records if t == RELEASE_STATE_TOPIC}
    restarted = ReleaseLog.from_state(state)
    assert restarted.forecasts == log.forecasts
    # The public phase rebuilt from the recorded log (a publish that failed) is the planned one.
    _, public = split_phases(plan.records, FIRST_Q1_RELEASE)
    assert owed_records(restarted, FIRST_Q1_RELEASE) == public


def test_an_unchanged_view_sends_nothing() -> None:
    log = ReleaseLog()
    release(world(), log)
    again = release(world(), ReleaseLog.from_state(_state_of(log)), datetime(2026, 5, 1, 1, tzinfo=UTC))
    assert again.sent == 0 and forecasts(again) == [] and again.forecasts.unchanged > 0


def _state_of(log: ReleaseLog) -> dict[bytes, bytes]:
    from services.aggregate.release import forecast_key, state_records

    out = {key: value for k, r in log.items() for key, value in state_records(k, r)}
    out.update({forecast_key(k): r.model_dump_json().encode() for k, r in log.forecasts.items()})
    return out


def test_a_key_rotation_leaves_the_forecast_state_alone(first: ReleasePlan) -> None:
    """The rotation renames every pseudonym of the release log (rekey.py); a forecast's state holds
    published values only, so it is neither rewritten nor in the way."""
    from services.aggregate.rekey import rekey_release_log

    state = {k: v for t, k, v, _ in first.records if t == RELEASE_STATE_TOPIC}
    forecast_keys = {k for k in state if k.startswith(b'{"forecast":')}
    assert forecast_keys
    writes = rekey_release_log(state, lambda name: name.replace("t.", "u.", 1))
    assert not forecast_keys & writes.keys()
