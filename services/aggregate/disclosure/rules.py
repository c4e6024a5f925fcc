"""Parameters and the primary rules (aggregates.md "Disclosure control").

The primary rules look at a population only: which sites are in it, who owns them and who is linked
to them (`SiteInfo`). They never look at outcome values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain
from typing import Final

from schemas.exchange.aggregates import TABLES
from services.aggregate.model import Cell, SiteInfo, SiteTable

MIN_PRINCIPAL_OWNERS: Final = 3  # fixed by the contract, not a parameter
AUDIT_QUALITY_TABLE: Final = "audit-quality"
PARAMETER_FLOOR: Final = 2


class Status(StrEnum):
    """What a release shows of one cell."""

    PUBLISHED = "published"  # population and outcome measures
    POPULATION_ONLY = "population_only"  # population measures; every outcome measure null
    SUPPRESSED = "suppressed"  # measures null

    @property
    def wire_status(self) -> str:
        """The message's `status` field: a population-only cell is a published cell."""
        return "suppressed" if self is Status.SUPPRESSED else "published"


# Order from most to least shown; withholding only ever moves a cell to the right.
SHOWN_ORDER: Final = (Status.PUBLISHED, Status.POPULATION_ONLY, Status.SUPPRESSED)


class DisclosureParamsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DisclosureParams:
    k_sites: int = 5
    k_insider: int = 3
    outcome_min: int = 20
    k_delta: int = 5
    audit_quality_min_sites: int = 10
    # How the withholding loop chooses (the rules a pattern must pass are the same either way): True,
    # each fix by the candidate that withholds the fewest cells with the residuals it entails; False,
    # the smallest-first greedy of earlier releases, kept to measure what the choice gains
    # (`bench.utility --greedy`).
    minimal: bool = True
    # "No exact recovery" decides from populations alone (`view.unshown_child_violation`) for every
    # table: aggregates.md lets a deterministic exchange decide this rule from populations or publish
    # with noise, nothing else. `value_recovery` names tables that decide it by the value LP of earlier
    # releases instead, which reads outcome values, so the pattern can tell them (issue 9, attack 6):
    # it breaks the contract, the service cannot select it (no setting), and it is kept only so
    # `bench.utility --value-recovery` can measure what the contract's rule costs against it.
    value_recovery: frozenset[str] = frozenset()

    def decides_from_populations(self, table: str) -> bool:
        """Whether `table`'s recovery rule is the contract's populations-only one (every table, unless
        a benchmark names it in `value_recovery`). A table's own families follow it: capacity-building's
        rate groups (`capacity-building.groups`) are capacity-building's."""
        return table.split(".", 1)[0] not in self.value_recovery

    def __post_init__(self) -> None:
        unknown = sorted(self.value_recovery - set(TABLES))
        if unknown:
            raise DisclosureParamsError(f"value_recovery names unknown tables: {', '.join(unknown)}")
        for name in ("k_sites", "k_insider", "outcome_min", "k_delta", "audit_quality_min_sites"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise DisclosureParamsError(f"disclosure parameter {name} must be an integer, got {value!r}")
            if value < PARAMETER_FLOOR:
                raise DisclosureParamsError(
                    f"disclosure parameter {name}={value} is below the floor of {PARAMETER_FLOOR} "
                    "(aggregates.md: a deployment may raise the parameters, none may be set below 2)"
                )

    def min_sites(self, table: str) -> int:
        """The threshold rule's site count for a table (audit-quality cells need more)."""
        return self.audit_quality_min_sites if table == AUDIT_QUALITY_TABLE else self.k_sites


def _infos(site_ids: Iterable[str], sites: Mapping[str, SiteInfo]) -> list[SiteInfo]:
    try:
        return [sites[site_id] for site_id in site_ids]
    except KeyError as missing:
        raise KeyError(f"no SiteInfo for contributing site {missing.args[0]!r}") from None


def _known(site_ids: frozenset[str], sites: Mapping[str, SiteInfo]) -> None:
    """Raise unless every site has its `SiteInfo` (a set comparison: for a dict, a C loop)."""
    if not site_ids <= sites.keys():
        missing = min(site for site in site_ids if site not in sites)
        raise KeyError(f"no SiteInfo for contributing site {missing!r}")


def _threshold(
    site_ids: frozenset[str], sites: Mapping[str, SiteInfo], params: DisclosureParams, table: str
) -> bool:
    """At least `min_sites` sites, of at least three principal owners: the owners are read until the
    third is found, not for every site of a population of thousands."""
    if len(site_ids) < params.min_sites(table):
        return False
    owners: set[str] = set()
    for site_id in site_ids:
        owners.add(sites[site_id].principal_owner)
        if len(owners) >= MIN_PRINCIPAL_OWNERS:
            return True
    return False


_INDEXED_PARTIES: Final = 32
"""Above this many parties larger than the bound, counting every link is the cheaper way."""


def _insider(site_ids: frozenset[str], params: DisclosureParams, sites: Mapping[str, SiteInfo]) -> bool:
    n = len(site_ids)
    if not n:  # nobody is linked to none of the sites
        return True
    bound = n - params.k_insider  # a party linked to more of the sites than this breaks the rule
    if bound < 0:
        return False
    if isinstance(sites, SiteTable):  # only parties with more sites than the bound in all can break it
        larger = sites.parties_larger_than(bound)
        if len(larger) <= _INDEXED_PARTIES:
            return all(len(site_ids & party) <= bound for party in larger)
    # One counting pass over all links (Counter's C loop), not one update per site: the plan calls this
    # for every cell, residual and changed set, on cells of thousands of sites.
    infos = _infos(site_ids, sites)
    linked = Counter(chain.from_iterable(info.members for info in infos))
    owned = Counter(chain.from_iterable(info.suppliers for info in infos))
    most = max(max(linked.values(), default=0), max(owned.values(), default=0))
    return most <= bound


def passes_threshold(
    site_ids: frozenset[str], sites: Mapping[str, SiteInfo], params: DisclosureParams, table: str
) -> bool:
    """At least min_sites(table) sites whose principal owners are at least 3 distinct companies."""
    _known(site_ids, sites)
    return _threshold(site_ids, sites, params, table)


def passes_insider(site_ids: frozenset[str], sites: Mapping[str, SiteInfo], params: DisclosureParams) -> bool:
    """For every member and every supplier company linked to / owning at least one of the sites,
    the sites it is not linked to / does not own number at least k_insider. (An entity linked to
    none of them sees all of them as strangers and cannot fail where the cell passes.)"""
    _known(site_ids, sites)
    return _insider(site_ids, params, sites)


def passes_population_rules(
    site_ids: frozenset[str], sites: Mapping[str, SiteInfo], params: DisclosureParams, table: str
) -> bool:
    """Threshold and insider: what any shown population (cell or residual) must pass."""
    _known(site_ids, sites)
    return _threshold(site_ids, sites, params, table) and _insider(site_ids, params, sites)


def passes_outcome_rule(site_ids: frozenset[str], params: DisclosureParams) -> bool:
    return len(site_ids) >= params.outcome_min


def primary_reason(cell: Cell, sites: Mapping[str, SiteInfo], params: DisclosureParams) -> str | None:
    """The first primary rule the cell fails, from its population alone: "threshold", "insider",
    "outcome_min", or None when it passes them all."""
    _known(cell.sites, sites)
    if not _threshold(cell.sites, sites, params, cell.key.table):
        return "threshold"
    if not _insider(cell.sites, params, sites):
        return "insider"
    if not passes_outcome_rule(cell.sites, params):
        return "outcome_min"
    return None


class PrimaryReasons:
    """`primary_reason` of each population met in one release, computed once.

    The verdict depends on the cell's sites and its table's site minimum only (`sites` and `params` are
    fixed for the release), and capacity-building meets the same populations again and again: its rate
    groups of every topic of a period include the same issue-prevalence populations, tens of thousands
    of sites each at a year, whose insider count is the costliest rule."""

    __slots__ = ("_known", "params", "sites")

    def __init__(self, sites: Mapping[str, SiteInfo], params: DisclosureParams) -> None:
        self.sites = sites
        self.params = params
        self._known: dict[tuple[int, frozenset[str]], str | None] = {}

    def __call__(self, cell: Cell) -> str | None:
        key = (self.params.min_sites(cell.key.table), cell.sites)
        if key in self._known:
            return self._known[key]
        found = self._known[key] = primary_reason(cell, self.sites, self.params)
        return found


def status_for(reason: str | None) -> Status:
    """What a cell may show given the first primary rule it fails."""
    if reason is None:
        return Status.PUBLISHED
    return Status.POPULATION_ONLY if reason == "outcome_min" else Status.SUPPRESSED


def primary_status(cell: Cell, sites: Mapping[str, SiteInfo], params: DisclosureParams) -> Status:
    """The primary rules for one cell, from its population alone."""
    return status_for(primary_reason(cell, sites, params))
