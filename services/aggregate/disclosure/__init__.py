"""Disclosure control for the exchange tables (aggregates.md "Disclosure control", revision 2), pure.

`decide(cells, sites, params, previous=None, parties=None)` judges one release by what the subscriber
will hold after it (`view`), not by the release alone:

1. the primary rules per cell, from its population alone (`rules`): threshold and insider (merged
   identities), else the cell is suppressed; the outcome rule, else its outcomes are withheld;
2. the residual rule on the current populations, to a fixed point (`residual`); one pattern per
   population structure, shared by every family (issue, table) with the same positions and site sets;
3. the revision rule per cell against its own last release (`revision`): a change is sent only if
   at least k_delta real sites changed and they pass the insider rule as a set; a tightening is
   always sent, unless it would show a population change the rule does not let through, in which
   case the cell is suppressed instead; otherwise the cell is held at its last release;
4. the view after the release (`view`): residuals with held cells counted as shown at their old
   sites, exact sums, cells pinned by the relations together, then the recovery rule from populations
   alone (`view.unshown_child_violation`: a margin shows outcomes only above children that all do, a
   withheld margin keeps a withheld child in each relation); a violation withholds one
   more cell in the shared pattern, and 2–4 run again until the view breaks no rule. Of the cells
   that could mend it (a cell sent anyway, the margin, a held or unchanged cell, which is then sent as
   a tightening), the one taken is the one that withholds the fewest cells once the residual rule has
   followed it (`_mend`); the smallest-first greedy of earlier versions remains behind
   `DisclosureParams(minimal=False)` to measure the difference (`bench.utility --greedy`).

No step reads an outcome value: what is withheld follows from populations, owners, members and which
real sites changed, as aggregates.md asks of a deterministic exchange ("either it decides from
populations alone, or it publishes outcomes with noise"). The value LP of earlier releases
(`recovery`) read values, and the pattern then told them (issue 9, attack 6); it runs only for tables
a benchmark names in `DisclosureParams.value_recovery`, and `CellDecision.by_values` says which
patterns it touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from services.aggregate.disclosure.recovery import CleanChecks
from services.aggregate.disclosure.residual import (
    Family,
    FamilyId,
    Pattern,
    Position,
    Signature,
    build_families,
    enforce_residuals,
    primary_pattern,
    signature,
)
from services.aggregate.disclosure.revision import (
    RealContributions,
    Released,
    Revision,
    change_may_be_shown,
    changed_sites,
    population_change_may_be_shown,
    real_contributions,
    revision,
    tightening_shows_new_population,
)
from services.aggregate.disclosure.rules import (
    DisclosureParams,
    DisclosureParamsError,
    Status,
    passes_insider,
    passes_outcome_rule,
    passes_population_rules,
    passes_threshold,
    primary_status,
)
from services.aggregate.disclosure.view import ViewEntry, Violation, first_violation, fixes, view_entry
from services.aggregate.identity import Parties
from services.aggregate.model import Cell, CellKey, SiteInfo

__all__ = [
    "WITHHELD_REASONS",
    "CellDecision",
    "Decisions",
    "DisclosureCounts",
    "DisclosureParams",
    "DisclosureParamsError",
    "RealContributions",
    "Released",
    "Revision",
    "Status",
    "change_may_be_shown",
    "changed_sites",
    "count_decisions",
    "decide",
    "passes_insider",
    "passes_outcome_rule",
    "passes_population_rules",
    "passes_threshold",
    "population_change_may_be_shown",
    "primary_status",
    "real_contributions",
    "revision",
]


# Every reason a cell shows less than everything, for the metrics (a bounded label).
WITHHELD_REASONS: Final = (
    "threshold",
    "insider",
    "outcome_min",
    "residual",
    "recovery",
    "revision",
    "budget",
)


@dataclass(frozen=True, slots=True)
class CellDecision:
    key: CellKey
    status: Status  # what this release's rules allow
    primary: Status  # what the primary rules alone allowed
    reason: str | None  # "residual" | "recovery" | "revision" when withheld beyond the primary rules
    revision: Revision  # SEND, UNCHANGED or HOLD (keep the last release) under the k_delta rule
    # Why the cell shows less than everything: the primary rule that failed ("threshold", "insider",
    # "outcome_min"), else the secondary reason; None for a cell published with its outcomes.
    withheld_by: str | None = None
    # The value LP asked its family's pattern for a fix: the only way outcome values reach a
    # decision (issue 9, attack 6). A pattern it never touched is a function of populations alone.
    by_values: bool = False


@dataclass(frozen=True, slots=True)
class DisclosureCounts:
    cells: int
    passed_primary: int  # threshold and insider passed
    suppressed_primary: int
    suppressed_secondary: int  # passed the primary rules, suppressed by residual/recovery
    outcomes_withheld_primary: int  # passed threshold/insider, below outcome_min
    outcomes_withheld_secondary: int  # had outcomes under the primary rules, withheld by residual/recovery
    published_with_outcomes: int
    published_population_only: int
    held_by_revision: int
    withheld_by: Mapping[str, int] = field(default_factory=dict)  # WITHHELD_REASONS -> cells


@dataclass(frozen=True, slots=True)
class Decisions:
    cells: Mapping[CellKey, CellDecision]
    counts: DisclosureCounts

    def status(self, key: CellKey) -> Status:
        return self.cells[key].status


# A cell's revision, view entry and whether its sending would show a new population, per family,
# position and status (`_revisions`).
Judged = dict[tuple[FamilyId, Position, Status], tuple[Revision, ViewEntry, bool]]


def _revisions(
    family: Family,
    pattern: Pattern,
    contributed: RealContributions,
    params: DisclosureParams,
    previous: Mapping[CellKey, Released],
    parties: Parties,
    *,
    noisy: bool = False,
    judged: Judged | None = None,
) -> tuple[dict[Position, Revision], dict[Position, ViewEntry], list[Position]]:
    """Each cell's revision and view entry under `pattern`, and the cells whose sending would be a
    tightening that shows a population change the revision rule does not let through (they must be
    suppressed instead: `population_change_may_be_shown`).

    A cell's answer depends on its status in the pattern alone (its sites, last release and the
    parties are fixed within one decision), so `judged` keeps it across the withholding loop's passes:
    a fix changes one position, and every other cell of every family was judged before."""
    revisions: dict[Position, Revision] = {}
    view: dict[Position, ViewEntry] = {}
    unsafe: list[Position] = []
    for pos, cell in family.cells.items():
        status = pattern.status[pos]
        found = None if judged is None else judged.get((family.id, pos, status))
        if found is None:
            last = previous.get(cell.key)
            candidate = Released.of(cell, status, contributions=contributed(cell))
            rev = revision(last, candidate, params, parties, noisy=noisy)
            shows = rev is Revision.SEND and tightening_shows_new_population(last, candidate, params, parties)
            found = (rev, view_entry(candidate, rev, last), shows)
            if judged is not None:
                judged[(family.id, pos, status)] = found
        revisions[pos], view[pos], shows_new_population = found
        if shows_new_population:
            unsafe.append(pos)
    return revisions, view, unsafe


def _first_violation(
    members: list[Family],
    pattern: Pattern,
    sites: Mapping[str, SiteInfo],
    contributed: RealContributions,
    params: DisclosureParams,
    previous: Mapping[CellKey, Released],
    parties: Parties,
    checks: CleanChecks,
    judged: Judged,
) -> tuple[dict[FamilyId, dict[Position, Revision]], tuple[Violation, dict[Position, ViewEntry]] | None]:
    """Every family's revisions, up to the first family whose view breaks a rule (and that break)."""
    revisions: dict[FamilyId, dict[Position, Revision]] = {}
    for family in members:
        revisions[family.id], view, unsafe = _revisions(
            family, pattern, contributed, params, previous, parties, judged=judged
        )
        found = (
            Violation("revision", Status.SUPPRESSED, tuple(unsafe))
            if unsafe
            else first_violation(family, view, parties, params, checks, sites)
        )
        if found is not None:
            return revisions, (found, view)
    return revisions, None


