"""The tables of the periods a release covers (aggregates.md, Hygiene: nothing about an open period).

The planner computes the audited sites once and passes each table the periods it releases; a table
must then speak of those periods only, whatever else the state holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from schemas.taxonomy import ForcedLabourIndicator, Issue, Severity
from services.aggregate.model import Cell
from services.aggregate.population import NormalizedState
from services.aggregate.tables import audited_sites, forced_labour, issue_prevalence, labour_relations
from tests.services.aggregate.crafted import Crafted

Table = Callable[..., list[Cell]]


def world() -> NormalizedState:
    """Two sites audited in 2026-Q1 and again in 2026-Q2, with findings and flags in both."""
    w = Crafted()
    for name in ("a", "b"):
        w.site(name)
        for quarter, day in (("q1", date(2026, 2, 1)), ("q2", date(2026, 5, 1))):
            w.audit(
                f"{name}-{quarter}",
                name,
                (Issue.FORCED_LABOUR, Severity.MAJOR, [ForcedLabourIndicator.DECEPTION]),
                end=day,
                voice=(True, False, False, True),
            )
    return w.state()


@pytest.mark.parametrize("table", [issue_prevalence, forced_labour, labour_relations])
def test_a_table_given_some_periods_speaks_of_those_only(table: Table) -> None:
    state = world()
    audited = audited_sites(state)
    assert set(audited) == {"2026-Q1", "2026-Q2"}
    everything = table(state)
    assert {c.key.get("period") for c in everything} == {"2026-Q1", "2026-Q2"}
    only_q1 = table(state, audited={"2026-Q1": audited["2026-Q1"]})
    assert {c.key.get("period") for c in only_q1} == {"2026-Q1"}
    assert only_q1 == [c for c in everything if c.key.get("period") == "2026-Q1"]
