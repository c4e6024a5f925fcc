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
more of them) and solved per component with HiGHS (highspy, one model per component kept between
solves): known feasible points and a few vertices screen out most targets, then a min and a max LP
decide each remaining one.

**Insiders.** aggregates.md: the attacker may be any single member or supplier, which knows its own
sites' contributions and subtracts them; it must not pin what the others contributed. With the
contributing sites given, each such party with a site among the component's unknowns gets the same
program with its box tightened (`own_sites`: a count lies in [own, own + population − own units]),
and a count whose others' part is non-zero and pinned there is recoverable too. Parties whose
knowledge of the component is the same are solved once.

A withheld non-zero count is *recoverable* when the range [min, max] the LP allows contains only one
integer (counts are integers, so this is at least as strict as min == max within 1e-6). Zero counts are
skipped; an equality with one unknown pins it without an LP.
"""

from __future__ import annotations

import math
import operator
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
from scipy.sparse import csc_array  # type: ignore[import-untyped]
from scipy.sparse import hstack as sparse_hstack

from services.aggregate.disclosure.own_sites import OwnPart, Party, own_parts
from services.aggregate.disclosure.residual import Family, FamilyId, Pattern, Position, Relation
from services.aggregate.disclosure.rules import Status
from services.aggregate.model import SiteInfo

EPS = 1e-6
WITH_ISSUE = "sites_with_issue"
SEVERITY_PREFIX = "by_severity."
WITH_INDICATOR = "sites_with_indicator"
INDICATOR_PREFIX = "by_indicator."
CLOSED = "closed"
CLOSED_ON_TIME = "closed_on_time"

Var = tuple[Position, str]  # (withheld cell, additive measure)
Point = dict[Var, float]  # a feasible point of a family's program, as its non-zero steps from the truth
MAX_POINTS = 256  # the points a family keeps between checks (the latest)
FEW_TARGETS = 2  # at most this many unscreened targets, no screening vertices are solved


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
    sites: Mapping[str, SiteInfo] | None = None,
    witnesses: Witnesses | None = None,
) -> Recoverable | None:
    """The first (by position, then measure) withheld non-zero count that is exactly recoverable from
    all the additive relations of the family together. `held` is what the subscriber already holds of
    cells held at old values: pinning a count it already holds tells it nothing new. `only`: the
    positions whose counts may be pinned at all (`CleanChecks` knows the others cannot be); a count
    elsewhere is no target, so the answer is the same as without `only` when that is true.

    With `sites` (who stands behind each site), the same program is also solved for every member and
    supplier with a site among the component's withheld cells, with its own part subtracted
    (`own_sites`): a count whose *others'* part is non-zero and pinned for that insider is recoverable
    too. Without it, only the plain subscriber is modelled (hand-built tests).

    `witnesses`: feasible points and nudges of an earlier program of the family whose unknowns this
    one's include (`CleanChecks.witnesses`); they screen targets before any LP, and what is found here
    is added."""
    held = held or {}
    witnesses = Witnesses() if witnesses is None else witnesses

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
    insiders = {} if sites is None else own_parts(family, sorted(unknown), sites)
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
        program = _Program(family, comp, crows, bounds, witnesses)
        hit = program.pinned(targets, program.lower, program.upper)
        if hit is None:
            hit = _insider_hit(program, targets, insiders)
        program.record(witnesses)
        if hit is not None:
            return Recoverable(hit[0], hit[1], rels)
    return None


def _insider_hit(program: _Program, targets: list[Var], insiders: Mapping[Party, OwnPart]) -> Var | None:
    """The first count some insider pins, trying parties in a fixed order. Each party's program is the
    plain one with its box tightened on the cells it has sites in; its targets are the counts whose
    others' part is non-zero. Parties whose knowledge of the component is the same (one site each
    with the same contribution to the same cells, the common case) have the same program and are
    solved once."""
    positions = {pos for pos, _ in program.comp}
    seen: set[tuple[tuple[int, float, float], ...]] = set()
    for party in sorted(insiders):
        own = insiders[party]
        if positions.isdisjoint(own.units):
            continue
        mine_at = sorted(i for pos in positions.intersection(own.units) for i in program.at[pos])
        # The party's box differs from the plain one on its own columns only: key it on those, and
        # build the whole box only for a box not solved yet (most parties share one).
        box = []
        for i in mine_at:
            pos, measure = program.comp[i]
            low = float(own.counts.get((pos, measure), 0))
            box.append((i, low, low + program.upper[i] - own.units[pos]))
        key = tuple(box)
        if key in seen:
            continue
        seen.add(key)
        cols = np.asarray(mine_at)
        lower, upper = program.lower.copy(), program.upper.copy()
        lower[cols] = [low for _, low, _ in box]
        upper[cols] = [high for _, _, high in box]
        truth = program.truth[cols]
        if np.any(truth < lower[cols]) or np.any(truth > upper[cols]):
            raise ValueError(f"{program.family.id}: a cell's unit_counts disagree with its counts")
        # no target where the others contributed nothing (the party's own part is the whole count)
        spent = {program.comp[i] for i, whole in zip(mine_at, truth == lower[cols], strict=True) if whole}
        mine = [t for t in targets if t not in spent]
        # cheapest proofs first: points already known, then each count's nudges, then the program
        mine = program.moved(mine, lower, upper, mine_at)
        mine = [t for t in mine if not program.nudged(program.index[t], lower, upper, mine_at)]
        hit = program.pinned(mine, lower, upper, mine_at)
        if hit is not None:
            return hit
    return None


@dataclass(slots=True)
class Witnesses:
    """Proofs that counts are not pinned, kept between the checks of one family: feasible points of
    its plain program and each count's nudges (`_Program.nudges`), as steps from the true values."""

    points: list[Point] = field(default_factory=list)
    nudges: dict[Var, list[Point]] = field(default_factory=dict)


