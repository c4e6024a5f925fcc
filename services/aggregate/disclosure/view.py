"""The subscriber's view and the history (aggregates.md, "Disclosure control", revision 2).

Revision 1 judged each release on its own. A subscriber does not: it holds the latest message of every
cell, whichever release it came from, and every message before it. A cell the revision rule holds is
in that view at its old values; a re-sent margin next to it is new. This module judges a planned
release by what the view will be after it.

**The view of one position** (`ViewEntry`): what the subscriber will hold (its status and the real
sites behind it: the old ones if the cell is held), whether the outcome values it will hold are the
cell's values *now* (`known_now`: sent now, or unchanged, with outcomes), and what of the cell's
current outcomes the subscriber does not already hold (`fresh`): every site, if it never saw the
cell's outcomes (`never_shown`); else the real sites whose contribution changed since the outcomes it
holds (the change a re-sent margin would expose).

**Rules checked on the view**, all decided from populations, owners, members and which sites changed
(never from outcome values):

1. *Residuals* (`residual_violation`): every shown margin minus the cells below it that are shown in
   the view (held cells count as shown, with the sites they were released with) must be empty or pass
   threshold and insider; for a margin showing outcomes, the remainder of the cells showing outcomes
   must be empty or reach outcome_min.
2. *Exact sums* (`sum_violation`): in a relation `margin = Σ children` whose margin is known now, the
   children not known now have a sum the subscriber can work out exactly (and, for a margin not known
   now below children all known now, the margin). What that sum tells beyond the view is the `fresh`
   sites of those cells. It must be nothing, or: a single withheld cell is never allowed (its count
   would be recovered exactly); several cells, of which some were never shown, must have fresh sites
   that pass threshold, insider and outcome_min together; cells whose outcomes were shown before must
   have changed sites that pass the revision rule (k_delta and insider) together. This is what stops a
   re-sent margin minus a held child from being one site's change (issue 9, attack 2).
3. *Determined cells* (`determined_violation`): beyond single relations, a withheld cell can be pinned
   by several relations together (a 2-D table). A cell is determined exactly when its unit vector lies
   in the row space of the relations restricted to the unknown cells: the corresponding row of a
   null-space basis is zero. Such a cell is judged like a sum of one.

Rules 1–3 look at populations and changed sites only: which cells they pin is a property of the
pattern of unknowns, not of the values, so when they fire an attacker learns nothing about outcomes.
What they cannot see is a count pinned *at a bound*: a remainder whose count is zero (or whole) forces
every cell in it to zero (or to its population), and the relations may then pin a neighbour.

4. *Recovery from populations* (`unshown_child_violation`) closes those without reading a value: a
   margin keeps its outcomes only above children that all keep theirs, and a withheld margin keeps a
   withheld child in each relation, so no count is pinned at a bound either (the argument is in that
   function). The *value LP* of earlier releases (`recovery_violation`, the `recovery` module) reacted
   to values and so leaked when it fired (issue 9, attack 6); it runs only for tables a benchmark
   names in `DisclosureParams.value_recovery`.

**Fixes.** A violation names the cells that could be withheld further to mend it, best first: cells
this release sends anyway (smallest first), then the margin, then cells held or unchanged (withholding
one sends a tightening, which the revision rule always allows); for the value LP, the published cells
of the relations around the pinned count, then of its component (the family's, if it has none).
`decide` takes the one that withholds the fewest cells once the residuals have followed it (`_mend`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.aggregate.contributions import Contributions, Population
from services.aggregate.disclosure.recovery import CleanChecks, candidates_for, find_recoverable
from services.aggregate.disclosure.residual import Family, Pattern, Position
from services.aggregate.disclosure.revision import Released, Revision, change_may_be_shown, changed_sites
from services.aggregate.disclosure.rules import (
    SHOWN_ORDER,
    DisclosureParams,
    Status,
    passes_outcome_rule,
    passes_population_rules,
)
from services.aggregate.identity import Parties, real_site
from services.aggregate.model import SiteInfo, additive_counts

Site = frozenset[str]  # a real site, as the platform sites behind it


@dataclass(frozen=True, slots=True)
class ViewEntry:
    status: Status  # what the subscriber holds of the cell after this release
    sites: frozenset[str]  # real-site keys behind what it holds (the old ones if the cell is held)
    known_now: bool  # the outcome values it holds are the cell's values at this release
    never_shown: bool  # it has never held outcome values of this cell
    fresh: frozenset[Site]  # what of the cell's current outcomes it does not already hold
    sent: bool  # this release sends the cell
    population_now: bool = False  # the population it holds is the cell's population now
    held: Mapping[str, int] | None = None  # additive outcome counts it holds at old values, if held


def view_entry(candidate: Released, revision: Revision, previous: Released | None) -> ViewEntry:
    """The subscriber's view of one cell after a release that decides `revision` for `candidate`."""
    current = candidate.contributions or {}
    held: Mapping[str, int] | None = None
    if revision is Revision.HOLD and previous is not None:
        status, sites, sent = previous.status, previous.real_sites, False
        known_now = population_now = False
        if previous.outcomes is not None:
            held = additive_counts(previous.outcomes)
    else:
        status, sites, sent = candidate.status, candidate.real_sites, revision is Revision.SEND
        known_now = candidate.status is Status.PUBLISHED
        population_now = candidate.status is not Status.SUPPRESSED
    if known_now:
        return ViewEntry(status, sites, True, False, frozenset(), sent, population_now)
    shown = None if previous is None else previous.last_shown
    if shown is None:
        fresh = _real_sites(current)
        return ViewEntry(status, sites, False, True, fresh, sent, population_now, held)
    changed = frozenset(changed_sites(shown, current))
    return ViewEntry(status, sites, False, False, changed, sent, population_now, held)


