"""No exact recovery from values: the last line of defence, the only rule that looks at outcome values.

Revision 2 runs it on the subscriber's view after the release (`view.recovery_violation`): cells not
known now (withheld, or held at old values) are the unknowns, and a count the subscriber already holds
is no target. The population-only rules of `view` come first and catch every pin that does not depend
on values; this LP catches the rest (a zero or a full remainder that forces its cells to a bound). It
reacts to values, so when it fires, the fact tells an attacker that knows the algorithm something
(issue 9, attack 6); docs/aggregate.md says so, and the differential-privacy mode is the remedy.

For one family (one table, period and issue/topic/firm) a single LP holds every additive measure of
every withheld cell at once, with all the relations the release publishes:

* **hierarchies**, per measure: `margin = sum of children` along either dimension;
* **within a cell**, between its measures (keyed on the measure names, so they hold whatever the
  table): `by_severity.critical + by_severity.major + by_severity.minor = sites_with_issue`
  (issue-prevalence: a site with the issue has exactly one highest severity), and
  `by_indicator.X <= sites_with_indicator <= sum of by_indicator` for every indicator X
  (forced-labour: a site with an indicator has at least one), and `closed_on_time <= closed`
  (remediation);
* **bounds**: shown (published) cells' values are known; a withheld cell's counts are bounded
  0 <= x <= its population when its population is shown, and, when it is suppressed, by what the shown
  populations imply: its shown parent's population minus the shown populations of its siblings (the
  tightest of its parents), else the largest shown population of the family.

The unknowns (cell, measure) are split into connected components (through relations containing two or
more of them) and solved per component with HiGHS: a few feasible vertices screen out most targets,
then a min and a max LP decide each remaining one.

A withheld non-zero count is *recoverable* when the range [min, max] the LP allows contains only one
integer (counts are integers, so this is at least as strict as min == max within 1e-6). Zero counts are
skipped; an equality with one unknown pins it without an LP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scipy.optimize import linprog  # type: ignore[import-untyped]
from scipy.sparse import csr_array  # type: ignore[import-untyped]

from services.aggregate.disclosure.residual import Family, FamilyId, Pattern, Position, Relation
from services.aggregate.disclosure.rules import Status

EPS = 1e-6
WITH_ISSUE = "sites_with_issue"
SEVERITY_PREFIX = "by_severity."
WITH_INDICATOR = "sites_with_indicator"
INDICATOR_PREFIX = "by_indicator."
CLOSED = "closed"
CLOSED_ON_TIME = "closed_on_time"

Var = tuple[Position, str]  # (withheld cell, additive measure)


def population_size(cell_population: Any, n_sites: int) -> float:
    """The largest population measure (audited_sites, findings...): an upper bound on every additive
    outcome count of the cell."""
    values = [v for v in cell_population.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    return float(max(values)) if values else float(n_sites)


@dataclass(frozen=True, slots=True)
class Recoverable:
    position: Position
    measure: str
    relations: tuple[Relation, ...]  # the hierarchy relations of its component


@dataclass(frozen=True, slots=True)
class _Row:
    """sum(coef * var) (== if eq else <=) rhs; `relation` is the hierarchy relation it comes from."""

    coefs: tuple[tuple[Var, float], ...]
    rhs: float
    eq: bool
    relation: Relation | None


def measures(family: Family) -> list[str]:
    return sorted({m for cell in family.cells.values() for m in cell.additive})


def _pop(family: Family, pos: Position) -> float:
    cell = family.cells[pos]
    return population_size(cell.population, len(cell.sites))


def upper_bounds(family: Family) -> dict[Position, float | None]:
    """Each count is between 0 and its cell's population (aggregates.md, "No exact recovery": the
    bounds the rule gives the attacker), whether the population is shown or not.

    Never tighter than the truth, so the program always has the true values as a solution. Bounding a
    withheld cell by anything else is unsound: revision 1 bounded it by the largest shown population,
    which held for a small suppressed cell but not for a margin the revision rule holds at its old
    values (the view counts it as unknown now): a year's history then made the program infeasible and
    stopped every later release (`bench.forecast --years 4 --sites 350`, 2023-05-01)."""
    return {pos: _pop(family, pos) for pos in family.cells}


def _value(family: Family, pos: Position, measure: str) -> int:
    return int(family.cells[pos].additive.get(measure, 0))


def _within_cell_rows(pos: Position, names: Iterable[str]) -> list[_Row]:
    """The relations between one withheld cell's own measures."""
    names = set(names)
    rows: list[_Row] = []
    severities = sorted(m for m in names if m.startswith(SEVERITY_PREFIX))
    if WITH_ISSUE in names and severities:
        coefs = ((pos, WITH_ISSUE), -1.0), *(((pos, m), 1.0) for m in severities)
        rows.append(_Row(tuple(coefs), 0.0, True, None))
    indicators = sorted(m for m in names if m.startswith(INDICATOR_PREFIX))
    if WITH_INDICATOR in names and indicators:
        for m in indicators:  # by_indicator.X <= sites_with_indicator
            rows.append(_Row((((pos, m), 1.0), ((pos, WITH_INDICATOR), -1.0)), 0.0, False, None))
        # sites_with_indicator <= sum of by_indicator
        coefs = ((pos, WITH_INDICATOR), 1.0), *(((pos, m), -1.0) for m in indicators)
        rows.append(_Row(tuple(coefs), 0.0, False, None))
    if CLOSED in names and CLOSED_ON_TIME in names:  # remediation: closed on time <= closed
        rows.append(_Row((((pos, CLOSED_ON_TIME), 1.0), ((pos, CLOSED), -1.0)), 0.0, False, None))
    return rows