class CleanChecks:
    """What the checks of each family last found clean, so that a later check of the same family
    does only what can have changed (the withholding loop re-checks every family after each fix).

    The residual rule (`view.residual_violation`) of one margin reads the view entries of the margin
    and of the cells below it and nothing else that changes within a decision, and a view entry is
    kept, the same object, for as long as its cell's status is (`disclosure._revisions`, `judged`):
    a margin found clean with the same entry objects is clean again (`residual_clean`).

    The recovery LP:
    The LP's constraints depend on which cells are unknown, and its bounds on populations only
    (`upper_bounds`), so a check whose unknowns include the last clean check's is a relaxation of it:
    its feasible region contains the old one, and a count the old check could not pin stays unpinned.
    Only the counts of cells that became unknown since, and of cells whose held values changed (a held
    count is no target), can be pinned; any other change (a cell known again) means a full check.
    The answer is the same as a full check's: the first pinned count, in the same order."""

    def __init__(self) -> None:
        self._last: dict[FamilyId, tuple[frozenset[Position], Mapping[Position, Mapping[str, int]]]] = {}
        self._witnesses: dict[FamilyId, tuple[frozenset[Position], Witnesses]] = {}
        self._residuals: dict[tuple[FamilyId, Position, tuple[Position, ...]], tuple[object, ...]] = {}

    def residual_clean(
        self, family: Family, margin: Position, below: tuple[Position, ...], entries: tuple[object, ...]
    ) -> bool:
        """Whether the residual rule found this margin clean over these very entries (by identity)."""
        last = self._residuals.get((family.id, margin, below))  # keyed by `below`: the same length
        return last is not None and all(map(operator.is_, last, entries))

    def keep_residual(
        self, family: Family, margin: Position, below: tuple[Position, ...], entries: tuple[object, ...]
    ) -> None:
        self._residuals[(family.id, margin, below)] = entries

    def witnesses(self, family: Family, unknown: frozenset[Position]) -> Witnesses:
        """What the family's last program found, when this one's unknowns include its unknowns (a
        relaxation, so its points are feasible here too); to be extended and given back to `keep`."""
        last = self._witnesses.get(family.id)
        if last is None or not last[0] <= unknown:
            return Witnesses()
        return Witnesses(list(last[1].points), dict(last[1].nudges))

    def keep(self, family: Family, unknown: frozenset[Position], witnesses: Witnesses) -> None:
        self._witnesses[family.id] = (unknown, Witnesses(witnesses.points[-MAX_POINTS:], witnesses.nudges))

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


