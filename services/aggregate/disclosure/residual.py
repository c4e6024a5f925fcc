"""Hierarchies, shared population structures and the residual rule.

**Families.** A table's *margin dimensions* are those that take the value `ALL` in some cell of it
(country and sector for issue-prevalence; country for audit-quality, remediation, capacity-building).
Cells of one table that agree on every other coordinate (period, issue, topic, audit firm) form a
*family*; within a family a cell is addressed by its *position*: its margin-dimension coordinates.

**Hierarchies checked.** Every margin is checked against each dimension it aggregates over: a
position with `ALL` in dimension d has as children the positions equal to it except for a concrete
value in d. So country×ALL is checked against its country×sector cells, ALL×sector against its
country×sector cells, and ALL×ALL twice: against the country×ALL cells and against the ALL×sector
cells. A margin with `ALL` in two or more dimensions (ALL×ALL) is also checked against *every* cell
below it across both hierarchies (a `Cover`): its sites not in any shown country×ALL, ALL×sector or
country×sector cell must be empty or pass threshold and insider, and its sites not in any
outcome-showing cell below it must be empty or number at least outcome_min.

**Shared populations.** The pattern is computed once per *population structure*: the family's
{position: site set} plus the threshold that applies to its table. Families with the same structure
(every issue of issue-prevalence, forced-labour and labour-relations for a period share their audited
sites) get one pattern object, so what is withheld is identical across them, including withholding
caused by the recovery check in any one of them.

**Two levels of withholding.** A remainder that fails threshold or insider is fixed by suppressing a
cell entirely; a remainder of the outcome-showing cells below outcome_min is fixed by withholding only
outcomes (the cell stays published with its population measures). Candidates are the shown children
(for a Cover, the shown cells below the margin) with the smallest population (site count) first, ties
broken by position (the same order as CellKey within a family), and then the margin itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from services.aggregate.disclosure.rules import (
    DisclosureParams,
    PrimaryReasons,
    Status,
    passes_outcome_rule,
    passes_population_rules,
    status_for,
)
from services.aggregate.model import ALL, Cell, SiteInfo

Position = tuple[tuple[str, str], ...]
FamilyId = tuple[str, tuple[tuple[str, str], ...]]  # table, non-margin coordinates


@dataclass(frozen=True, slots=True)
class Relation:
    """margin = disjoint union of children, along one dimension."""

    margin: Position
    dimension: str
    children: tuple[Position, ...]


@dataclass(frozen=True, slots=True)
class Cover:
    """margin = union of every position below it, across all the dimensions it aggregates over."""

    margin: Position
    below: tuple[Position, ...]


@dataclass(slots=True)
class Family:
    table: str
    fixed: tuple[tuple[str, str], ...]
    margin_dims: tuple[str, ...]
    cells: dict[Position, Cell]
    relations: tuple[Relation, ...] = ()
    covers: tuple[Cover, ...] = ()

    @property
    def id(self) -> FamilyId:
        return (self.table, self.fixed)


def margin_dimensions(cells: Iterable[Cell]) -> dict[str, tuple[str, ...]]:
    dims: dict[str, set[str]] = defaultdict(set)
    for cell in cells:
        dims[cell.key.table].update(d for d, v in cell.key.coords if v == ALL)
    return {table: tuple(sorted(d)) for table, d in dims.items()}


def build_families(cells: Iterable[Cell]) -> list[Family]:
    cells = list(cells)
    dims = margin_dimensions(cells)
    by_id: dict[FamilyId, Family] = {}
    for cell in cells:
        table = cell.key.table
        mdims = dims.get(table, ())
        fixed = tuple((d, v) for d, v in cell.key.coords if d not in mdims)
        position = tuple((d, v) for d, v in cell.key.coords if d in mdims)
        family = by_id.setdefault((table, fixed), Family(table, fixed, mdims, {}))
        if position in family.cells:
            raise ValueError(f"duplicate cell {cell.key}")
        family.cells[position] = cell
    for family in by_id.values():
        family.relations = _relations(family)
        family.covers = _covers(family)
    return [by_id[i] for i in sorted(by_id)]


def _relations(family: Family) -> tuple[Relation, ...]:
    # children of (position, dim): index positions by (dim, position with dim set to ALL)
    index: dict[tuple[str, Position], list[Position]] = defaultdict(list)
    for pos in family.cells:
        for i, (d, v) in enumerate(pos):
            if v != ALL:
                index[(d, (*pos[:i], (d, ALL), *pos[i + 1 :]))].append(pos)
    out = []
    for pos in sorted(family.cells):
        for d, v in pos:
            if v == ALL and index.get((d, pos)):
                out.append(Relation(pos, d, tuple(sorted(index[(d, pos)]))))
    return tuple(out)


def _covers(family: Family) -> tuple[Cover, ...]:
    """For each margin with ALL in two or more dimensions, every other position below it (equal to it
    wherever it is not ALL). Margins with ALL in one dimension are fully checked by their relation."""
    out = []
    for pos in sorted(family.cells):
        if sum(v == ALL for _, v in pos) < 2:
            continue
        below = tuple(
            p
            for p in sorted(family.cells)
            if p != pos and all(mv == ALL or pv == mv for (_, mv), (_, pv) in zip(pos, p, strict=True))
        )
        if below:
            out.append(Cover(pos, below))
    return tuple(out)


Signature = tuple[int, frozenset[tuple[Position, frozenset[str]]]]


def signature(family: Family, params: DisclosureParams) -> Signature:
    return (
        params.min_sites(family.table),
        frozenset((pos, cell.sites) for pos, cell in family.cells.items()),
    )


@dataclass(slots=True)
class Pattern:
    """What is shown of each position, and why anything was withheld."""

    status: dict[Position, Status]
    primary: dict[Position, Status]
    # the first primary rule each position fails ("threshold" | "insider" | "outcome_min"), if any
    primary_reason: dict[Position, str | None] = field(default_factory=dict)
    # the secondary rule that first withheld more than the primary rules did: "residual" | "recovery"
    # | "revision"
    secondary_reason: dict[Position, str] = field(default_factory=dict)

    # The value LP of the recovery rule asked this pattern for a fix. A pattern it never touched is a
    # function of populations alone.
    by_values: bool = False

    def copy(self) -> Pattern:
        return Pattern(
            dict(self.status),
            dict(self.primary),
            dict(self.primary_reason),
            dict(self.secondary_reason),
            self.by_values,
        )

    def withheld_by(self, pos: Position) -> str | None:
        """Why the position shows less than everything: its primary reason, else its secondary one."""
        return self.primary_reason.get(pos) or self.secondary_reason.get(pos)

    def withhold(self, pos: Position, to: Status, reason: str) -> None:
        current = self.status[pos]
        if (to is Status.SUPPRESSED or current is Status.PUBLISHED) and current is not to:
            self.status[pos] = to
            self.secondary_reason.setdefault(pos, reason)


def primary_pattern(
    family: Family,
    sites: Mapping[str, SiteInfo],
    params: DisclosureParams,
    known: PrimaryReasons | None = None,
) -> Pattern:
    """Each cell's primary rules; `known`: the verdicts of populations already judged this release."""
    reason_of = known if known is not None else PrimaryReasons(sites, params)
    reasons = {pos: reason_of(cell) for pos, cell in family.cells.items()}
    status = {pos: status_for(reason) for pos, reason in reasons.items()}
    return Pattern(status=dict(status), primary=status, primary_reason=reasons)


