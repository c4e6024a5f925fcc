"""Merged identities and real sites (aggregates.md, "Merged identities", revision 2).

The threshold and insider rules count *companies*, and the revision rule counts *sites*. Both must
count what is real, not the references the platforms happen to send:

* **Members.** Member references that share an LEI, directly or through a chain of references seen
  together with an LEI on any site, are one member. A customer listed with its LEI on some sites and
  without it on others (same platform reference) is therefore one member, not two: counted as two, a
  member linked to 20 sites of a 22-site cell would pass the insider rule as two members of 10.
* **Suppliers.** The supplier references that own one resolved site (its Sedex company and its
  amfori legal entity) are one supplier, transitively across sites.
* **Real sites.** A resolved site's pseudonym changes when it gains an OS id or its address is edited;
  the platform sites behind it do not. A real site is keyed by its sorted platform-site pseudonyms
  (`real_site_key`), so the revision rule sees such a site as one unchanged site, and a merge or split
  as one site changing (`real_components`).

Merging is a union–find whose representative is the smallest reference of each group, so the result
is the same whatever order the sites are read in. Links seen in earlier releases (the release log's
site affiliations) are merged too: an identity that was once one company stays one, which can only
make the insider rule stricter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from schemas.exchange.aggregates import REAL_SITE_SEPARATOR

from .model import SiteInfo

__all__ = [
    "Affiliation",
    "Identities",
    "Parties",
    "UnionFind",
    "real_components",
    "real_site",
    "real_site_key",
    "real_site_parts",
]


class UnionFind:
    """Disjoint sets of strings; the representative of a set is its smallest element."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self._parent.setdefault(item, item)
        if parent == item:
            return item
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:  # path compression
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = (ra, rb) if ra < rb else (rb, ra)
            self._parent[high] = low

    def union_all(self, items: Iterable[str]) -> None:
        first: str | None = None
        for item in items:
            if first is None:
                first = item
                self.find(item)
            else:
                self.union(first, item)


@dataclass(frozen=True, slots=True)
class Affiliation:
    """Who stands behind one platform site: the principal owner of its resolved site, every supplier
    reference owning that resolved site, and the member references listed on the platform site."""

    principal: str
    suppliers: frozenset[str]
    members: frozenset[tuple[str, str | None]]  # (member reference, its LEI reference if listed)

    def merged(self, other: Affiliation) -> Affiliation:
        """Both affiliations at once (the principal of `other` wins: it is the more recent)."""
        return Affiliation(other.principal, self.suppliers | other.suppliers, self.members | other.members)


class Identities:
    """Merged supplier and member identities over a set of affiliations."""

    def __init__(self, affiliations: Iterable[Affiliation]) -> None:
        self._suppliers = UnionFind()
        self._members = UnionFind()
        for affiliation in affiliations:
            self._suppliers.union_all(sorted({affiliation.principal, *affiliation.suppliers}))
            for member, lei in affiliation.members:
                self._members.find(member)
                if lei is not None:
                    self._members.union(member, lei)

    def supplier(self, reference: str) -> str:
        return self._suppliers.find(reference)

    def member(self, reference: str) -> str:
        return self._members.find(reference)

    def members_of(self, affiliation: Affiliation) -> frozenset[str]:
        return frozenset(self.member(m) for m, _ in affiliation.members)

    def suppliers_of(self, affiliation: Affiliation) -> frozenset[str]:
        return frozenset(self.supplier(s) for s in {affiliation.principal, *affiliation.suppliers})


def real_site_key(platform_site_ids: Iterable[str]) -> str:
    """The key of a real site: its platform-site pseudonyms, sorted, joined."""
    ids = sorted(set(platform_site_ids))
    if not ids:
        raise ValueError("a real site has at least one platform site")
    return REAL_SITE_SEPARATOR.join(ids)