def _platform_sites(population: Population) -> frozenset[Site]:
    return frozenset(map(real_site, population.sites))


def _real_sites(contributions: Mapping[str, str]) -> frozenset[Site]:
    """Each real site of the map as its platform sites: once per population for `Contributions`."""
    if isinstance(contributions, Contributions):
        found: frozenset[Site] = contributions.population.derived("platform_sites", _platform_sites)
        return found
    return frozenset(map(real_site, contributions))


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str  # "residual" | "recovery" | "revision" (the metric label of what withholds more)
    to: Status  # what a fix withholds a candidate to
    candidates: tuple[Position, ...]  # best first
    by_values: bool = False  # found by the value LP (rule 4), not from populations


def _shown_at_least(status: Status, level: Status) -> bool:
    """The view shows at least `level`'s worth of the cell (published >= population only)."""
    return SHOWN_ORDER.index(status) < SHOWN_ORDER.index(level)


def _order(
    family: Family, view: Mapping[Position, ViewEntry], positions: Iterable[Position], margin: Position | None
) -> tuple[Position, ...]:
    """Candidates to withhold, best first: sent anyway (smallest first), the margin, then the rest."""
    ps = sorted(set(positions) - {margin} if margin is not None else set(positions))
    sent = sorted((p for p in ps if view[p].sent), key=lambda p: (len(family.cells[p].sites), p))
    rest = sorted((p for p in ps if not view[p].sent), key=lambda p: (len(family.cells[p].sites), p))
    return (*sent, *((margin,) if margin is not None else ()), *rest)


def residual_violation(
    family: Family,
    view: Mapping[Position, ViewEntry],
    margin: Position,
    below: Sequence[Position],
    parties: Parties,
    params: DisclosureParams,
) -> Violation | None:
    """Rule 1 for one margin against the cells below it (one relation, or a cover)."""
    m = view[margin]
    if m.status is Status.SUPPRESSED:
        return None
    shown = [c for c in below if view[c].status is not Status.SUPPRESSED]
    rest = m.sites - frozenset().union(*(view[c].sites for c in shown))
    if rest:
        infos = parties.infos(real_site(key) for key in rest)
        if not passes_population_rules(frozenset(rest), infos, params, family.table):
            candidates = _order(family, view, shown, margin)
            return Violation("residual", Status.SUPPRESSED, candidates)
    if m.status is Status.PUBLISHED:
        with_outcomes = [c for c in below if view[c].status is Status.PUBLISHED]
        rest = m.sites - frozenset().union(*(view[c].sites for c in with_outcomes))
        if rest and not passes_outcome_rule(frozenset(rest), params):
            candidates = _order(family, view, with_outcomes, margin)
            if params.decides_from_populations(family.table):
                # A cell below shows no outcomes, so the recovery rule (`unshown_child_violation`)
                # withholds the margin's anyway: withholding it first mends this too, and loses no child.
                candidates = (margin, *(c for c in candidates if c != margin))
            return Violation("residual", Status.POPULATION_ONLY, candidates)
    return None


def sum_is_safe(unknown: Sequence[ViewEntry], parties: Parties, params: DisclosureParams, table: str) -> bool:
    """Whether the subscriber may work out the sum of these cells' current outcome counts exactly."""
    telling = [u for u in unknown if u.fresh]
    if not telling:
        return True
    fresh = frozenset().union(*(u.fresh for u in telling))
    if any(u.never_shown for u in telling):
        if len(telling) == 1:
            return False  # one withheld cell, worked out exactly
        infos = parties.infos(fresh)
        ids = frozenset(infos)
        return passes_outcome_rule(ids, params) and passes_population_rules(ids, infos, params, table)
    return change_may_be_shown(list(fresh), parties, params)


