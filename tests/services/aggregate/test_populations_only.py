"""The contract's "no exact recovery" decided from populations alone (`view.unshown_child_violation`,
every table's rule unless a benchmark names it in `DisclosureParams.value_recovery`): a pattern that
never reads an outcome value, and still no count an attacker can pin, whatever the values.

Judged by the attackers written from the contract (they share nothing with the engine): the random
worlds' per-party LP (`test_insider_worlds.insider_recovers`) and the history's integer programs
(`insider.attack`); attack 6's two worlds are `test_insider_attacks`'s.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from schemas.exchange.aggregates import TABLES
from schemas.taxonomy import Issue, Sector, Severity
from services.aggregate.disclosure import Decisions, DisclosureParams, Status, decide
from services.aggregate.model import ALL, Cell, CellKey, SiteInfo
from services.aggregate.settings import AggregateSettings
from tests.services.aggregate.crafted import Crafted, Releases
from tests.services.aggregate.insider import attack, summary
from tests.services.aggregate.test_disclosure import grid, prevalence, random_world, wide_world
from tests.services.aggregate.test_insider_attacks import background
from tests.services.aggregate.test_insider_worlds import insider_recovers

ISSUE_PREVALENCE = "issue-prevalence"
PARAMS = DisclosureParams(outcome_min=12)


def two_issues(
    seed: int,
) -> tuple[list[Cell], Mapping[str, SiteInfo], Mapping[str, Mapping[str, Mapping[str, int]]]]:
    """Issues at 97 % and 5 % (remainders whole or empty, where bounds pin), in a world large enough
    that some cells below the total pass outcome_min."""
    placement, sites = random_world(seed, n=150 + 20 * seed)
    values = {
        "HEALTH_SAFETY": prevalence(seed, placement, 0.97),
        "WAGES": prevalence(seed + 50, placement, 0.05),
    }
    cells = [c for issue, v in values.items() for c in grid(ISSUE_PREVALENCE, placement, v, issue=issue)]
    return cells, sites, values


@pytest.mark.parametrize("seed", range(8))
def test_no_insider_pins_a_count_in_random_worlds(seed: int) -> None:
    cells, sites, values = two_issues(seed)
    d = decide(cells, sites, PARAMS)
    assert not any(c.by_values for c in d.cells.values())  # no pattern read a value
    for issue, truth in values.items():
        mine = [c for c in cells if c.key.get("issue") == issue]
        assert not insider_recovers(d, mine, truth, sites)[:5], (seed, issue)


def test_the_mode_still_shows_cells_below_the_total() -> None:
    """Or the test above would prove nothing: in most of its worlds some cell below the total keeps
    its outcomes."""
    showing = 0
    for seed in range(8):
        cells, sites, _ = two_issues(seed)
        d = decide(cells, sites, PARAMS)
        below = [c for c in cells if (c.key.get("country"), c.key.get("sector")) != ("ALL", "ALL")]
        showing += any(d.status(c.key) is Status.PUBLISHED for c in below)
    assert showing >= 5


def test_a_history_with_arrivals_revisions_and_withdrawals_leaks_nothing() -> None:
    """Releases of a small country through arrivals, a revision, a consent withdrawn and granted:
    the integer-programming attacker finds nothing in the issue-prevalence messages."""
    world, releases = Crafted(), Releases(params=DisclosureParams())
    background(world, "a", 26, sector=Sector.APPAREL_TEXTILES)
    background(world, "f", 14, sector=Sector.FOOTWEAR_LEATHER)
    releases.release(world)
    for i in range(6):
        world.site(f"new{i}", sector=Sector.FOOTWEAR_LEATHER, company="newco" if i < 3 else None)
        world.audit(f"new{i}-audit", f"new{i}", (Issue.HEALTH_SAFETY, Severity.CRITICAL))
    releases.release(world)
    world.audit("a3-audit", "a3", (Issue.WAGES, Severity.CRITICAL))
    world.withdraw_consent("newco")
    releases.release(world)
    world.grant_consent("newco")
    releases.release(world)
    found = [v for v in attack(releases.history) if v.cell.startswith(ISSUE_PREVALENCE)]
    assert not found, summary(found)


def test_the_service_decides_every_table_from_populations_and_no_setting_selects_the_value_lp() -> None:
    """The value LP breaks the contract (attack 6): the service's parameters never name it, whatever
    the environment says, and a benchmark may name known tables only."""
    environ = {"AGGREGATE_VALUE_RECOVERY_TABLES": "issue-prevalence", "AGGREGATE_POPULATIONS_ONLY_TABLES": ""}
    params = AggregateSettings.from_env(environ).disclosure_params()
    assert params.value_recovery == frozenset()
    assert all(params.decides_from_populations(table) for table in TABLES)
    assert not DisclosureParams(value_recovery=frozenset({ISSUE_PREVALENCE})).decides_from_populations(
        ISSUE_PREVALENCE
    )
    # capacity-building's rate groups follow their table
    by_values = DisclosureParams(value_recovery=frozenset({"capacity-building"}))
    assert not by_values.decides_from_populations("capacity-building.groups")
    assert PARAMS.decides_from_populations("capacity-building.groups")
    with pytest.raises(ValueError, match="unknown tables: nonsense"):
        DisclosureParams(value_recovery=frozenset({"nonsense"}))


def outcomes_allowed(d: Decisions, at: Mapping[tuple[str, str], CellKey], cs: tuple[str, str]) -> bool:
    """The rule's ceiling for a cell of a country x sector grid: it is shown and passes the primary
    rules, and so does every leaf below it."""
    x = d.cells[at[cs]]
    below = [p for p in at if ALL not in p and p != cs and cs[0] in (ALL, p[0]) and cs[1] in (ALL, p[1])]
    shown = x.primary is Status.PUBLISHED and x.status is not Status.SUPPRESSED
    return shown and all(outcomes_allowed(d, at, p) for p in below)


@pytest.mark.parametrize("seed", range(12))
def test_no_outcome_is_withheld_that_the_rule_allows(seed: int) -> None:
    """What to withhold is chosen optimally for outcomes: under the rule a cell may show its outcomes
    only if it is shown and passes the primary rules, and so does every cell below it; the engine
    withholds no outcome beyond that ceiling (given the cells it suppressed). Worlds of both shapes of
    `test_disclosure`, first releases; written from the rule, with the engine's decisions as input."""
    if seed % 2:
        placement, sites = wide_world(seed)
    else:
        placement, sites = random_world(seed, n=150 + 20 * seed)
    cells = grid(ISSUE_PREVALENCE, placement, prevalence(seed, placement, 0.3), issue="WAGES")
    d = decide(cells, sites, DisclosureParams())
    at = {(c.key.get("country"), c.key.get("sector")): c.key for c in cells}
    missed = [cs for cs in at if outcomes_allowed(d, at, cs) and d.status(at[cs]) is not Status.PUBLISHED]
    assert not missed, missed
    assert any(d.status(k) is Status.PUBLISHED for k in at.values())