def _size_order(family: Family, positions: Iterable[Position]) -> list[Position]:
    return sorted(positions, key=lambda p: (len(family.cells[p].sites), p))


def _union(family: Family, positions: Iterable[Position]) -> frozenset[str]:
    out: set[str] = set()
    for p in positions:
        out |= family.cells[p].sites
    return frozenset(out)


def residual_violation(
    family: Family, pattern: Pattern, rel: Relation, sites: Mapping[str, SiteInfo], params: DisclosureParams
) -> tuple[Position, Status] | None:
    """The next withholding this relation needs, or None when its remainders pass."""
    return _remainder_violation(family, pattern, rel.margin, rel.children, sites, params)


def cover_violation(
    family: Family, pattern: Pattern, cover: Cover, sites: Mapping[str, SiteInfo], params: DisclosureParams
) -> tuple[Position, Status] | None:
    """The next withholding the margin needs against every cell below it, or None when it passes."""
    return _remainder_violation(family, pattern, cover.margin, cover.below, sites, params)


def _remainder_violation(
    family: Family,
    pattern: Pattern,
    margin: Position,
    below: tuple[Position, ...],
    sites: Mapping[str, SiteInfo],
    params: DisclosureParams,
) -> tuple[Position, Status] | None:
    st = pattern.status
    if st[margin] is Status.SUPPRESSED:
        return None
    margin_sites = family.cells[margin].sites
    shown = [c for c in below if st[c] is not Status.SUPPRESSED]
    rest = margin_sites - _union(family, shown)
    if rest and not passes_population_rules(rest, sites, params, family.table):
        return (_size_order(family, shown)[0], Status.SUPPRESSED) if shown else (margin, Status.SUPPRESSED)
    if st[margin] is Status.PUBLISHED:
        with_outcomes = [c for c in below if st[c] is Status.PUBLISHED]
        rest = margin_sites - _union(family, with_outcomes)
        if rest and not passes_outcome_rule(rest, params):
            # Under the populations-only recovery rule a margin above a cell without outcomes loses its
            # own (`view.unshown_child_violation`), and that mends this remainder too: a child withheld
            # here first would be lost for nothing.
            if with_outcomes and not params.decides_from_populations(family.table):
                return _size_order(family, with_outcomes)[0], Status.POPULATION_ONLY
            return margin, Status.POPULATION_ONLY
    return None


def enforce_residuals(
    family: Family, pattern: Pattern, sites: Mapping[str, SiteInfo], params: DisclosureParams
) -> None:
    """Withhold further cells until every shown margin's remainders pass; a fixed point."""
    changed = True
    while changed:
        changed = False
        for rel in family.relations:
            while (fix := residual_violation(family, pattern, rel, sites, params)) is not None:
                pattern.withhold(fix[0], fix[1], "residual")
                changed = True
        for cover in family.covers:
            while (fix := cover_violation(family, pattern, cover, sites, params)) is not None:
                pattern.withhold(fix[0], fix[1], "residual")
                changed = True