def _rows(family: Family, unknown: set[Position]) -> list[_Row]:
    rows: list[_Row] = []
    names = measures(family)
    for rel in family.relations:
        if rel.margin not in unknown and not any(c in unknown for c in rel.children):
            continue
        for m in names:
            coefs: list[tuple[Var, float]] = []
            rhs = 0.0
            for p, coef in [(rel.margin, 1.0), *((c, -1.0) for c in rel.children)]:
                if p in unknown:
                    coefs.append(((p, m), coef))
                else:
                    rhs -= coef * _value(family, p, m)
            rows.append(_Row(tuple(coefs), rhs, True, rel))
    for pos in sorted(unknown):
        rows.extend(_within_cell_rows(pos, family.cells[pos].additive))
    return rows


def find_recoverable(
    family: Family,
    pattern: Pattern,
    held: Mapping[Position, Mapping[str, int]] | None = None,
    only: frozenset[Position] | None = None,
) -> Recoverable | None:
    """The first (by position, then measure) withheld non-zero count that is exactly recoverable from
    all the additive relations of the family together. `held` is what the subscriber already holds of
    cells held at old values: pinning a count it already holds tells it nothing new. `only`: the
    positions whose counts may be pinned at all (`CleanChecks` knows the others cannot be); a count
    elsewhere is no target, so the answer is the same as without `only` when that is true."""
    held = held or {}

    def telling(var: Var) -> bool:
        if only is not None and var[0] not in only:
            return False
        value = _value(family, *var)
        return value != 0 and held.get(var[0], {}).get(var[1]) != value

    st = pattern.status
    unknown = {p for p in family.cells if st[p] is not Status.PUBLISHED}
    if not unknown:
        return None
    rows = _rows(family, unknown)
    # union-find over unknowns sharing a row
    parent: dict[Var, Var] = {}

    def find(v: Var) -> Var:
        parent.setdefault(v, v)
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for row in rows:
        vs = [v for v, _ in row.coefs]
        for v in vs:
            find(v)
        for other in vs[1:]:
            parent[find(other)] = find(vs[0])
    components: dict[Var, list[Var]] = {}
    for v in sorted(parent):
        components.setdefault(find(v), []).append(v)
    comp_rows: dict[Var, list[_Row]] = {}
    for row in rows:
        if row.coefs:
            comp_rows.setdefault(find(row.coefs[0][0]), []).append(row)

    bounds = upper_bounds(family)
    for root in sorted(components, key=lambda r: components[r][0]):
        comp = components[root]
        crows = comp_rows[root]
        rels = tuple(dict.fromkeys(r.relation for r in crows if r.relation is not None))
        targets = [v for v in comp if telling(v)]
        if not targets:
            continue
        # an equality with a single unknown pins it directly
        for row in crows:
            if row.eq and len(row.coefs) == 1 and telling(row.coefs[0][0]):
                pos, measure = row.coefs[0][0]
                return Recoverable(pos, measure, rels)
        hit = _solve_component(family, comp, crows, bounds, targets)
        if hit is not None:
            return Recoverable(hit[0], hit[1], rels)
    return None


