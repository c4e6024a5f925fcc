"""What each site of a cell's population brings to it, held once per population and only where it
brings something (`Contributions`).

A cell's contributions (site -> token, `Cell.contributions`) were a dict of every site of its
population. A period's issue-prevalence population has a cell per issue, and most sites have no
finding on most issues: at 300,000 events the plan's cells held 2.1 million site entries, of which
1.7 million were issue-prevalence tokens and 8 % of those were not empty (a site without a finding on
the issue brings ""). Each of them was made, re-keyed by real site, held by the release log, counted
for the release state and compared, one Python step per site per cell. Here the population (its
sites in order, and as a set) is one object shared by every cell over it, the tokens a dict of the
non-empty ones, and whatever depends only on the population (its sites re-keyed by real site, their
length in JSON, the real sites as platform sites) is made once per population and kept on it.

`Contributions` is a read-only `Mapping[str, str]` with the same items as the dict it replaces, so
every rule that reads a cell's contributions reads the same thing; what is faster is what knows the
type (`by_real_site`, `Released.real_sites`, the release state's slices). Nothing changes one once
made: the population's caches and the maps handed out rely on that.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, ValuesView
from itertools import islice, repeat
from operator import lt
from typing import Any


class Population:
    """A population's sites, in order and as a set; shared by every cell over it. Its re-keyings by a
    map of real sites are kept on it (`rekeyed`), one per map (a release has one)."""

    __slots__ = ("_cache", "_rekeyed", "members", "ordered", "sites")

    def __init__(self, sites: Iterable[str], members: frozenset[str] | None = None) -> None:
        self.sites: tuple[str, ...] = tuple(sites)
        self.members: frozenset[str] = frozenset(self.sites) if members is None else members
        if len(self.members) != len(self.sites):
            raise ValueError("a population holds each site once")
        # Whether its sites are in order already (compared at C speed, once): the release state writes
        # every cell's sites in order, and need not sort a population that is.
        self.ordered: bool = all(map(lt, self.sites, islice(self.sites, 1, None)))
        self._rekeyed: tuple[Mapping[str, str], Population | None] | None = None
        self._cache: dict[str, Any] = {}

    def rekeyed(self, real: Mapping[str, str]) -> Population | None:
        """The population under `real` (site -> real site), in real-site order (the order the release
        state writes, and reads back); None when two of its sites are one real site (the caller then
        merges their tokens as a dict would). Kept for the last map asked, held so that its identity
        stays its own."""
        kept = self._rekeyed
        if kept is not None and kept[0] is real:
            return kept[1]
        # In order, as the release state writes them: sorted once here, for every cell over it.
        keys = tuple(sorted(map(real.__getitem__, self.sites)))
        members = frozenset(keys)
        out = Population(keys, members) if len(members) == len(keys) else None
        self._rekeyed = (real, out)
        return out

    def in_order(self) -> tuple[str, ...]:
        """The sites in order: the release state writes every cell's sites so."""
        return self.sites if self.ordered else tuple(sorted(self.sites))

    def derived(self, name: str, make: Callable[[Population], Any]) -> Any:
        """Something made of the population alone, made once: `make(self)` kept under `name` until
        `forget`."""
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = make(self)
        return found

    @property
    def holds_derived(self) -> bool:
        return bool(self._cache) or self._rekeyed is not None

    def forget(self) -> None:
        """Drop what was derived from it (`derived`, `rekeyed`): a plan's help, which must not stay
        in the release log that keeps the population until the cell's next release."""
        self._cache.clear()
        self._rekeyed = None


class Contributions(Mapping[str, str]):
    """Site -> token over a shared `Population`; sites not in `tokens` bring `default` (`tokens` holds
    no default token, and no site outside the population). The default is what most sites bring: ""
    (no finding on an issue), "0" (no finding, as capacity-building's groups see it), "U0" (an
    untrained site without a finding)."""

    __slots__ = ("default", "population", "tokens")

    def __init__(self, population: Population, tokens: Mapping[str, str], default: str = "") -> None:
        self.population = population
        self.tokens: Mapping[str, str] = tokens
        self.default = default

    @classmethod
    def of(
        cls, values: Mapping[str, str], population: Population | None = None, default: str = ""
    ) -> Contributions:
        """From a plain map (in its order), over `population` if it is that map's population already."""
        if isinstance(values, Contributions):
            return values
        pop = Population(values) if population is None else population
        return cls(pop, {site: token for site, token in values.items() if token != default}, default)

    def __getitem__(self, site: str) -> str:
        token = self.tokens.get(site)
        if token is not None:
            return token
        if site in self.population.members:
            return self.default
        raise KeyError(site)

    def __contains__(self, site: object) -> bool:
        return site in self.population.members

    def __iter__(self) -> Iterator[str]:
        return iter(self.population.sites)

    def __len__(self) -> int:
        return len(self.population.sites)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Contributions):
            pop = other.population
            if pop is not self.population and pop.members != self.population.members:
                return False
            if other.default != self.default:
                return self.as_dict() == other.as_dict()
            return self.tokens == other.tokens
        if isinstance(other, Mapping):
            return self.as_dict() == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"Contributions({self.as_dict()!r})"

    def values(self) -> ValuesView[str]:
        return self.as_dict().values()

    def items(self) -> ItemsView[str, str]:
        return self.as_dict().items()

    def as_dict(self) -> dict[str, str]:
        """The plain dict of every site's token, in population order (made at C speed, not kept)."""
        sites = self.population.sites
        return dict(zip(sites, map(self.tokens.get, sites, repeat(self.default)), strict=True))

    def rekeyed(self, real: Mapping[str, str]) -> Contributions:
        """Keyed by real site instead of resolved site, with the items `dict(zip(map(real.__getitem__,
        self), self.values()))` would have (in real-site order when no two sites share a real site):
        the population re-keyed once for every cell over it, the tokens one step each."""
        pop = self.population.rekeyed(real)
        if pop is None:  # two sites of one real site: the later one's token, as a dict keeps it
            sites = self.population.sites
            tokens = map(self.tokens.get, sites, repeat(self.default))
            merged = dict(zip(map(real.__getitem__, sites), tokens, strict=True))
            return Contributions.of(merged, default=self.default)
        return Contributions(pop, {real[site]: token for site, token in self.tokens.items()}, self.default)


def presence(values: Mapping[str, str]) -> Mapping[str, str]:
    """Each site's token reduced to whether it brings anything: "1", or "0" for "" (an issue cell's
    sites as capacity-building's groups see them); one step per site with a finding."""
    if isinstance(values, Contributions) and values.default == "":
        return Contributions(values.population, dict.fromkeys(values.tokens, "1"), "0")
    return {site: "1" if token else "0" for site, token in values.items()}
