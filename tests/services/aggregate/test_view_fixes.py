"""How the subscriber's view is mended (aggregates.md "Disclosure control", revision 2; the fixes of
`services/aggregate/disclosure/view.py` as its module docs state them).

A held cell cannot be withheld by a later release without being re-sent, so when the view breaks a
rule the exchange withholds other cells first: "ones it re-sends anyway, or the margin" (the
contract's residual rule). The docs order the candidates: cells this release sends anyway, smallest
first, then the margin, then cells held or unchanged. And a violation says how far to withhold: a
remainder that fails threshold or insider suppresses; an outcome that could be worked out withholds
outcomes only.

The families are built by hand (the engine is generic over a table's margin dimensions), with sites
that each have their own principal owner, so the threshold and insider rules turn on site counts
alone: with k_sites 5 a remainder of two sites fails, with outcome_min 20 one of nine does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest

from services.aggregate.disclosure import DisclosureParams, Status
from services.aggregate.disclosure import view as view_module
from services.aggregate.disclosure.recovery import CleanChecks
from services.aggregate.disclosure.residual import Family, Position, build_families
from services.aggregate.disclosure.view import (
    ViewEntry,
    determined_violation,
    first_violation,
    residual_violation,
    sum_violation,
)
from services.aggregate.identity import Parties
from services.aggregate.model import ALL, Cell, CellKey, SiteInfo

P = DisclosureParams()
TABLE = "forced-labour"


def sites(prefix: str, n: int) -> frozenset[str]:
    return frozenset(f"{prefix}{i}" for i in range(n))


def family(children: dict[str, frozenset[str]]) -> Family:
    """One margin `country = ALL` over the given countries (one sector), as the engine builds it."""
    every = frozenset().union(*children.values())
    cells = [
        Cell(
            CellKey.of(TABLE, period="2026-Q1", country=country, sector="APPAREL_TEXTILES"),
            members,
            {"audited_sites": len(members)},
            {},
        )
        for country, members in (*children.items(), (ALL, every))
    ]
    (built,) = build_families(cells)
    return built


def pos(country: str) -> Position:
    return (("country", country),)


def parties(all_sites: Iterable[str]) -> Parties:
    return Parties.of_sites(
        SiteInfo(s, f"owner-{s}", frozenset({f"owner-{s}"}), frozenset()) for s in all_sites
    )


def shown(members: frozenset[str], *, sent: bool, known_now: bool = True) -> ViewEntry:
    """A cell the subscriber holds with its outcomes (at current values if `known_now`)."""
    return ViewEntry(Status.PUBLISHED, members, known_now, False, frozenset(), sent, known_now)


def withheld(members: frozenset[str], *, sent: bool) -> ViewEntry:
    """A cell whose outcomes the subscriber has never seen: every site of it is new to it."""
    fresh = frozenset(frozenset({s}) for s in members)
    return ViewEntry(Status.POPULATION_ONLY, members, False, True, fresh, sent, True)


def test_a_residual_on_the_view_suppresses_cells_sent_anyway_first_smallest_first_then_the_margin() -> None:
    """BD (12 sites) and VN (10) are sent with this release, KH (6) is held at its old sites, MM (2)
    is suppressed: the margin minus what the subscriber holds is MM's two sites, which fail the
    threshold. The fix suppresses, and tries VN, then BD, then the margin, and the held KH last."""
    members = {"BD": sites("bd", 12), "VN": sites("vn", 10), "KH": sites("kh", 6), "MM": sites("mm", 2)}
    fam = family(members)
    view = {
        pos("BD"): shown(members["BD"], sent=True),
        pos("VN"): shown(members["VN"], sent=True),
        pos("KH"): shown(members["KH"], sent=False, known_now=False),
        pos("MM"): ViewEntry(Status.SUPPRESSED, members["MM"], False, True, frozenset(), True),
        pos(ALL): shown(fam.cells[pos(ALL)].sites, sent=True),
    }
    who = parties(fam.cells[pos(ALL)].sites)
    (relation,) = fam.relations
    violation = residual_violation(fam, view, relation.margin, relation.children, who, P)
    assert violation is not None
    assert violation.rule == "residual" and violation.to is Status.SUPPRESSED
    assert violation.candidates == (pos("VN"), pos("BD"), pos(ALL), pos("KH"))

    # Suppress MM's neighbour instead and count MM in: the remainder is empty, nothing to mend.
    view[pos("MM")] = shown(members["MM"], sent=True)
    assert residual_violation(fam, view, relation.margin, relation.children, who, P) is None


def test_an_outcome_residual_on_the_view_withholds_outcomes_only() -> None:
    """The margin shows outcomes; the children showing outcomes leave out KH's nine sites, fewer than
    outcome_min: the fix withholds outcomes (not the population). Under the populations-only recovery
    rule the margin comes first (a child without outcomes takes its outcomes anyway); under the value
    LP, the children sent anyway first."""
    members = {"BD": sites("bd", 25), "VN": sites("vn", 22), "KH": sites("kh", 9)}
    fam = family(members)
    view = {
        pos("BD"): shown(members["BD"], sent=False),
        pos("VN"): shown(members["VN"], sent=True),
        pos("KH"): ViewEntry(Status.POPULATION_ONLY, members["KH"], False, False, frozenset(), True, True),
        pos(ALL): shown(fam.cells[pos(ALL)].sites, sent=True),
    }
    (relation,) = fam.relations
    violation = residual_violation(
        fam, view, relation.margin, relation.children, parties(fam.cells[pos(ALL)].sites), P
    )
    assert violation is not None
    assert violation.to is Status.POPULATION_ONLY
    assert violation.candidates == (pos(ALL), pos("VN"), pos("BD"))
    by_values = replace(P, value_recovery=frozenset({fam.table}))
    violation = residual_violation(
        fam, view, relation.margin, relation.children, parties(fam.cells[pos(ALL)].sites), by_values
    )
    assert violation is not None and violation.candidates == (pos("VN"), pos(ALL), pos("BD"))


def test_a_cell_pinned_by_the_relations_withholds_the_outcomes_known_around_it() -> None:
    """The margin and BD show their outcomes now; VN's were never shown: the relation pins VN's counts
    (margin minus BD), a single withheld cell, which is never allowed. The cells known around it are
    the candidates, sent ones first and smallest first (the margin is one of them here, not apart)."""
    members = {"BD": sites("bd", 30), "VN": sites("vn", 25)}
    fam = family(members)
    view = {
        pos("BD"): shown(members["BD"], sent=True),
        pos("VN"): withheld(members["VN"], sent=True),
        pos(ALL): shown(fam.cells[pos(ALL)].sites, sent=False),
    }
    who = parties(fam.cells[pos(ALL)].sites)
    violation = determined_violation(fam, view, who, P)
    assert violation is not None
    assert violation.rule == "recovery" and violation.to is Status.POPULATION_ONLY
    assert violation.candidates == (pos("BD"), pos(ALL))  # BD is sent anyway; the unchanged margin after

    # Rule 2 sees the same relation as an exact sum of one withheld cell.
    (relation,) = fam.relations
    by_sum = sum_violation(fam, view, relation.margin, relation.children, who, P)
    assert by_sum is not None and by_sum.to is Status.POPULATION_ONLY
    assert by_sum.candidates == (pos("BD"), pos(ALL))


def test_a_margin_worked_out_from_children_all_known_withholds_among_the_children() -> None:
    """Both countries show their outcomes now and the margin's were never shown: the margin is their
    sum, worked out exactly (a single withheld cell). The fix withholds a child, smallest first."""
    members = {"BD": sites("bd", 30), "VN": sites("vn", 25)}
    fam = family(members)
    view = {
        pos("BD"): shown(members["BD"], sent=True),
        pos("VN"): shown(members["VN"], sent=True),
        pos(ALL): withheld(fam.cells[pos(ALL)].sites, sent=True),
    }
    (relation,) = fam.relations
    violation = sum_violation(
        fam, view, relation.margin, relation.children, parties(fam.cells[pos(ALL)].sites), P
    )
    assert violation is not None and violation.to is Status.POPULATION_ONLY
    assert violation.candidates == (pos("VN"), pos("BD"))


def test_a_three_dimensional_margin_covers_exactly_the_positions_equal_to_it_where_it_is_not_all() -> None:
    """residual.py: a margin with ALL in two or more dimensions is checked against every position below
    it, i.e. equal to it wherever it is not ALL. With three margin dimensions, (ALL, ALL, c) covers the
    positions whose third coordinate is c, and no position of another c."""
    cells = []
    for a in ("a1", "a2", ALL):
        for b in ("b1", "b2", ALL):
            for c in ("c1", "c2", ALL):
                members = frozenset({f"{a}{b}{c}"})
                key = CellKey(TABLE, (("a", a), ("b", b), ("c", c), ("period", "2026-Q1")))
                cells.append(Cell(key, members, {"audited_sites": 1}, {}))
    (fam,) = build_families(cells)
    covers = {cover.margin: set(cover.below) for cover in fam.covers}
    margin = (("a", ALL), ("b", ALL), ("c", "c1"))
    expected = {p for p in fam.cells if p != margin and p[2] == ("c", "c1")}
    assert covers[margin] == expected
    assert len(expected) == 8  # a1/a2/ALL x b1/b2/ALL, less the margin itself


def test_a_margin_found_clean_is_not_checked_again_over_the_same_entries_but_is_over_new_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`CleanChecks` keeps the residual rule's clean margins by the identity of the entries it read
    (a cell's entry is the same object while its status is): the withholding loop's next pass skips
    them; a changed entry, even an equal new one, is checked again."""
    children = {"BD": sites("b", 12), "VN": sites("v", 10), "MM": sites("m", 2)}
    f = family(children)
    every = frozenset().union(*children.values())
    view = {pos(c): shown(m, sent=True) for c, m in children.items()} | {pos(ALL): shown(every, sent=True)}
    calls: list[Position] = []

    def counted(fam: Family, v: object, margin: Position, *args: object, **kwargs: object) -> object:
        calls.append(margin)
        return residual_violation(fam, v, margin, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(view_module, "residual_violation", counted)
    checks, who = CleanChecks(), parties(every)
    assert first_violation(f, view, who, P, checks) is None
    assert calls == [pos(ALL)]
    assert first_violation(f, view, who, P, checks) is None
    assert calls == [pos(ALL)]  # the same entries: not checked again
    assert first_violation(f, dict(view), who, P, checks) is None and len(calls) == 1  # same objects
    again = {**view, pos("VN"): replace(view[pos("VN")])}  # equal, but a new entry
    assert first_violation(f, again, who, P, checks) is None and len(calls) == 2
    # MM suppressed (a new entry): what the margin shows beyond BD and VN is MM's two sites
    broken = {**again, pos("MM"): replace(view[pos("MM")], status=Status.SUPPRESSED)}
    found = first_violation(f, broken, who, P, checks)
    assert found is not None and found.rule == "residual" and len(calls) == 3
    assert first_violation(f, view, who, P) is None and len(calls) == 4  # no checks given: always run
