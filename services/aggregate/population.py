"""Who and what counts (aggregates.md, "Population"; "Owners and members"), from normalize's state.

`NormalizedState` holds the current value of every key of normalize's compacted topics. From it:

* `contributing(state)`: the contributing sites, i.e. the resolved sites with at least one existing
  platform site, each with its owners and members (`SiteInfo`).
* `current_audits(state)`: the current audits of contributing sites, each with its resolved site.
* `period_of(day, granularity)`: the period an audit's end date falls in.

What the site-resolution topic already decides (checked against `services.normalize.resolve.Resolver`):
a platform site has a resolution exactly while it *takes part* in resolution, i.e. it exists (upserted,
not removed) and its company consents (or has never said, under normalize's `default_consent`). A
removed site, or a site whose owner withdrew consent, gets a tombstone on that topic, and a resolved
site with no participating platform site left gets a tombstone on the resolved-sites topic. So this
module does not read consents itself (the consent record alone cannot say what a company that never
sent one means; normalize's setting can), it follows the resolutions. To stay correct while the
topics are read at slightly different offsets, a resolved site contributes only if a current
resolution of a platform site that also still exists points to it.

Audits: a withdrawn audit is a tombstone, so it is absent; the audit record is always its latest
version (normalize applies the version rule). An audit counts if its platform site currently resolves
to a contributing site; an audit whose site has never been seen has no resolution and waits.
Observations and good examples are not findings and never reach the audit record (normalize drops them).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from pydantic import BaseModel

from schemas.shared.models import Audit, Consent, CorrectiveAction, PlatformSite, Training, key_ids
from schemas.shared.resolution import (
    RESOLVED_SITES_TOPIC,
    SITE_RESOLUTION_TOPIC,
    ResolvedSite,
    SiteResolution,
)

from .held import (
    HeldAudit,
    HeldConsent,
    HeldCorrectiveAction,
    HeldPlatformSite,
    HeldResolution,
    HeldResolvedSite,
    HeldTraining,
    keyed,
)
from .identity import Affiliation, Identities, real_site_key
from .model import SiteInfo, SiteTable
from .schedule import Granularity, period_of  # re-exported: periods are defined once, in schedule

_H = TypeVar("_H", bound=Hashable)

__all__ = [
    "INPUT_KINDS",
    "INPUT_TABLES",
    "INPUT_TOPICS",
    "Granularity",
    "NormalizedState",
    "affiliations",
    "contributing",
    "current_audits",
    "participating",
    "period_of",
    "site_info",
    "site_infos",
]


# Input topic -> (NormalizedState field, record model), and the metric label of each kind.
INPUT_TABLES: Final[Mapping[str, tuple[str, type[BaseModel]]]] = {
    PlatformSite.TOPIC: ("platform_sites", PlatformSite),
    Audit.TOPIC: ("audits", Audit),
    CorrectiveAction.TOPIC: ("corrective_actions", CorrectiveAction),
    Consent.TOPIC: ("consents", Consent),
    Training.TOPIC: ("trainings", Training),
    SITE_RESOLUTION_TOPIC: ("resolutions", SiteResolution),
    RESOLVED_SITES_TOPIC: ("resolved_sites", ResolvedSite),
}
INPUT_TOPICS: Final = tuple(INPUT_TABLES)
INPUT_KINDS: Final[Mapping[str, str]] = {
    PlatformSite.TOPIC: "platform-site",
    Audit.TOPIC: "audit",
    CorrectiveAction.TOPIC: "corrective-action",
    Consent.TOPIC: "consent",
    Training.TOPIC: "training",
    SITE_RESOLUTION_TOPIC: "site-resolution",
    RESOLVED_SITES_TOPIC: "resolved-site",
}


@dataclass(slots=True)
class NormalizedState:
    """The current records of normalize's compacted topics (tombstoned keys absent), each validated
    with its contract model and held compact (`held.py`)."""

    platform_sites: dict[str, HeldPlatformSite] = field(default_factory=dict)
    audits: dict[str, HeldAudit] = field(default_factory=dict)
    # remediation's corrective actions (by finding id) and capacity-building's training completions
    corrective_actions: dict[str, HeldCorrectiveAction] = field(default_factory=dict)
    consents: dict[str, HeldConsent] = field(default_factory=dict)
    trainings: dict[str, HeldTraining] = field(default_factory=dict)
    resolutions: dict[str, HeldResolution] = field(default_factory=dict)  # by platform site id
    resolved_sites: dict[str, HeldResolvedSite] = field(default_factory=dict)

    @classmethod
    def from_topics(cls, state: Mapping[str, Mapping[str, bytes]]) -> NormalizedState:
        """From `topic -> key -> value` (the compacted topics' latest non-tombstone values).

        Records are indexed by their message key, which is their own id as normalize writes it."""
        out = cls()
        for topic in INPUT_TOPICS:
            values = state.get(topic, {})
            for key in sorted(values):
                out.apply(topic, key, values[key])
        return out

    def apply(self, topic: str, key: str, value: bytes | None) -> bool:
        """One record of an input topic: set, or delete on a tombstone. Returns whether the tombstone
        retracted something held (a removal, a withdrawal, a resolution given up)."""
        table: dict[str, Any] = getattr(self, INPUT_TABLES[topic][0])
        if value is None:
            return table.pop(key, None) is not None
        held_key, record = keyed(key, INPUT_TABLES[topic][1].model_validate_json(value))
        table[held_key] = record
        return False

    def sizes(self) -> dict[str, int]:
        """Records held per input kind (`INPUT_KINDS`): what `sx_aggregate_state_records` reports."""
        return {kind: len(getattr(self, INPUT_TABLES[topic][0])) for topic, kind in INPUT_KINDS.items()}

    def key_ids(self) -> frozenset[str]:
        """The pseudonymisation key ids the state's records are keyed under (`<key id>.<kind>.<hex>`).
        More than one only while a key rotation's transaction is being applied: the same site is then
        held under both its names, and no release may be planned on it."""
        tables = (
            self.platform_sites,
            self.audits,
            self.corrective_actions,
            self.consents,
            self.trainings,
            self.resolutions,
            self.resolved_sites,
        )
        return key_ids(key for table in tables for key in table)

    def snapshot(self) -> NormalizedState:
        """A consistent copy to plan a release on while this one keeps following the inputs; the records
        are frozen, so copying the dicts is enough."""
        return NormalizedState(
            platform_sites=dict(self.platform_sites),
            audits=dict(self.audits),
            corrective_actions=dict(self.corrective_actions),
            consents=dict(self.consents),
            trainings=dict(self.trainings),
            resolutions=dict(self.resolutions),
            resolved_sites=dict(self.resolved_sites),
        )

    def resolved_site_ids(self) -> dict[str, str]:
        """`resolved_site_of` of every platform site that takes part, in one pass: a plan asks it of
        every audit and every training, and a site has many of them."""
        return {
            platform_site_id: resolution.resolved_site_id
            for platform_site_id, resolution in self.resolutions.items()
            if platform_site_id in self.platform_sites and resolution.resolved_site_id in self.resolved_sites
        }

    def resolved_site_of(self, platform_site_id: str) -> str | None:
        """The resolved site a platform site currently takes part in, if it takes part at all."""
        if platform_site_id not in self.platform_sites:
            return None
        resolution = self.resolutions.get(platform_site_id)
        if resolution is None or resolution.resolved_site_id not in self.resolved_sites:
            return None
        return resolution.resolved_site_id


def participating(state: NormalizedState, site: HeldResolvedSite) -> list[str]:
    """The platform sites that currently take part in a resolved site (as its record says, narrowed
    to those whose resolution still points to it, in case the topics are read at different offsets)."""
    rid = site.resolved_site_id
    ids = [p for p in site.platform_site_ids if state.resolved_site_of(p) == rid]
    return ids or list(site.platform_site_ids)


class SetPool(dict[Hashable, Any]):
    """Equal frozensets (and tuples) as one object: a plan holds a few for every site (its owners, its
    members, who stands behind each platform site), and most are equal to another site's (a supplier's
    sites, the sites a member buys from). At a year they were 117,798 sites' worth of sets, about 190 MiB
    at the plan's peak with the rest of each site's record."""

    def __call__(self, value: _H) -> _H:
        found: _H = self.setdefault(value, value)
        return found


def affiliations(state: NormalizedState) -> dict[str, Affiliation]:
    """Platform site id -> who stands behind it now, for every platform site of a contributing site.

    Members come from the platform site records themselves (every reference with its LEI, as listed),
    not from the resolved site's merged list, so that no link between a reference and an LEI is lost
    before the identities are merged."""
    out: dict[str, Affiliation] = {}
    shared = SetPool()
    for rid in _contributing_ids(state):
        site = state.resolved_sites[rid]
        suppliers = shared(frozenset(site.owner_ids))
        for platform_site_id in participating(state, site):
            record = state.platform_sites.get(platform_site_id)
            members = shared(
                frozenset()
                if record is None
                else frozenset(shared((m.member_id, m.lei_id)) for m in record.members)
            )
            out[platform_site_id] = Affiliation(site.principal_owner_id, suppliers, members)
    return out


def site_info(
    state: NormalizedState,
    site: HeldResolvedSite,
    identities: Identities,
    current: Mapping[str, Affiliation],
    shared: SetPool,
) -> SiteInfo:
    """Owners and members of one resolved site, as merged identities, and its real site."""
    platform_site_ids = participating(state, site)
    members: set[str] = {identities.member(m.lei_id or m.member_id) for m in site.members}
    for platform_site_id in platform_site_ids:
        affiliation = current.get(platform_site_id)
        if affiliation is not None:
            members |= identities.members_of(affiliation)
    return SiteInfo(
        site_id=site.resolved_site_id,
        principal_owner=identities.supplier(site.principal_owner_id),
        owners=shared(frozenset(identities.supplier(o) for o in site.owner_ids)),
        members=shared(frozenset(members)),
        real=real_site_key(platform_site_ids),
    )


def _contributing_ids(state: NormalizedState) -> list[str]:
    return sorted(set(state.resolved_site_ids().values()))


def site_infos(
    state: NormalizedState, current: Mapping[str, Affiliation], identities: Identities
) -> SiteTable:
    """Resolved site id -> its `SiteInfo`, for every contributing site, in id order, given the current
    affiliations (`affiliations(state)`) and the identities merged over them and any history."""
    shared = SetPool()
    return SiteTable(
        (rid, site_info(state, state.resolved_sites[rid], identities, current, shared))
        for rid in _contributing_ids(state)
    )


def contributing(state: NormalizedState, history: Mapping[str, Affiliation] | None = None) -> SiteTable:
    """Resolved site id -> its `SiteInfo`, for every contributing site, in id order.

    Identities are merged over the current affiliations and `history` (what earlier releases saw of
    each platform site, from the release log), so a link seen once keeps two references one company."""
    current = affiliations(state)
    return site_infos(state, current, Identities([*current.values(), *(history or {}).values()]))


def current_audits(
    state: NormalizedState, sites: Mapping[str, SiteInfo] | None = None
) -> Iterator[tuple[str, HeldAudit]]:
    """(resolved site id, audit) for every current audit of a contributing site, in audit id order.

    `sites` is `contributing(state)`, if the caller already has it."""
    if sites is None:
        sites = contributing(state)
    resolved = state.resolved_site_ids()
    for audit_id in sorted(state.audits):
        audit = state.audits[audit_id]
        rid = resolved.get(audit.site_id)
        if rid is not None and rid in sites:
            yield rid, audit
