"""`CleanChecks` (services/aggregate/disclosure/recovery.py): the withholding loop re-checks every
family's recovery LP after each fix, and a family found clean before only solves the counts that can
have become pinned since. It must change nothing but the time: the decisions with it equal those of a
full check every time, on random worlds where the recovery rule fires. The value LP runs only for tables
a benchmark names in `DisclosureParams.value_recovery`, so these worlds name issue-prevalence."""

from __future__ import annotations

import pytest

from services.aggregate.disclosure import DisclosureParams, decide
from services.aggregate.disclosure.recovery import CleanChecks
from services.aggregate.disclosure.residual import build_families
from tests.services.aggregate.test_disclosure import grid, prevalence, random_world

BY_VALUES = frozenset({"issue-prevalence"})


def worlds() -> list[tuple[int, float]]:
    return [(seed, share) for seed in range(10) for share in (0.05, 0.4, 0.97)]


@pytest.fixture
def narrowed() -> list[int]:
    """How many checks CleanChecks narrowed (a test that never narrows would prove nothing)."""
    return []


def test_clean_checks_change_no_decision(monkeypatch: pytest.MonkeyPatch, narrowed: list[int]) -> None:
    real_only = CleanChecks.only

    def counting(self: CleanChecks, *args: object) -> object:
        out = real_only(self, *args)  # type: ignore[arg-type]
        if out is not None:
            narrowed.append(len(out))
        return out

    recovery_fixes = 0
    for seed, share in worlds():
        params = DisclosureParams(outcome_min=12 if seed % 2 else 20, value_recovery=BY_VALUES)
        placement, sites = random_world(seed, n=60 + 10 * seed)
        cells = grid("issue-prevalence", placement, prevalence(seed, placement, share), issue="WAGES")
        cells += grid(
            "issue-prevalence", placement, prevalence(seed + 50, placement, 1 - share), issue="HOURS"
        )
        with monkeypatch.context() as m:
            m.setattr(CleanChecks, "only", counting)
            fast = decide(cells, sites, params)
        with monkeypatch.context() as m:
            m.setattr(CleanChecks, "only", lambda self, *args: None)  # every check in full
            full = decide(cells, sites, params)
        assert fast == full, (seed, share)
        recovery_fixes += fast.counts.withheld_by["recovery"]
    assert narrowed and recovery_fixes > 0


def test_only_what_became_unknown_or_lost_its_held_values_is_checked() -> None:
    placement, _ = random_world(3)
    cells = grid("issue-prevalence", placement, prevalence(3, placement, 0.4), issue="WAGES")
    (family,) = build_families(cells)
    a, b, c, *_ = sorted(family.cells)
    checks = CleanChecks()
    assert checks.only(family, frozenset({a}), {}) is None  # nothing checked clean yet
    checks.clean(family, frozenset({a}), {b: {"sites_with_issue": 1}})
    # b withheld now too (a relaxation) and c newly unknown: only they can be pinned.
    assert checks.only(family, frozenset({a, c}), {b: {"sites_with_issue": 1}}) == frozenset({c})
    assert checks.only(family, frozenset({a, c}), {}) == frozenset({b, c})  # b's held count is a target again
    assert checks.only(family, frozenset({c}), {}) is None  # a known again: no relaxation, full check
