"""The sensitivity a draw is calibrated to must bound what one site can really change.

Checked by changing one site's findings in a crafted world and measuring the change in the vector of
base counts the tables produce for the period (every cell, margins included): never above Delta^2, and
reaching it in the worst case, so the noise is neither too small (a leak) nor larger than it need be.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.exchange.aggregates import FORCED_LABOUR, ISSUE_PREVALENCE
from schemas.taxonomy import ForcedLabourIndicator, Issue, Sector, Severity
from services.aggregate.noise import BASE_COUNTS, squared_sensitivity
from services.aggregate.tables import forced_labour, issue_prevalence
from tests.services.aggregate.crafted import Crafted, FindingSpec

SECTORS = (Sector.APPAREL_TEXTILES, Sector.FOOTWEAR_LEATHER)


def _world(victim: Sequence[FindingSpec]) -> Crafted:
    world = Crafted()
    for country in ("BD", "VN"):
        for sector in SECTORS:
            for i in range(6):
                name = world.site(f"{country}-{sector.value[:4]}-{i}", country=country, sector=sector)
                world.audit(f"{name}-a", name, *([(Issue.WAGES, Severity.MINOR)] if i % 2 else []))
    world.site("victim", country="BD", sector=SECTORS[0])
    world.audit("victim-a", "victim", *victim)
    return world


def _vector(world: Crafted, table: str) -> dict[tuple[object, str], int]:
    cells = issue_prevalence(world.state()) if table == ISSUE_PREVALENCE else forced_labour(world.state())
    return {(c.key, name): c.additive[name] for c in cells for name in BASE_COUNTS[table]}


def _squared_change(table: str, before: Sequence[FindingSpec], after: Sequence[FindingSpec]) -> int:
    a, b = _vector(_world(before), table), _vector(_world(after), table)
    assert a.keys() == b.keys()  # same populations: the neighbours differ in findings only
    return sum((a[k] - b[k]) ** 2 for k in a)


def test_issue_prevalence_worst_case_reaches_the_bound() -> None:
    every_major: list[FindingSpec] = [(issue, Severity.MAJOR) for issue in Issue]
    every_critical: list[FindingSpec] = [(issue, Severity.CRITICAL) for issue in Issue]
    assert _squared_change(ISSUE_PREVALENCE, every_major, every_critical) == squared_sensitivity(
        ISSUE_PREVALENCE
    )


def test_forced_labour_worst_case_reaches_the_bound() -> None:
    everything: list[FindingSpec] = [(Issue.FORCED_LABOUR, Severity.CRITICAL, list(ForcedLabourIndicator))]
    assert _squared_change(FORCED_LABOUR, [], everything) == squared_sensitivity(FORCED_LABOUR)


findings = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(list(Issue)), st.sampled_from(list(Severity))),
        st.tuples(
            st.just(Issue.FORCED_LABOUR),
            st.sampled_from(list(Severity)),
            st.lists(st.sampled_from(list(ForcedLabourIndicator)), min_size=1, unique=True),
        ),
    ),
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(before=findings, after=findings)
def test_no_change_of_one_site_exceeds_the_bound(before: list[FindingSpec], after: list[FindingSpec]) -> None:
    for table in (ISSUE_PREVALENCE, FORCED_LABOUR):
        assert _squared_change(table, before, after) <= squared_sensitivity(table)