def _mend(
    head: Family,
    pattern: Pattern,
    found: Violation,
    view: Mapping[Position, ViewEntry],
    sites: Mapping[str, SiteInfo],
    params: DisclosureParams,
) -> Pattern:
    """The pattern after mending `found`, residuals included. Smallest-first greedy takes the
    violation's first candidate; `params.minimal` tries each and keeps the one that withholds the
    fewest cells once the residual rule has followed it (ties: the violation's own order). The
    residuals are what makes a fix expensive: an outcome withheld in one relation leaves a remainder
    below outcome_min in the other dimension, and the smallest child is rarely the cheapest there."""
    if found.by_values:
        pattern.by_values = True
    options = fixes(found, view)
    best: tuple[int, Pattern] | None = None
    for pos in options if params.minimal else options[:1]:
        trial = pattern.copy()
        trial.withhold(pos, found.to, found.rule)
        enforce_residuals(head, trial, sites, params)
        cost = sum(trial.status[p] is not pattern.status[p] for p in trial.status)
        if best is None or cost < best[0]:
            best = (cost, trial)
    assert best is not None  # `fixes` returns at least one
    return best[1]


def _settle(
    members: list[Family],
    sites: Mapping[str, SiteInfo],
    contributed: RealContributions,
    params: DisclosureParams,
    previous: Mapping[CellKey, Released],
    parties: Parties,
) -> tuple[Pattern, dict[FamilyId, dict[Position, Revision]]]:
    """The shared pattern of one population structure, withheld further until the view after the
    release breaks no rule in any of its families."""
    head = members[0]
    pattern = primary_pattern(head, sites, params)
    enforce_residuals(head, pattern, sites, params)
    checks = CleanChecks()  # the loop re-checks every family after each fix: solve only what changed
    judged: Judged = {}  # and judges again only the cells whose status changed
    while True:
        revisions, broken = _first_violation(
            members, pattern, sites, contributed, params, previous, parties, checks, judged
        )
        if broken is None:
            break
        pattern = _mend(head, pattern, *broken, sites, params)
    return pattern, revisions