def sum_violation(
    family: Family,
    view: Mapping[Position, ViewEntry],
    margin: Position,
    children: Sequence[Position],
    parties: Parties,
    params: DisclosureParams,
) -> Violation | None:
    """Rule 2 for one relation `margin = Σ children`."""
    if view[margin].known_now:
        unknown = [c for c in children if not view[c].known_now]
        if not unknown or sum_is_safe([view[c] for c in unknown], parties, params, family.table):
            return None
        known = [c for c in children if view[c].known_now]
        return Violation("recovery", Status.POPULATION_ONLY, _order(family, view, known, margin))
    if all(view[c].known_now for c in children):
        if sum_is_safe([view[margin]], parties, params, family.table):
            return None
        return Violation("recovery", Status.POPULATION_ONLY, _order(family, view, children, None))
    return None


def determined(family: Family, view: Mapping[Position, ViewEntry]) -> list[Position]:
    """The positions not known now whose values the relations pin exactly, taken together."""
    unknown = sorted(p for p in family.cells if not view[p].known_now)
    if not unknown:
        return []
    index = {p: i for i, p in enumerate(unknown)}
    rows = []
    for rel in family.relations:
        row = np.zeros(len(unknown))
        for p, coef in ((rel.margin, 1.0), *((c, -1.0) for c in rel.children)):
            if p in index:
                row[index[p]] += coef
        if row.any():
            rows.append(row)
    if not rows:
        return []
    a = np.array(rows)
    # A position is pinned when its unit vector lies in the row space of the relations: its squared
    # projection onto an orthonormal basis of that space (the leading right singular vectors) is 1.
    # The thin SVD is enough for that (a full one builds the whole null space: 80 times slower at the
    # usual 25 relations x 130 unknowns, and a sixth of a small feed's plan time).
    _, singular, vt = np.linalg.svd(a, full_matrices=False)
    rank = int((singular > 1e-9).sum())
    in_row_space = (vt[:rank] ** 2).sum(axis=0)
    pinned = 1.0 - in_row_space < 1e-10
    return [p for p in unknown if pinned[index[p]]]


def determined_violation(
    family: Family, view: Mapping[Position, ViewEntry], parties: Parties, params: DisclosureParams
) -> Violation | None:
    """Rule 3: a cell pinned by the relations together is judged as a sum of one."""
    for pos in determined(family, view):
        if sum_is_safe([view[pos]], parties, params, family.table):
            continue
        around = {
            p
            for rel in family.relations
            if pos == rel.margin or pos in rel.children
            for p in (rel.margin, *rel.children)
            if p != pos and view[p].known_now
        }
        if around:
            return Violation("recovery", Status.POPULATION_ONLY, _order(family, view, around, None))
    return None


def recovery_violation(
    family: Family,
    view: Mapping[Position, ViewEntry],
    checks: CleanChecks | None = None,
    sites: Mapping[str, SiteInfo] | None = None,
) -> Violation | None:
    """The value-based last line (`recovery`), on the relations at this release: known cells are
    constants, the rest unknowns; populations known now bound their cells' counts. With `checks`, a
    family checked clean before solves only what can have changed since (same answer). With `sites`,
    every member and supplier with sites among the unknowns is modelled too, its own part subtracted."""
    status = {
        pos: Status.PUBLISHED
        if entry.known_now
        else (Status.POPULATION_ONLY if entry.population_now else Status.SUPPRESSED)
        for pos, entry in view.items()
    }
    lp_pattern = Pattern(status=status, primary=dict(status))
    held = {pos: entry.held for pos, entry in view.items() if entry.held is not None}
    unknown = frozenset(pos for pos, st in status.items() if st is not Status.PUBLISHED)
    only = None if checks is None else checks.only(family, unknown, held)
    witnesses = None if checks is None else checks.witnesses(family, unknown)
    hit = find_recoverable(family, lp_pattern, held, only, sites, witnesses)
    if checks is not None and witnesses is not None:
        checks.keep(family, unknown, witnesses)
    if hit is None:
        if checks is not None:
            checks.clean(family, unknown, held)
        return None
    return Violation(
        "recovery", Status.POPULATION_ONLY, candidates_for(family, lp_pattern, hit), by_values=True
    )


