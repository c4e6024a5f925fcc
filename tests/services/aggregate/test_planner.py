"""plan_release over hand-built states: the revision rule counts, per cell, the sites whose contribution
to *that cell* differs from *that cell's* last release."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.exchange.aggregates import LAST_RELEASE_KEY, PENDING_RELEASE_KEY, RELEASE_STATE_TOPIC, topic_of
from schemas.taxonomy import Issue, Severity
from services.aggregate.cell_state import PendingState
from services.aggregate.contributions import Contributions
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.planner import ReleasePlan, plan_release
from services.aggregate.population import NormalizedState
from services.aggregate.release import (
    PENDING,
    PendingAffiliation,
    ReleaseLog,
    expand,
    last_release_of,
    owed_records,
    pending_release_of,
    split_phases,
)
from tests.services.aggregate.hand_built import World
from tests.services.normalize.test_engine import accepted_feed, run

PARAMS = DisclosureParams()  # k_delta = 5
FIRST = datetime(2026, 5, 1, tzinfo=UTC)
CELL = {"period": "2026-Q1", "country": "BD", "sector": "APPAREL_TEXTILES"}


class History:
    """Releases planned one after another, each from the release state the previous ones wrote."""

    def __init__(self) -> None:
        self.state_records: dict[bytes, bytes] = {}
        self.at = FIRST

    def release(self, world: World) -> ReleasePlan:
        plan = plan_release(world.state, ReleaseLog.from_state(self.state_records), PARAMS, self.at)
        for topic, key, value, _ in plan.records:
            if topic == RELEASE_STATE_TOPIC:
                self.state_records[key] = value
        self.at += timedelta(hours=1)
        return plan


def sent_issue_cells(plan: ReleasePlan) -> dict[str, dict[str, Any]]:
    """issue -> the message sent for the BD x apparel cell of that issue in this release."""
    out = {}
    for topic, _, value, _ in plan.records:
        message = json.loads(value)
        if topic == topic_of("issue-prevalence") and message["cell"] == {
            **CELL,
            "issue": message["cell"]["issue"],
        }:
            out[message["cell"]["issue"]] = message
    return out


def world_of(n: int) -> World:
    world = World()
    for i in range(n):
        world.site(f"s{i}")
        world.audit(f"a{i}", f"s{i}", date(2026, 2, 1), (Issue.HEALTH_SAFETY, Severity.MINOR))
    return world


def test_a_site_changing_another_issue_does_not_count_for_this_issue() -> None:
    world, history = world_of(30), History()
    first = sent_issue_cells(history.release(world))
    assert first["WAGES"]["measures"]["sites_with_issue"] == 0 and first["WAGES"]["revision"] == 0

    # Five sites change their health-and-safety findings; one of them also gains a wages finding.
    for i in range(5):
        findings = [(Issue.HEALTH_SAFETY, Severity.MAJOR)] + (
            [(Issue.WAGES, Severity.MINOR)] if i == 0 else []
        )
        world.audit(f"a{i}", f"s{i}", date(2026, 2, 1), *findings)
    second = sent_issue_cells(history.release(world))
    assert second["HEALTH_SAFETY"]["revision"] == 1  # five sites' contributions to it differ
    # Only one site's contribution to the wages cell differs: re-sending it would show that one
    # site's new finding (0 -> 1), so the cell keeps its last release.
    assert "WAGES" not in second


def test_each_cell_counts_changes_since_its_own_last_release() -> None:
    world, history = world_of(30), History()
    history.release(world)
    changed = 0
    for step in (3, 2):  # 3 sites gain a wages finding, then 2 more: 5 since the cell's last release
        for i in range(changed, changed + step):
            world.audit(
                f"a{i}",
                f"s{i}",
                date(2026, 2, 1),
                (Issue.HEALTH_SAFETY, Severity.MINOR),
                (Issue.WAGES, Severity.MAJOR),
            )
        changed += step
        sent = sent_issue_cells(history.release(world))
        if changed < PARAMS.k_delta:
            assert "WAGES" not in sent
    assert sent["WAGES"]["revision"] == 1
    assert sent["WAGES"]["measures"]["sites_with_issue"] == 5


def test_the_marker_is_the_last_record_of_a_release_and_names_it() -> None:
    world, history = world_of(30), History()
    plan = history.release(world)
    assert plan.records[-1][:2] == (RELEASE_STATE_TOPIC, LAST_RELEASE_KEY)
    assert last_release_of(history.state_records) == FIRST
    # The marker is not a cell: the log rebuilt from the same records holds only cells.
    assert all(key.table for key, _ in ReleaseLog.from_state(history.state_records).items())
    assert last_release_of({}) is None


AT = datetime(2026, 6, 1, tzinfo=UTC)


def test_a_recorded_release_is_published_from_the_log_byte_for_byte() -> None:
    """Two phases (release.split_phases): the recorded state with the pending marker, then the public
    messages with the release marker; what a retry publishes from the log equals the second phase."""
    state = NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))
    log = ReleaseLog()
    plan = plan_release(state, log, DisclosureParams(), AT)
    record, publish = split_phases(plan.records, AT)
    # The releaser splits the plan's entries (cells' release states not yet encoded): the same phases.
    assert [list(expand(phase)) for phase in split_phases(plan.entries, AT)] == [record, publish]
    assert all(t == RELEASE_STATE_TOPIC for t, *_ in record) and record[-1][1] == PENDING_RELEASE_KEY
    assert (
        publish[-1][1] == LAST_RELEASE_KEY
        and sum(t != RELEASE_STATE_TOPIC for t, *_ in publish) == plan.sent > 0
    )
    assert len(record) + len(publish) == len(plan.records) + 1  # every record once, plus the pending marker
    restored = ReleaseLog.from_state({k: v for t, k, v, _ in record})
    assert owed_records(restored, AT) == publish
    state_after = {k: v for t, k, v, _ in record}
    assert pending_release_of(state_after) == AT
    assert (
        pending_release_of({**state_after, **{k: v for t, k, v, _ in publish if t == RELEASE_STATE_TOPIC}})
        is None
    )


def test_a_plan_holds_the_cells_release_states_unencoded() -> None:
    """The release state of a first release is every site's token of every cell (180 MiB of JSON at
    300,000 events); a plan keeps it unencoded, one `PendingState` per cell sent, encoded only when the
    records are asked for (the releaser: a slice at a time as it sends). Fails if the planner encodes."""
    state = NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))
    plan = plan_release(state, ReleaseLog(), DisclosureParams(), AT)
    pending = [e for e in plan.entries if isinstance(e, PendingState)]
    affiliations = [e for e in plan.entries if isinstance(e, PendingAffiliation)]
    encoded = [e for e in plan.entries if not isinstance(e, PENDING)]
    assert plan.sent > 0 and len(pending) == plan.sent
    assert affiliations  # a first release writes who stands behind each platform site, unencoded too
    # no cell's or site's release-state record among what the plan holds encoded (markers only)
    assert not any(
        t == RELEASE_STATE_TOPIC and k.startswith((b'{"cell":', b'{"site":')) for t, k, *_ in encoded
    )
    assert [r for p in affiliations for r in p.records()] == [
        (k, v) for t, k, v, _ in plan.records if t == RELEASE_STATE_TOPIC and k.startswith(b'{"site":')
    ]
    cell_states = [
        (k, v) for t, k, v, _ in plan.records if t == RELEASE_STATE_TOPIC and k.startswith(b'{"cell":')
    ]
    assert len(cell_states) >= plan.sent
    assert cell_states == [record for p in pending for record in p.records()]
    # what subscribers get is found without encoding anything
    assert plan.published == [r for r in plan.records if r[0] != RELEASE_STATE_TOPIC] != []


def test_a_periods_issue_cells_share_one_population_in_the_log_without_the_plans_caches() -> None:
    """The release log keeps each cell's contributions until its next release: a population's issue
    cells share it there (one set of sites, not one per issue), and nothing the plan derived from it
    (sorted sites, platform sites) stays with it. Fails if the planner does not drop its caches."""
    state = NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))
    plan = plan_release(state, ReleaseLog(), DisclosureParams(), AT)
    by_population: dict[tuple[tuple[str, str], ...], list[Contributions]] = {}
    for entry in plan.entries:
        if isinstance(entry, PendingState) and entry.key.table == "issue-prevalence":
            assert isinstance(entry.contributions, Contributions)
            where = tuple(c for c in entry.key.coords if c[0] != "issue")
            by_population.setdefault(where, []).append(entry.contributions)
    assert by_population and max(map(len, by_population.values())) > 1
    for held in by_population.values():
        assert len({id(c.population) for c in held}) == 1
        assert not held[0].population.holds_derived


def test_the_release_log_keeps_one_object_per_token_value() -> None:
    """The release log keeps every site's token of every cell until the cell's next release, and a
    year's plan made them by the million from a small vocabulary (labour-relations flags, trained
    sites' participants, audits' and findings' tokens, the groups' 0/1). Each value is to be one
    object. Fails if a table makes a new string per site."""
    state = NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))
    log = ReleaseLog()
    plan_release(state, log, DisclosureParams(), AT)
    for table in ("labour-relations", "capacity-building", "audit-quality", "remediation"):
        tokens = [
            token
            for key, released in log.items()
            if key.table == table
            for token in released.contributions.values()
            if token is not None
        ]
        assert len(tokens) > len(set(tokens)), table  # values repeat: the check means something
        assert len({id(token) for token in tokens}) == len(set(tokens)), table
