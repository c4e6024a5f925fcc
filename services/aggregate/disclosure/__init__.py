"""Disclosure control for the exchange tables (aggregates.md "Disclosure control"), pure: no Kafka.

`decide(cells, sites, params, previous=None)` runs, in order:

1. the primary rules per cell, from its population alone (`rules`): threshold and insider, else the
   cell is suppressed; the outcome rule, else its outcomes are withheld;
2. the residual rule per family, to a fixed point (`residual`): each margin against its children
   along each dimension, and a margin over two dimensions (ALL×ALL) against every cell below it across
   both hierarchies; one pattern per population structure, shared by every family (issue, table) with
   the same positions and site sets;
3. no exact recovery per family (`recovery`), one LP over all its additive measures with every
   published relation (hierarchies per measure, and the relations between a cell's own measures):
   while some withheld non-zero count is recoverable, withhold the outcomes of the smallest published
   cell around it, in the shared pattern, and go back to 2;
4. with `previous`, the revision rule (`revision`): a cell whose content changed is re-sent only if
   at least k_delta sites' contributions to it differ from its own last release; otherwise it keeps
   its last release (HOLD).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from services.aggregate.disclosure.recovery import find_recoverable, withhold_for
from services.aggregate.disclosure.residual import (
    Family,
    Pattern,
    Signature,
    build_families,
    enforce_residuals,
    primary_pattern,
    signature,
)
from services.aggregate.disclosure.revision import Released, Revision, differing_sites, revision
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
from services.aggregate.model import Cell, CellKey, SiteInfo

__all__ = [
    "WITHHELD_REASONS",
    "CellDecision",
    "Decisions",
    "DisclosureCounts",
    "DisclosureParams",
    "DisclosureParamsError",
    "Released",
    "Revision",
    "Status",
    "count_decisions",
    "decide",
    "differing_sites",
    "passes_insider",
    "passes_outcome_rule",
    "passes_population_rules",
    "passes_threshold",
    "primary_status",
    "revision",
]


# Every reason a cell shows less than everything, for the metrics (a bounded label).
WITHHELD_REASONS: Final = ("threshold", "insider", "outcome_min", "residual", "recovery")


@dataclass(frozen=True, slots=True)
class CellDecision:
    key: CellKey
    status: Status  # what this release's rules allow
    primary: Status  # what the primary rules alone allowed
    reason: str | None  # "residual" | "recovery" when withheld beyond the primary rules, else None
    revision: Revision  # SEND, UNCHANGED or HOLD (keep the last release) under the k_delta rule
    # Why the cell shows less than everything: the primary rule that failed ("threshold", "insider",
    # "outcome_min"), else the secondary reason; None for a cell published with its outcomes.
    withheld_by: str | None = None


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


def _patterns(
    families: list[Family], sites: Mapping[str, SiteInfo], params: DisclosureParams
) -> dict[Signature, Pattern]:
    groups: dict[Signature, list[Family]] = defaultdict(list)
    for family in families:
        groups[signature(family, params)].append(family)
    patterns: dict[Signature, Pattern] = {}
    for sig, members in groups.items():
        head = members[0]
        pattern = primary_pattern(head, sites, params)
        enforce_residuals(head, pattern, sites, params)
        while True:
            hit = next(
                (
                    (family, found)
                    for family in members
                    if (found := find_recoverable(family, pattern)) is not None
                ),
                None,
            )
            if hit is None:
                break
            family, found = hit
            pattern.withhold(withhold_for(family, pattern, found), Status.POPULATION_ONLY, "recovery")
            enforce_residuals(head, pattern, sites, params)
        patterns[sig] = pattern
    return patterns


def decide(
    cells: Iterable[Cell],
    sites: Mapping[str, SiteInfo],
    params: DisclosureParams,
    previous: Mapping[CellKey, Released] | None = None,
) -> Decisions:
    """Decide every cell of one release. `previous` is each cell's last release (with the contribution
    of each of its sites then)."""
    families = build_families(cells)
    patterns = _patterns(families, sites, params)
    decisions: dict[CellKey, CellDecision] = {}
    for family in families:
        pattern = patterns[signature(family, params)]
        for pos, cell in family.cells.items():
            status = pattern.status[pos]
            rev = revision(
                None if previous is None else previous.get(cell.key),
                Released.of(cell, status),
                params,
            )
            decisions[cell.key] = CellDecision(
                cell.key,
                status,
                pattern.primary[pos],
                pattern.secondary_reason.get(pos),
                rev,
                pattern.withheld_by(pos),
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