def unshown_child_violation(
    family: Family, view: Mapping[Position, ViewEntry], fixed: Collection[Position] = ()
) -> Violation | None:
    """The recovery rule ("no exact recovery") decided from populations alone, as aggregates.md asks
    of a deterministic exchange (every table but a benchmark's `params.value_recovery`).

    Two conditions on which cells' outcomes are known now (values are never read):
    - a margin known now has every child known now, in each of its relations: otherwise the children
      not known hold a remainder the subscriber knows exactly, and when that remainder is zero or whole
      (every site has the finding) each of them is pinned at 0 or at its population; only values tell
      when, and deciding from values leaks (attack 6), so the margin's outcomes are withheld;
    - a margin not known now has a child not known now in each of its relations: otherwise it is the
      sum of known children.
    With both, the cells not known are closed upwards (every margin above one is unknown too) and
    below each unknown margin lies an unknown child, so any non-zero unknown count can move one unit
    down along a chain of unknown cells and their unknown margins (every margin holds at least what its
    child does), and an insider's part likewise (a margin's others' part holds at least its child's):
    no count is pinned, whatever the values. `test_populations_only.py` checks this with the
    independent attacker.

    `fixed` are margins another table decided (capacity-building's issue-prevalence cells), which this
    family cannot withhold. Below a fixed known margin the known children are withheld instead, and
    once every child is unknown the relation is the fixed cell's own business: its children are pinned
    only when it is zero or whole, which the published cell says by itself (every site of it has the
    finding, so every part of it has), and no cell withheld here could change that."""
    for rel in family.relations:
        margin = view[rel.margin]
        unknown = [c for c in rel.children if not view[c].known_now]
        if margin.known_now and unknown and rel.margin in fixed:
            known = [c for c in rel.children if view[c].known_now]
            if known:
                return Violation("recovery", Status.POPULATION_ONLY, _order(family, view, known, None))
        elif margin.known_now and unknown:
            return Violation("recovery", Status.POPULATION_ONLY, (rel.margin,))
        if not margin.known_now and not unknown and rel.children:
            return Violation("recovery", Status.POPULATION_ONLY, _order(family, view, rel.children, None))
    return None


def _residual(
    family: Family,
    view: Mapping[Position, ViewEntry],
    margin: Position,
    below: tuple[Position, ...],
    parties: Parties,
    params: DisclosureParams,
    checks: CleanChecks | None,
) -> Violation | None:
    """`residual_violation`, skipped where `checks` found the same entries clean before."""
    if checks is None:
        return residual_violation(family, view, margin, below, parties, params)
    entries = (view[margin], *map(view.__getitem__, below))
    if checks.residual_clean(family, margin, below, entries):
        return None
    found = residual_violation(family, view, margin, below, parties, params)
    if found is None:
        checks.keep_residual(family, margin, below, entries)
    return found


def first_violation(
    family: Family,
    view: Mapping[Position, ViewEntry],
    parties: Parties,
    params: DisclosureParams,
    checks: CleanChecks | None = None,
    sites: Mapping[str, SiteInfo] | None = None,
    fixed: Collection[Position] = (),
) -> Violation | None:
    """The first rule the view breaks, in a fixed order: relations, covers, the recovery rule from
    populations alone (`unshown_child_violation`), sums, determined cells. Only a table a benchmark
    names in `params.value_recovery` has the value LP instead, last (with `sites`, for every insider
    too). `fixed`: margins another table decided (`unshown_child_violation`)."""
    for margin, below in (
        *((rel.margin, rel.children) for rel in family.relations),
        *((cover.margin, cover.below) for cover in family.covers),
    ):
        found = _residual(family, view, margin, below, parties, params, checks)
        if found is not None:
            return found
    by_populations = params.decides_from_populations(family.table)
    if by_populations:
        # Before the sums and the cells pinned together: a known margin above an unknown cell is what
        # lets those pin anything, and this rule withholds it anyway, so its fix comes first (a child
        # withheld for a sum first would be lost for nothing).
        found = unshown_child_violation(family, view, fixed)
        if found is not None:
            return found
    for rel in family.relations:
        found = sum_violation(family, view, rel.margin, rel.children, parties, params)
        if found is not None:
            return found
    found = determined_violation(family, view, parties, params)
    if found is not None:
        return found
    return None if by_populations else recovery_violation(family, view, checks, sites)


def fixes(violation: Violation, view: Mapping[Position, ViewEntry]) -> list[Position]:
    """The candidates that the view still shows at the level the fix withholds, best first; raises
    when there is none."""
    # known now implies published
    out = [pos for pos in violation.candidates if _shown_at_least(view[pos].status, violation.to)]
    if not out:
        raise RuntimeError(f"no cell can be withheld to mend a {violation.rule} violation")
    return out
