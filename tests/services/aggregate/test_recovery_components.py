"""No exact recovery (aggregates.md "Disclosure control": no withheld count may be worked out exactly
from what a release shows), over a table whose withheld cells fall into separate groups.

A 2 x 2 country x sector table with every margin published and two cells withheld, BD x A and VN x B:
each is its row's margin minus its published neighbour, so each is pinned exactly. A withheld count of
zero tells nothing new (the contract protects findings; nothing is found), but a group of such cells
must not hide the next group from the check."""

from __future__ import annotations

from services.aggregate.disclosure import DisclosureParams, Status
from services.aggregate.disclosure.recovery import find_recoverable
from services.aggregate.disclosure.residual import Family, Pattern, Position, build_families
from tests.services.aggregate.test_disclosure import severity_grid

P = DisclosureParams()


def withheld(bd_a: dict[str, int], vn_b: dict[str, int]) -> tuple[Pattern, Family, tuple[Position, Position]]:
    cells, _ = severity_grid(
        {
            ("BD", "A"): bd_a,
            ("BD", "B"): {"major": 3, "none": 7},
            ("VN", "A"): {"minor": 2, "none": 8},
            ("VN", "B"): vn_b,
        }
    )
    [family] = build_families(cells)
    hidden = tuple(
        pos for pos in family.cells if dict(pos).get("country") != "ALL" and dict(pos).get("sector") != "ALL"
    )
    targets = [p for p in hidden if dict(p)["country"] + dict(p)["sector"] in ("BDA", "VNB")]
    status = {pos: Status.SUPPRESSED if pos in targets else Status.PUBLISHED for pos in family.cells}
    pattern = Pattern(status=status, primary=dict(status))
    return pattern, family, (targets[0], targets[1])


def test_a_pinned_count_is_found_behind_a_group_that_tells_nothing() -> None:
    nothing = {"none": 10}  # BD x A: no site with the issue, every count zero
    pattern, family, (bd_a, vn_b) = withheld(nothing, {"critical": 4, "none": 6})
    assert dict(bd_a)["country"] == "BD" and dict(vn_b)["country"] == "VN"
    hit = find_recoverable(family, pattern)
    assert hit is not None and hit.position == vn_b


def test_nothing_is_found_when_every_withheld_count_is_zero() -> None:
    pattern, family, _ = withheld({"none": 10}, {"none": 10})
    assert find_recoverable(family, pattern) is None


def test_a_margin_held_at_its_old_values_is_bounded_by_its_own_population() -> None:
    """The contract's bounds: each count is between 0 and its cell's population, shown or not. Here the
    subscriber holds the grand total at old values (unknown now, as the view counts a held cell); two
    sector totals of 20 sites show 18 sites with the issue each, so the grand total's count is at
    least 36, above every shown population. A bound other than the total's own population (60) is
    below the truth and makes the program infeasible, which stopped every later release of a
    multi-year history."""
    cells, _ = severity_grid(
        {(country, sector): {"major": 9, "none": 1} for country in ("BD", "VN") for sector in ("A", "B", "C")}
    )
    [family] = build_families(cells)

    def at(country: str, sector: str) -> Position:
        return next(p for p in family.cells if dict(p) == {"country": country, "sector": sector})

    status = {pos: Status.POPULATION_ONLY for pos in family.cells}
    status[at("ALL", "ALL")] = Status.SUPPRESSED  # held: unknown now
    status[at("ALL", "A")] = status[at("ALL", "B")] = Status.PUBLISHED
    pattern = Pattern(status=status, primary=dict(status))
    assert family.cells[at("ALL", "ALL")].additive["sites_with_issue"] == 54
    assert find_recoverable(family, pattern) is None  # nothing pinned, and no infeasible program
