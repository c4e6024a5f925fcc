"""Entity resolution: which platform sites are one site (taxonomy.md, "One site on two platforms").

A platform site *takes part* in resolution while it exists (upserted, not removed) and its owner
consents (platform-events.md, "Consent"; a company that never sent a consent event counts as
`default_consent`). The resolved site of a participating platform site is, deterministically:

1. its own osId, if it has one;
2. else the smallest osId among the participating platform sites (either platform) with the same address
   key;
3. else its address key.

The resolution key is `"os:" + osId` or `"addr:" + address_id`; the resolved site id is the pseudonym the
`resolved_id` callback makes of it, so the raw osId never leaves this module.

A resolved site's country, sector, workforce band and principal owner are those of its most recent site
event: the participating platform site with the greatest `updated_at_ms`; on a tie the platform whose name
sorts first (`amfori` before `sedex`); if still tied (two sites of one platform, same millisecond) the
smaller platform site id. That last tie-break is ours: the contract does not name one. Owners are the
companies of its participating platform sites; members the union of their members, where references
sharing a member id or a LEI are one member (written with the smallest member id and smallest LEI).

The state is a pure function of the current facts (the set of existing sites and the consent per
company): any order of the same operations ends in the same state and the same `snapshot()`. The caller
(normalize stage 1) decides which site event is current; the resolver takes each upsert as the site's
current facts. Every operation recomputes only the platform sites at the addresses it touches (and, for
consent, the company's sites) and the resolved sites they leave or join, and returns only real changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from schemas.shared import PlatformSite
from schemas.shared.resolution import (
    RESOLVED_SITES_TOPIC,
    SITE_RESOLUTION_TOPIC,
    ResolvedMember,
    ResolvedSite,
    SiteResolution,
)
from schemas.taxonomy import Sector, WorkforceBand

from .pickling import by_position

Platform = Literal["sedex", "amfori"]


class MemberLike(Protocol):
    @property
    def member_id(self) -> str: ...
    @property
    def lei_id(self) -> str | None: ...


@by_position
@dataclass(frozen=True, order=True, slots=True)
class Member:
    member_id: str
    lei_id: str | None = None


@by_position
@dataclass(frozen=True, slots=True)
class SiteFacts:
    """The current facts of one platform site, as normalize stage 1 knows them (all ids pseudonyms
    except `os_id`, which is the raw Open Supply Hub id, unsealed in memory)."""

    site_id: str
    platform: Platform
    company_id: str
    updated_at_ms: int
    country: str
    sector: Sector
    workforce_band: WorkforceBand
    address_id: str
    os_id: str | None = None
    members: frozenset[Member] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.os_id == "":
            raise ValueError("os_id must be None or non-empty")
        if self.platform not in ("sedex", "amfori"):
            raise ValueError(f"unknown platform {self.platform!r}")

    @staticmethod
    def members_of(refs: Iterable[MemberLike]) -> frozenset[Member]:
        """Convert stage 1's member references (anything with `member_id` and `lei_id`)."""
        return frozenset(Member(r.member_id, r.lei_id) for r in refs)

    @classmethod
    def from_record(cls, record: PlatformSite, os_id: str | None) -> SiteFacts:
        """From stage 1's `PlatformSite` record and its unsealed osId (`None` if it has none)."""
        return cls(
            site_id=record.site_id,
            platform=record.platform,
            company_id=record.company_id,
            updated_at_ms=record.updated_at_ms,
            country=record.country,
            sector=record.sector,
            workforce_band=record.workforce_band,
            address_id=record.address_id,
            os_id=os_id,
            members=cls.members_of(record.members),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One message to produce: `value` None is a tombstone for `key` on `topic`."""

    topic: str
    key: str
    value: SiteResolution | ResolvedSite | None
    # For a site resolution: the resolved site the platform site belonged to before (None if none).
    # Not part of the value, which must be history-free so any arrival order compacts to the same state;
    # normalize sends it as the `sx_previous_resolved_site_id` header.
    previous: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """All current records."""

    site_resolutions: dict[str, SiteResolution]
    resolved_sites: dict[str, ResolvedSite]


def merge_members(refs: Iterable[Member]) -> list[ResolvedMember]:
    """References sharing a member id or a LEI are one member: connected components, each written with
    its smallest member id and smallest LEI, sorted by member id."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: tuple[str, str], b: tuple[str, str]) -> None:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for ref in refs:
        node = ("m", ref.member_id)
        parent.setdefault(node, node)
        if ref.lei_id is not None:
            union(node, ("l", ref.lei_id))
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for node in parent:
        ids, leis = groups.setdefault(find(node), ([], []))
        (ids if node[0] == "m" else leis).append(node[1])
    out = [
        ResolvedMember(member_id=min(ids), lei_id=min(leis) if leis else None)
        for ids, leis in groups.values()
    ]
    return sorted(out, key=lambda m: m.member_id)


def _most_recent_key(f: SiteFacts) -> tuple[int, str, str]:
    return (-f.updated_at_ms, f.platform, f.site_id)


class Resolver:
    """Holds the current facts and the records derived from them; see the module docstring."""

    def __init__(self, resolved_id: Callable[[str], str], *, default_consent: bool = True) -> None:
        self._resolved_id = resolved_id
        self._default_consent = default_consent
        self._sites: dict[str, SiteFacts] = {}
        self._consent: dict[str, bool] = {}
        self._by_address: dict[str, set[str]] = {}
        self._by_company: dict[str, set[str]] = {}
        # derived state
        self._resolution: dict[str, str] = {}  # platform site id -> resolved site id (participants only)
        self._groups: dict[str, set[str]] = {}  # resolved site id -> participating platform site ids
        self._records: dict[str, ResolvedSite] = {}

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def from_facts(
        cls,
        sites: Iterable[SiteFacts],
        consents: Mapping[str, bool],
        resolved_id: Callable[[str], str],
        *,
        default_consent: bool = True,
    ) -> Resolver:
        """Rebuild after a restart from the current facts; emits nothing. Same state as replaying them."""
        r = cls(resolved_id, default_consent=default_consent)
        r._consent.update(consents)
        for f in sites:
            r._store(f)
        r._recompute(set(r._sites))
        return r

    # -- read access ---------------------------------------------------------------------------------

    @property
    def sites(self) -> Mapping[str, SiteFacts]:
        """The existing platform sites (participating or not): what to persist for `from_facts`."""
        return self._sites

    @property
    def consents(self) -> Mapping[str, bool]:
        """Consent per company as last set (companies never heard of are absent)."""
        return self._consent

    def resolution_of(self, site_id: str) -> str | None:
        return self._resolution.get(site_id)

    def resolved_site(self, resolved_site_id: str) -> ResolvedSite | None:
        return self._records.get(resolved_site_id)

    @property
    def resolved_site_count(self) -> int:
        return len(self._records)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            site_resolutions={
                s: SiteResolution(platform_site_id=s, resolved_site_id=r)
                for s, r in sorted(self._resolution.items())
            },
            resolved_sites=dict(sorted(self._records.items())),
        )

    # -- operations ----------------------------------------------------------------------------------

    def upsert_site(self, facts: SiteFacts) -> list[Change]:
        old = self._sites.get(facts.site_id)
        if old == facts:
            return []
        affected = {facts.site_id}
        if old is not None:
            self._unstore(old)
            affected |= self._by_address.get(old.address_id, set())
        self._store(facts)
        affected |= self._by_address[facts.address_id]
        return self._recompute(affected, edited=facts.site_id)

    def remove_site(self, site_id: str) -> list[Change]:
        old = self._sites.get(site_id)
        if old is None:
            return []
        self._unstore(old)
        affected = {site_id} | self._by_address.get(old.address_id, set())
        return self._recompute(affected)

    def set_consent(self, company_id: str, granted: bool) -> list[Change]:
        before = self._consents(company_id)
        self._consent[company_id] = granted
        if before == granted:
            return []
        affected: set[str] = set()
        for s in self._by_company.get(company_id, ()):
            affected.add(s)
            affected |= self._by_address[self._sites[s].address_id]
        return self._recompute(affected)

    # -- internals -----------------------------------------------------------------------------------

    def _consents(self, company_id: str) -> bool:
        return self._consent.get(company_id, self._default_consent)

    def _participates(self, f: SiteFacts) -> bool:
        return self._consents(f.company_id)

    def _store(self, f: SiteFacts) -> None:
        self._sites[f.site_id] = f
        self._by_address.setdefault(f.address_id, set()).add(f.site_id)
        self._by_company.setdefault(f.company_id, set()).add(f.site_id)

    def _unstore(self, f: SiteFacts) -> None:
        del self._sites[f.site_id]
        for index, k in ((self._by_address, f.address_id), (self._by_company, f.company_id)):
            members = index[k]
            members.discard(f.site_id)
            if not members:
                del index[k]

    def _smallest_os_at(self, address_id: str) -> str | None:
        best: str | None = None
        for s in self._by_address.get(address_id, ()):
            f = self._sites[s]
            if f.os_id is not None and self._participates(f) and (best is None or f.os_id < best):
                best = f.os_id
        return best

    def _resolve(self, site_id: str, smallest_os: dict[str, str | None]) -> str | None:
        f = self._sites.get(site_id)
        if f is None or not self._participates(f):
            return None
        if f.os_id is not None:
            return self._resolved_id("os:" + f.os_id)
        if f.address_id not in smallest_os:
            smallest_os[f.address_id] = self._smallest_os_at(f.address_id)
        os_id = smallest_os[f.address_id]
        return self._resolved_id("os:" + os_id if os_id is not None else "addr:" + f.address_id)

    def _recompute(self, affected: set[str], edited: str | None = None) -> list[Change]:
        """Re-resolve the `affected` platform sites (every site whose facts, participation or address
        neighbours changed), then rebuild every resolved site one of them left or joined, and the one
        the `edited` site belongs to (its attributes may have changed without a move)."""
        smallest_os: dict[str, str | None] = {}
        resolution_changes: list[Change] = []
        touched: set[str] = set()
        for s in sorted(affected):
            before = self._resolution.get(s)
            after = self._resolve(s, smallest_os)
            if after is not None and s == edited:
                touched.add(after)
            if before == after:
                continue
            if before is not None:
                touched.add(before)
                group = self._groups[before]
                group.discard(s)
                if not group:
                    del self._groups[before]
                del self._resolution[s]
            if after is not None:
                touched.add(after)
                self._groups.setdefault(after, set()).add(s)
                self._resolution[s] = after
                value = SiteResolution(platform_site_id=s, resolved_site_id=after)
                resolution_changes.append(Change(SITE_RESOLUTION_TOPIC, s, value, previous=before))
            else:
                resolution_changes.append(Change(SITE_RESOLUTION_TOPIC, s, None, previous=before))

        record_changes: list[Change] = []
        for rid in sorted(touched):
            record = self._build(rid)
            if record == self._records.get(rid):
                continue
            if record is None:
                del self._records[rid]
            else:
                self._records[rid] = record
            record_changes.append(Change(RESOLVED_SITES_TOPIC, rid, record))
        # Resolved sites first: a consumer reading a resolution can then find the site it points to.
        return record_changes + resolution_changes

    def _build(self, rid: str) -> ResolvedSite | None:
        group = self._groups.get(rid)
        if not group:
            return None
        facts = [self._sites[s] for s in group]
        latest = min(facts, key=_most_recent_key)
        return ResolvedSite(
            resolved_site_id=rid,
            country=latest.country,
            sector=latest.sector,
            workforce_band=latest.workforce_band,
            principal_owner_id=latest.company_id,
            owner_ids=sorted({f.company_id for f in facts}),
            members=merge_members(m for f in facts for m in f.members),
            platform_site_ids=sorted(group),
            platforms=sorted({f.platform for f in facts}),
        )