def _noisy(
    members: list[Family],
    sites: Mapping[str, SiteInfo],
    contributed: RealContributions,
    params: DisclosureParams,
    previous: Mapping[CellKey, Released],
    parties: Parties,
) -> tuple[Pattern, dict[FamilyId, dict[Position, Revision]]]:
    """The pattern of families in the differential-privacy mode: the primary rules only, since no
    published outcome is exact (no residual or recovery withholding), and the revision rule."""
    pattern = primary_pattern(members[0], sites, params)
    while True:
        revisions: dict[FamilyId, dict[Position, Revision]] = {}
        unsafe: list[Position] = []
        for family in members:
            revisions[family.id], _, found = _revisions(
                family, pattern, contributed, params, previous, parties, noisy=True
            )
            unsafe.extend(found)
        if not unsafe:
            return pattern, revisions
        for pos in unsafe:  # a tightening may not show a new population: suppressed instead
            pattern.withhold(pos, Status.SUPPRESSED, "revision")


def decide(
    cells: Iterable[Cell],
    sites: Mapping[str, SiteInfo],
    params: DisclosureParams,
    previous: Mapping[CellKey, Released] | None = None,
    parties: Parties | None = None,
    noisy: frozenset[str] = frozenset(),
    contributed: RealContributions | None = None,
) -> Decisions:
    """Decide every cell of one release. `previous` is each cell's last release (with each real
    site's contribution then); `parties` says who stands behind real sites that are no longer in
    `sites` (defaults to knowing only `sites`); `noisy` names the tables in the differential-privacy
    mode, whose families share no pattern with exact ones. `contributed`: the release's cells'
    contributions by real site, when the caller keeps them for after the decision (it must be made
    with the real sites of `sites`)."""
    families = build_families(cells)
    previous = previous or {}
    parties = parties or Parties.of_sites(sites.values())
    # Families share a pattern only within one mode: a value LP's fix must not reach a table that
    # decides from populations alone, nor any withholding a noisy one.
    groups: dict[tuple[bool, bool, Signature], list[Family]] = defaultdict(list)
    for family in families:
        mode = (family.table in noisy, params.decides_from_populations(family.table))
        groups[(*mode, signature(family, params))].append(family)
    decisions: dict[CellKey, CellDecision] = {}
    if contributed is None:
        contributed = RealContributions.of_sites(sites)
    for (is_noisy, _, _), members in groups.items():
        settle = _noisy if is_noisy else _settle
        pattern, revisions = settle(members, sites, contributed, params, previous, parties)
        for family in members:
            for pos, cell in family.cells.items():
                decisions[cell.key] = CellDecision(
                    cell.key,
                    pattern.status[pos],
                    pattern.primary[pos],
                    pattern.secondary_reason.get(pos),
                    revisions[family.id][pos],
                    pattern.withheld_by(pos),
                    pattern.by_values,
                )
    return Decisions(cells=dict(sorted(decisions.items())), counts=count_decisions(decisions.values()))


def count_decisions(decisions: Iterable[CellDecision]) -> DisclosureCounts:
    """The utility report of a set of decisions (e.g. one table's cells of a release)."""
    ds = list(decisions)
    sup, pop, pub = Status.SUPPRESSED, Status.POPULATION_ONLY, Status.PUBLISHED
    return DisclosureCounts(
        cells=len(ds),
        passed_primary=sum(d.primary is not sup for d in ds),
        suppressed_primary=sum(d.primary is sup for d in ds),
        suppressed_secondary=sum(d.primary is not sup and d.status is sup for d in ds),
        outcomes_withheld_primary=sum(d.primary is pop for d in ds),
        outcomes_withheld_secondary=sum(d.primary is pub and d.status is pop for d in ds),
        published_with_outcomes=sum(d.status is pub for d in ds),
        published_population_only=sum(d.status is pop for d in ds),
        held_by_revision=sum(d.revision is Revision.HOLD for d in ds),
        withheld_by={r: sum(d.withheld_by == r for d in ds) for r in WITHHELD_REASONS},
    )
