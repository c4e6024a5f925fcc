"""The vocabulary every aggregate module shares: cells, their populations, their measures.

A cell's *population* is the set of contributing resolved sites in it; everything the disclosure
rules decide is decided from populations and from who owns and is linked to those sites (`SiteInfo`),
never from outcome values. *Measures* are split accordingly: population measures (marked P in
aggregates.md) and outcome measures.
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn, Protocol

from .contributions import Contributions

ALL: Final = "ALL"


def compact_json(value: Any) -> bytes:
    """The one JSON form of keys the exchange writes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def additive_counts(outcomes: Mapping[str, Any]) -> dict[str, int]:
    """Outcome measures as flat additive counts (`sites_with_issue`, `by_severity.critical`, ...), the
    unknowns of the recovery rules; shares and means are not additive and are left out."""
    flat: dict[str, int] = {}
    for name, value in outcomes.items():
        if isinstance(value, Mapping):
            flat.update({f"{name}.{k}": int(v) for k, v in value.items()})
        elif isinstance(value, int) and not isinstance(value, bool):
            flat[name] = value
    return flat


# A contribution token -> (population units, additive counts) it brings to its cell.
UnitCounts = Callable[[str], tuple[int, Mapping[str, int]]]


class SiteItem(Protocol):
    """One thing a site brings to a cell (an audit, a finding), with the token the revision rule compares."""

    @property
    def site(self) -> str: ...

    def token(self) -> str: ...


def joined_contributions(items: Iterable[SiteItem]) -> dict[str, str]:
    """Site -> its items' tokens, sorted and joined: the site's whole contribution to a cell whose unit
    is not the site (audit-quality's audits, remediation's findings)."""
    tokens: dict[str, list[str]] = defaultdict(list)
    for item in items:
        tokens[item.site].append(item.token())
    # Interned: a token is one of a small vocabulary, and the release log keeps one per site per cell.
    return {site: sys.intern(",".join(sorted(tokens[site]))) for site in sorted(tokens)}


@dataclass(frozen=True, order=True, slots=True)
class CellKey:
    """A table and its coordinates, e.g. ("issue-prevalence", (("country","BD"),("issue","WAGES"),
    ("period","2026-Q1"),("sector","ALL"))). Coordinates are sorted by dimension name."""

    table: str
    coords: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, table: str, **coords: str) -> CellKey:
        return cls(table, tuple(sorted(coords.items())))

    def get(self, dimension: str) -> str:
        # A scan of a handful of pairs, not a dict made per call: the plan asks this of every cell,
        # several times (a year's plan spent a second in the dicts).
        for name, value in self.coords:
            if name == dimension:
                return value
        raise KeyError(dimension)

    @property
    def period(self) -> str:
        return self.get("period")

    def message_key(self) -> bytes:
        """aggregates.md "Message format": compact JSON, sorted keys."""
        return compact_json(dict(self.coords))


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """Who stands behind one contributing resolved site (pseudonyms only)."""

    site_id: str
    principal_owner: str  # merged supplier identity (services.aggregate.identity)
    owners: frozenset[str]  # merged supplier identities
    members: frozenset[str]  # merged member identities
    # The real site (identity.real_site_key: its platform sites), which the revision rule counts and the
    # view compares across releases; defaults to the resolved site id for hand-built tests.
    real: str = ""
    # Its owners with its principal owner: every supplier the insider rule counts it for (derived).
    suppliers: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.real:
            object.__setattr__(self, "real", self.site_id)
        # Most sites list their principal among their owners: the owners' set is then the one object
        # (a year's plan held 117,798 equal copies, 24 MiB).
        suppliers = (
            self.owners if self.principal_owner in self.owners else self.owners | {self.principal_owner}
        )
        object.__setattr__(self, "suppliers", suppliers)


class SiteTable(dict[str, SiteInfo]):
    """The contributing sites of one release (resolved site id -> `SiteInfo`), read-only, with each
    member's and each supplier's sites indexed for the insider rule.

    The insider rule asks, of every population the plan judges (tens of thousands at a year, many of
    tens of thousands of sites), whether some member or supplier is linked to more than
    `len(population) - k_insider` of its sites. Counting every link of every site per question was a
    fifth of the plan. A party linked to no more sites in the whole release than that bound cannot
    break it, so only the few parties larger than the bound need counting, each by one set
    intersection (`parties_larger_than`). The index is built once, so the table refuses changes."""

    __slots__ = ("_by_size", "_sizes")

    def __init__(self, items: Iterable[tuple[str, SiteInfo]] = ()) -> None:
        super().__init__(items)
        linked: dict[str, set[str]] = defaultdict(set)
        owned: dict[str, set[str]] = defaultdict(set)
        for site_id, info in dict.items(self):
            for member in info.members:
                linked[member].add(site_id)
            for supplier in info.suppliers:
                owned[supplier].add(site_id)
        parties = sorted((frozenset(s) for s in (*linked.values(), *owned.values())), key=len, reverse=True)
        self._by_size: tuple[frozenset[str], ...] = tuple(parties)
        self._sizes: tuple[int, ...] = tuple(-len(p) for p in parties)  # ascending, for bisect

    def parties_larger_than(self, bound: int) -> tuple[frozenset[str], ...]:
        """The site sets of the members and suppliers linked to more than `bound` sites, largest first."""
        return self._by_size[: bisect_left(self._sizes, -bound)]

    def _read_only(self, *_: object, **__: object) -> NoReturn:
        raise TypeError("a SiteTable is read-only: its insider index would no longer match it")

    __setitem__ = __delitem__ = _read_only
    update = pop = popitem = clear = setdefault = __ior__ = _read_only


@dataclass(frozen=True, slots=True)
class Cell:
    key: CellKey
    sites: frozenset[str]  # the population: contributing resolved site ids
    population: Mapping[str, Any]  # population measures, e.g. {"audited_sites": 41}
    outcomes: Mapping[str, Any]  # outcome measures, e.g. {"sites_with_issue": 12, "by_severity": {...}, ...}
    # Additive outcome counts (flattened name -> int) for the no-exact-recovery check, e.g.
    # {"sites_with_issue": 12, "by_severity.critical": 0, ...}. Shares and means are not additive.
    additive: Mapping[str, int] = field(default_factory=dict)
    # What each site of the population brings to *this* cell (site id -> token), for the revision rule's
    # "sites whose contribution to it differs since its last release": an issue cell's token is the
    # site's highest severity on the issue ("" for none), a forced-labour cell's its sorted indicators.
    # Left empty, every site brings the same thing (membership only).
    contributions: Mapping[str, str] = field(default_factory=dict)
    # What the message's `cell` carries beside the coordinates, not part of the key and never read by
    # the disclosure rules: an audit-quality cell's `audit_firm_name`.
    labels: Mapping[str, str] = field(default_factory=dict)
    # What one site's contribution token adds to the cell: its population units (what
    # `recovery.population_size` counts: sites, audits or findings) and its additive counts. The value
    # LP uses it to model an insider that subtracts its own sites (aggregates.md, "No exact recovery").
    # None: the cell's tokens do not say (hand-built tests only; every table's cells carry one).
    unit_counts: UnitCounts | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        contributions = self.contributions
        if isinstance(contributions, Contributions):
            members = contributions.population.members
            if members is not self.sites and members != self.sites:
                raise ValueError(f"{self.key}: contributions must cover exactly the cell's sites")
        elif not contributions:
            object.__setattr__(self, "contributions", dict.fromkeys(sorted(self.sites), ""))
        elif contributions.keys() != self.sites:
            raise ValueError(f"{self.key}: contributions must cover exactly the cell's sites")