class CleanChecks:
    """What the recovery LP of each family last found clean, so that a later check of the same family
    solves only what can have changed (the withholding loop re-checks every family after each fix).

    The LP's constraints depend on which cells are unknown, and its bounds on populations only
    (`upper_bounds`), so a check whose unknowns include the last clean check's is a relaxation of it:
    its feasible region contains the old one, and a count the old check could not pin stays unpinned.
    Only the counts of cells that became unknown since, and of cells whose held values changed (a held
    count is no target), can be pinned; any other change (a cell known again) means a full check.
    The answer is the same as a full check's: the first pinned count, in the same order."""

    def __init__(self) -> None:
        self._last: dict[FamilyId, tuple[frozenset[Position], Mapping[Position, Mapping[str, int]]]] = {}

    def only(
        self, family: Family, unknown: frozenset[Position], held: Mapping[Position, Mapping[str, int]]
    ) -> frozenset[Position] | None:
        """The positions a check may find pinned; None: every position (no usable clean check)."""
        last = self._last.get(family.id)
        if last is None or not last[0] <= unknown:
            return None
        last_unknown, last_held = last
        changed_held = {pos for pos, counts in last_held.items() if held.get(pos) != counts}
        return (unknown - last_unknown) | changed_held

    def clean(
        self, family: Family, unknown: frozenset[Position], held: Mapping[Position, Mapping[str, int]]
    ) -> None:
        self._last[family.id] = (unknown, held)


def _solve_component(
    family: Family,
    comp: list[Var],
    crows: list[_Row],
    bounds: dict[Position, float | None],
    targets: Iterable[Var],
) -> Var | None:
    index = {v: i for i, v in enumerate(comp)}
    n = len(comp)
    # Sparse from the start: a relation touches a handful of the component's unknowns, and linprog
    # turned dense lists of lists into arrays at every solve (a third of a small feed's plan time).
    a_eq, b_eq = _sparse_rows([r for r in crows if r.eq], index, n)
    a_ub, b_ub = _sparse_rows([r for r in crows if not r.eq], index, n)
    lp_bounds = [(0.0, bounds[p]) for p, _ in comp]

    def solve(c: list[float]) -> Any:
        result = linprog(
            c,
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=lp_bounds,
            method="highs",
        )
        if not result.success:
            raise RuntimeError(f"recovery LP infeasible for {family.id}: {result.message}")
        return result

    # Screening: the true values are feasible, so a target that some feasible point sets at least one
    # integer away from its value is not pinned. A few vertices (all up, all down, two alternating
    # directions) rule out most targets before the per-target LPs.
    remaining = list(targets)
    for c in ([1.0] * n, [-1.0] * n, [(-1.0) ** i for i in range(n)], [-((-1.0) ** i) for i in range(n)]):
        x = solve(c).x
        remaining = [t for t in remaining if abs(x[index[t]] - _value(family, *t)) < 1 - EPS]
        if not remaining:
            return None
    for target in remaining:
        value = _value(family, *target)
        c = [0.0] * n
        c[index[target]] = 1.0
        if math.ceil(solve(c).fun - EPS) < value:  # a smaller integer is possible
            continue
        c[index[target]] = -1.0
        if math.floor(-solve(c).fun + EPS) <= value:
            return target
    return None


def _sparse_rows(
    rows: list[_Row], index: Mapping[Var, int], n: int
) -> tuple[csr_array | None, list[float] | None]:
    """The rows as a sparse matrix over the component's unknowns (coefficients of a repeated unknown
    add up), with their right-hand sides; (None, None) for no rows, as linprog wants."""
    if not rows:
        return None, None
    entries: dict[tuple[int, int], float] = {}
    for i, r in enumerate(rows):
        for v, coef in r.coefs:
            entries[(i, index[v])] = entries.get((i, index[v]), 0.0) + coef
    coords = sorted(c for c, coef in entries.items() if coef != 0.0)
    data = [entries[c] for c in coords]
    matrix = csr_array((data, ([i for i, _ in coords], [j for _, j in coords])), shape=(len(rows), n))
    return matrix, [r.rhs for r in rows]


def candidates_for(family: Family, pattern: Pattern, hit: Recoverable) -> tuple[Position, ...]:
    """The published cells whose withholding can unpin `hit`, best first: those in the relations around
    the recovered cell (smallest population first, then position), then the rest of its component's
    relations; failing both, the family's."""
    st = pattern.status

    def published(rels: Iterable[Relation]) -> list[Position]:
        return sorted(
            {p for r in rels for p in (r.margin, *r.children) if st[p] is Status.PUBLISHED},
            key=lambda p: (len(family.cells[p].sites), p),
        )

    direct = published(r for r in hit.relations if hit.position in (r.margin, *r.children))
    component = tuple(dict.fromkeys((*direct, *published(hit.relations))))
    # A cell in no relation of the component leaves the component's program as it is, so it cannot
    # unpin the count: the family's other cells are candidates only when the component has none.
    return component or tuple(published(family.relations))