class _Program:
    """One component's program: its rows, its unknowns' true values and the plain subscriber's box,
    and every solution found so far (feasible points of the plain program, which prove a target
    unpinned for any box they fit, or fit once pulled towards the true values)."""

    def __init__(
        self,
        family: Family,
        comp: list[Var],
        crows: list[_Row],
        bounds: Mapping[Position, float | None],
        known: Witnesses | None = None,
    ) -> None:
        self.family = family
        self.comp = comp
        self.index = {v: i for i, v in enumerate(comp)}
        self.at: dict[Position, list[int]] = {}  # each cell's unknowns
        for i, (pos, _) in enumerate(comp):
            self.at.setdefault(pos, []).append(i)
        n = len(comp)
        self.truth = np.array([_value(family, *v) for v in comp], dtype=float)
        self.lower = np.zeros(n)
        self.upper = np.array([bounds[p] for p, _ in comp], dtype=float)
        self._points: list[npt.NDArray[np.float64]] = []
        # The points found so far, as steps from the true values. A point of an earlier program over
        # fewer unknowns is one of this program too, with the cells it knew at their true values.
        known = known or Witnesses()
        dense = [self._dense(point) for point in known.points]
        self._steps = np.array([row for row in dense if row is not None]).reshape(-1, n)
        self._found = 0
        self._columns = np.arange(n, dtype=np.int32)
        self._a = _matrix(crows, self.index)
        rhs = np.array([r.rhs for r in crows], dtype=float)
        eq = np.array([r.eq for r in crows], dtype=bool)
        self._rhs, self._eq = rhs, eq
        row_lower = np.where(eq, rhs, -highspy.kHighsInf)
        self._highs = _highs(self._a, np.zeros(n), (self.lower, self.upper), (row_lower, rhs))
        self._nudge_model: highspy.Highs | None = None
        self._nudges: dict[int, list[npt.NDArray[np.float64]]] = {}
        self._known_nudges = known.nudges

    def value(self, var: Var) -> int:
        return _value(self.family, *var)

    def record(self, witnesses: Witnesses) -> None:
        """Add what this program found to `witnesses`: its points, and its nudges (as steps from the
        true values, non-zero entries)."""
        self.moved([], self.lower, self.upper)  # gather the pending points
        fresh = self._steps[len(self._steps) - self._found :] if self._found else self._steps[:0]
        witnesses.points.extend(self._sparse(row) for row in fresh)
        for column, steps in self._nudges.items():
            witnesses.nudges[self.comp[column]] = [self._sparse(step) for step in steps]

    def _dense(self, point: Point) -> npt.NDArray[np.float64] | None:
        """A stored point over this component's unknowns; None when it moves none of them."""
        row = np.zeros(len(self.comp))
        moves = False
        for var, step in point.items():
            j = self.index.get(var)
            if j is not None:
                row[j] = step
                moves = True
        return row if moves else None

    def _sparse(self, step: npt.NDArray[np.float64]) -> Point:
        return {self.comp[i]: float(step[i]) for i in np.flatnonzero(np.abs(step) > EPS)}

    def _solve(
        self, c: npt.NDArray[np.float64], lower: npt.NDArray[np.float64], upper: npt.NDArray[np.float64]
    ) -> float:
        """min c·x within this box; the model is kept between solves, so HiGHS starts each from the
        last basis (the programs differ in one objective or a few bounds)."""
        n = len(self.comp)
        highs = self._highs
        highs.changeColsBounds(n, self._columns, lower, upper)
        highs.changeColsCost(n, self._columns, np.asarray(c, dtype=float))
        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(
                f"recovery LP infeasible for {self.family.id}: {highs.modelStatusToString(status)}"
            )
        self._points.append(np.asarray(highs.getSolution().col_value, dtype=float) - self.truth)
        return float(highs.getInfo().objective_function_value)

    def nudges(self, column: int) -> list[npt.NDArray[np.float64]]:
        """The smallest changes (in total, L1) of the plain program's unknowns that move one count a
        whole unit up, and down, as steps from the true values (one per direction that is possible).
        They touch few cells (in a two-way table, a cycle of four), so they fit most insiders' boxes:
        a party whose box holds one of them cannot pin the count."""
        found = self._nudges.get(column)
        if found is not None:
            return found
        n = len(self.comp)
        earlier = self._known_nudges.get(self.comp[column])
        if earlier is not None:  # an earlier program's nudges, the cells it knew unchanged
            found = self._nudges[column] = [
                row for row in (self._dense(step) for step in earlier) if row is not None
            ]
            return found
        if self._nudge_model is None:
            # x = truth + up − down, up and down >= 0 within the plain box; the rows hold for the change
            matrix = csc_array(sparse_hstack([self._a, -self._a], format="csc"))
            slack = self._rhs - self._a @ self.truth
            rows = (np.where(self._eq, 0.0, -highspy.kHighsInf), np.where(self._eq, 0.0, slack))
            bounds = (np.zeros(2 * n), np.concatenate([self.upper - self.truth, self.truth - self.lower]))
            self._nudge_model = _highs(matrix, np.ones(2 * n), bounds, rows)
        highs = self._nudge_model
        found = []
        room = (self.upper[column] - self.truth[column], self.truth[column] - self.lower[column])
        for side, other in ((0, 1), (1, 0)):  # up, then down
            if room[side] < 1 - EPS:
                continue
            # at least one unit this way, none the other (else up = down = 1 would pass for a move)
            highs.changeColBounds(side * n + column, 1.0, room[side])
            highs.changeColBounds(other * n + column, 0.0, 0.0)
            highs.run()
            if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                x = np.asarray(highs.getSolution().col_value, dtype=float)
                step = x[:n] - x[n:]
                if abs(step[column]) >= 1 - EPS:  # a nudge must move the count, or it proves nothing
                    found.append(step)
            highs.changeColBounds(side * n + column, 0.0, room[side])
            highs.changeColBounds(other * n + column, 0.0, room[other])
        self._nudges[column] = found
        self._points.extend(found)  # a nudge moves the other cells of its cycle a unit too
        return found

    def nudged(
        self,
        column: int,
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
        tight: Sequence[int],
    ) -> bool:
        """Whether one of the count's nudges stays in this box (checked on its `tight` columns only:
        every nudge is in the plain box), which proves the count unpinned there."""
        cols = np.asarray(tight)
        low, high, truth = lower[cols], upper[cols], self.truth[cols]
        for step in self.nudges(column):
            moved = truth + step[cols]
            if np.all(moved >= low - EPS) and np.all(moved <= high + EPS):
                return True
        return False

    def moved(
        self,
        targets: list[Var],
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
        tight: Sequence[int] = (),
    ) -> list[Var]:
        """The targets no known point moves by a whole unit within this box. A point outside the box
        still proves it when the segment from the true values (inside every box) to it leaves the box
        late enough: the point λ of the way along is feasible, and moves each target λ times as far.
        Every point lies in the plain box, so only the columns where this box is tighter (`tight`)
        can cut a segment short."""
        if self._points:
            self._steps = np.vstack([self._steps, *self._points])
            self._found += len(self._points)
            self._points.clear()
        if not len(self._steps) or not targets:
            return targets
        step = self._steps
        columns = [self.index[t] for t in targets]
        moves = np.abs(step[:, columns])
        if len(tight):
            cols = np.asarray(tight)
            part, truth = step[:, cols], self.truth[cols]
            with np.errstate(divide="ignore", invalid="ignore"):
                room = np.where(part > EPS, (upper[cols] - truth) / part, np.inf)
                room = np.minimum(room, np.where(part < -EPS, (lower[cols] - truth) / part, np.inf))
            reach = np.minimum(1.0, room.min(axis=1))  # how far along each point stays in the box
            moves = moves * reach[:, None]
        moved = moves.max(axis=0) >= 1 - EPS
        return [t for t, m in zip(targets, moved, strict=True) if not m]

    def pinned(
        self,
        targets: list[Var],
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
        tight: Sequence[int] = (),
    ) -> Var | None:
        """The first target whose range within this box holds one integer only; `tight`: the columns
        where the box is tighter than the plain subscriber's."""
        n = len(self.comp)
        # Screening: the true values are feasible, so a target that some feasible point sets at least
        # one integer away from its value is not pinned. The points known so far, then a few vertices
        # (all up, all down, two alternating directions), rule out most targets before the per-target
        # LPs.
        remaining = self.moved(targets, lower, upper, tight)
        if len(remaining) > FEW_TARGETS:  # else cheaper to solve for each than to screen
            alternating = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
            for c in (np.ones(n), -np.ones(n), alternating, -alternating):
                self._solve(c, lower, upper)
                remaining = self.moved(remaining, lower, upper, tight)
                if len(remaining) <= FEW_TARGETS:
                    break
        for target in remaining:
            value = self.value(target)
            c = np.zeros(n)
            c[self.index[target]] = 1.0
            if math.ceil(self._solve(c, lower, upper) - EPS) < value:  # a smaller integer is possible
                continue
            c[self.index[target]] = -1.0
            if math.floor(-self._solve(c, lower, upper) + EPS) <= value:
                return target
        return None


def _without_banner() -> None:
    """HiGHS prints its banner on stdout (from C++, past Python's streams) when the first model of the
    process is made; make that one here with the descriptor pointed at /dev/null, so that no service
    or command writes it."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_without_banner()


def _matrix(rows: list[_Row], index: Mapping[Var, int]) -> csc_array:
    """The rows' coefficients over the component's unknowns (those of a repeated unknown add up)."""
    entries: dict[tuple[int, int], float] = {}
    for i, r in enumerate(rows):
        for v, coef in r.coefs:
            entries[(i, index[v])] = entries.get((i, index[v]), 0.0) + coef
    coords = sorted(c for c, coef in entries.items() if coef != 0.0)
    return csc_array(
        ([entries[c] for c in coords], ([i for i, _ in coords], [j for _, j in coords])),
        shape=(len(rows), len(index)),
    )


def _highs(
    matrix: csc_array,
    cost: npt.NDArray[np.float64],
    columns: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    rows: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
) -> highspy.Highs:
    """A silent HiGHS model: min cost·x, columns and rows within their (lower, upper) bounds."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = columns
    lp.row_lower_, lp.row_upper_ = rows
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return highs


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