def real_site_parts(key: str) -> tuple[str, ...]:
    return tuple(key.split(REAL_SITE_SEPARATOR))


@lru_cache(maxsize=1 << 16)
def real_site(key: str) -> frozenset[str]:
    """A real site as the set of its platform sites. Cached: the view asks it of every site of every
    never-shown cell (3 M calls in a plan at 300,000 events), while a release has tens of thousands of
    real sites. At its bound the cache holds about 19 MiB (tracemalloc, 65,536 keys of the feed's
    shape)."""
    return frozenset(key.split(REAL_SITE_SEPARATOR))


def real_components(before: Mapping[str, str], now: Mapping[str, str]) -> list[tuple[frozenset[str], bool]]:
    """Group the real sites of two contribution maps (real-site key -> token) into components that
    share a platform site (a merge or split links its parts), each with whether it differs: joined,
    left, split, merged, or brings another token. A real site whose resolved pseudonym changed has the
    same key on both sides, so it is one unchanged site; one that gained or lost a platform site but
    brings the same token is unchanged too ("a change with no effect on the cell's measures is no
    change")."""
    links = UnionFind()
    for key in (*before, *now):
        links.union_all(real_site_parts(key))
    groups: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for side, contributions in enumerate((before, now)):
        for key, token in contributions.items():
            root = links.find(real_site_parts(key)[0])
            groups.setdefault(root, ({}, {}))[side][key] = token
    out = []
    for root in sorted(groups):
        old, new = groups[root]
        platform_sites = frozenset(p for key in (*old, *new) for p in real_site_parts(key))
        # What the cell counts of the component: how many sites, and what each brings. A platform site
        # joining or leaving a site that stays (same token) has no effect on the cell: no change.
        out.append((platform_sites, sorted(old.values()) != sorted(new.values())))
    return out


class Parties:
    """Who stands behind any real site the rules meet, present or past, as merged identities.

    Built from each platform site's affiliation (now, merged with what earlier releases saw), so that
    the sites a cell held at old values still had, and the sites that changed (some of them since
    removed or withdrawn), can be put through the threshold and insider rules."""

    def __init__(
        self,
        by_platform_site: Mapping[str, Affiliation],
        identities: Identities,
        current: Iterable[SiteInfo] = (),
    ) -> None:
        self._by_platform_site = by_platform_site
        self._identities = identities
        # The contributing sites as the cell rules see them, by real site: a present site is judged
        # exactly as in the cells it is in.
        self._cache: dict[str, SiteInfo] = {info.real: info for info in current}

    @classmethod
    def of_sites(cls, sites: Iterable[SiteInfo]) -> Parties:
        """Only the given sites are known (hand-built states in tests)."""
        return cls({}, Identities(()), sites)

    def of(self, platform_site_ids: Iterable[str]) -> SiteInfo:
        """One real site (or one component of merged and split sites) as a `SiteInfo` keyed by its
        real-site key. A platform site never seen with an affiliation stands for itself as its own
        supplier, which is what the rules can know of it."""
        key = real_site_key(platform_site_ids)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        principal: str | None = None
        owners: set[str] = set()
        members: set[str] = set()
        for platform_site_id in real_site_parts(key):
            affiliation = self._by_platform_site.get(platform_site_id)
            if affiliation is None:
                owners.add(platform_site_id)
                continue
            if principal is None:
                principal = self._identities.supplier(affiliation.principal)
            owners |= self._identities.suppliers_of(affiliation)
            members |= self._identities.members_of(affiliation)
        info = SiteInfo(key, principal or min(owners), frozenset(owners), frozenset(members), real=key)
        self._cache[key] = info
        return info

    def infos(self, sites: Iterable[Iterable[str]]) -> dict[str, SiteInfo]:
        """Real-site key -> `SiteInfo` of each site (given as its platform sites): the population and
        its infos, as the threshold and insider rules take them."""
        return {(info := self.of(parts)).real: info for parts in sites}
