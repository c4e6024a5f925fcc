"""No exact recovery: the last line of defence, the only rule that looks at outcome values.

For one family (one table, period and issue/topic/firm) and one additive measure, every relation
`margin = sum of children` of either hierarchy holds. Shown (published) cells' values are known;
a withheld cell's value x is bounded 0 <= x <= its population when its population is shown, and, when
it is suppressed, by what the shown populations imply: its shown parent's population minus the shown
populations of its siblings (the tightest of its parents), else the largest shown population of the
family. The unknowns are split into connected components (through relations containing two or more of
them) and solved per component with HiGHS.

A withheld non-zero count is *recoverable* when the range [min, max] the LP allows contains only one
integer (counts are integers, so this is at least as strict as min == max within 1e-6). Zero counts and
unknowns in no relation are skipped; a relation with one unknown pins it without an LP.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scipy.optimize import linprog  # type: ignore[import-untyped]

from services.aggregate.disclosure.residual import Family, Pattern, Position, Relation
from services.aggregate.disclosure.rules import Status

EPS = 1e-6


def population_size(cell_population: Any, n_sites: int) -> float:
    """The largest population measure (audited_sites, findings...): an upper bound on every additive
    outcome count of the cell."""
    values = [v for v in cell_population.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    return float(max(values)) if values else float(n_sites)


@dataclass(frozen=True, slots=True)
class Recoverable:
    position: Position
    measure: str
    relations: tuple[Relation, ...]  # the relations pinning it (its component's)


def measures(family: Family) -> list[str]:
    return sorted({m for cell in family.cells.values() for m in cell.additive})


def _pop(family: Family, pos: Position) -> float:
    cell = family.cells[pos]
    return population_size(cell.population, len(cell.sites))


def upper_bounds(family: Family, pattern: Pattern) -> dict[Position, float | None]:
    st = pattern.status
    shown_pops = [_pop(family, p) for p in family.cells if st[p] is not Status.SUPPRESSED]
    fallback = max(shown_pops) if shown_pops else None
    bounds: dict[Position, float | None] = {}
    for pos in family.cells:
        if st[pos] is Status.POPULATION_ONLY or st[pos] is Status.PUBLISHED:
            bounds[pos] = _pop(family, pos)
        else:
            bounds[pos] = fallback
    for rel in family.relations:
        if st[rel.margin] is Status.SUPPRESSED:
            continue
        hidden = [c for c in rel.children if st[c] is Status.SUPPRESSED]
        if not hidden:
            continue
        left = _pop(family, rel.margin) - sum(
            _pop(family, c) for c in rel.children if st[c] is not Status.SUPPRESSED
        )
        for c in hidden:
            b = bounds[c]
            bounds[c] = max(0.0, left) if b is None else min(b, max(0.0, left))
    return bounds


def _value(family: Family, pos: Position, measure: str) -> int:
    return int(family.cells[pos].additive.get(measure, 0))


def find_recoverable(family: Family, pattern: Pattern, measure: str) -> Recoverable | None:
    """The first (by position) withheld non-zero count of `measure` that is exactly recoverable."""
    st = pattern.status
    unknown = {p for p in family.cells if st[p] is not Status.PUBLISHED}
    if not unknown:
        return None
    bounds = upper_bounds(family, pattern)
    rels = [r for r in family.relations if r.margin in unknown or any(c in unknown for c in r.children)]
    # union-find over unknowns sharing a relation
    parent: dict[Position, Position] = {p: p for p in unknown}

    def find(p: Position) -> Position:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    in_rel: set[Position] = set()
    for r in rels:
        us = [p for p in (r.margin, *r.children) if p in unknown]
        in_rel.update(us)
        for other in us[1:]:
            parent[find(other)] = find(us[0])
    components: dict[Position, list[Position]] = defaultdict(list)
    for p in sorted(in_rel):
        components[find(p)].append(p)
    comp_rels: dict[Position, list[Relation]] = defaultdict(list)
    for r in rels:
        first = next(p for p in (r.margin, *r.children) if p in unknown)
        comp_rels[find(first)].append(r)

    for root in sorted(components, key=lambda r: components[r][0]):
        comp = components[root]
        crels = comp_rels[root]
        targets = [p for p in comp if _value(family, p, measure) != 0]
        if not targets:
            continue
        # a relation with a single unknown pins it directly
        for r in crels:
            us = [p for p in (r.margin, *r.children) if p in unknown]
            if len(us) == 1 and _value(family, us[0], measure) != 0:
                return Recoverable(us[0], measure, tuple(crels))
        hit = _solve_component(family, comp, crels, unknown, bounds, measure, targets)
        if hit is not None:
            return Recoverable(hit, measure, tuple(crels))
    return None


def _solve_component(
    family: Family,
    comp: list[Position],
    crels: list[Relation],
    unknown: set[Position],
    bounds: dict[Position, float | None],
    measure: str,
    targets: Iterable[Position],
) -> Position | None:
    index = {p: i for i, p in enumerate(comp)}
    a_eq: list[list[float]] = []
    b_eq: list[float] = []
    for r in crels:
        row = [0.0] * len(comp)
        rhs = 0.0
        for p, coef in [(r.margin, 1.0), *((c, -1.0) for c in r.children)]:
            if p in unknown:
                row[index[p]] += coef
            else:
                rhs -= coef * _value(family, p, measure)
        a_eq.append(row)
        b_eq.append(rhs)
    lp_bounds = [(0.0, bounds[p]) for p in comp]

    def solve(c: list[float]) -> Any:
        result = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=lp_bounds, method="highs")
        if not result.success:
            raise RuntimeError(f"recovery LP infeasible for {family.id} {measure}: {result.message}")
        return result

    # Screening: the true values are feasible, so a target that some feasible point sets at least one
    # integer away from its value is not pinned. A few vertices (all up, all down, two alternating
    # directions) rule out most targets before the per-target LPs.
    n = len(comp)
    remaining = list(targets)
    for c in ([1.0] * n, [-1.0] * n, [(-1.0) ** i for i in range(n)], [-((-1.0) ** i) for i in range(n)]):
        x = solve(c).x
        remaining = [t for t in remaining if abs(x[index[t]] - _value(family, t, measure)) < 1 - EPS]
        if not remaining:
            return None
    for target in remaining:
        value = _value(family, target, measure)
        c = [0.0] * n
        c[index[target]] = 1.0
        if math.ceil(solve(c).fun - EPS) < value:  # a smaller integer is possible
            continue
        c[index[target]] = -1.0
        if math.floor(-solve(c).fun + EPS) <= value:
            return target
    return None


def withhold_for(family: Family, pattern: Pattern, hit: Recoverable) -> Position:
    """The published cell to withhold outcomes of: among those in the relations around the recovered
    cell, the smallest population first (then position); failing that, in its component."""
    st = pattern.status

    def published(rels: Iterable[Relation]) -> list[Position]:
        return sorted(
            {p for r in rels for p in (r.margin, *r.children) if st[p] is Status.PUBLISHED},
            key=lambda p: (len(family.cells[p].sites), p),
        )

    direct = [r for r in hit.relations if hit.position in (r.margin, *r.children)]
    candidates = published(direct) or published(hit.relations) or published(family.relations)
    if not candidates:
        raise RuntimeError(f"recoverable cell with nothing published around it in {family.id}")
    return candidates[0]
