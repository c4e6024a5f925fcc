from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from schemas.shared import MemberRef, MemberRole, PlatformSite
from schemas.shared.resolution import (
    RESOLVED_SITES_TOPIC,
    SITE_RESOLUTION_TOPIC,
    ResolvedMember,
    ResolvedSite,
    SiteResolution,
)
from schemas.taxonomy import Sector, WorkforceBand
from services.normalize.resolve import Change, Member, Platform, Resolver, SiteFacts, Snapshot


def rid(raw: str) -> str:
    """Stand-in for the pseudonymiser: visibly derived, but never the raw value itself."""
    return "R(" + raw[::-1] + ")"


OS = "BD2024001ABC123"
OS_SMALL = "BD2024001AAA000"
OS_OTHER = "CN2024002XYZ999"


def site(
    site_id: str,
    *,
    platform: Platform = "sedex",
    company: str = "c1",
    at: int = 1_000,
    country: str = "BD",
    sector: Sector = Sector.APPAREL_TEXTILES,
    band: WorkforceBand = WorkforceBand.B50_249,
    address: str = "a1",
    os_id: str | None = None,
    members: tuple[tuple[str, str | None], ...] = (),
) -> SiteFacts:
    return SiteFacts(
        site_id=site_id,
        platform=platform,
        company_id=company,
        updated_at_ms=at,
        country=country,
        sector=sector,
        workforce_band=band,
        address_id=address,
        os_id=os_id,
        members=frozenset(Member(m, lei) for m, lei in members),
    )


def resolutions(changes: list[Change]) -> dict[str, SiteResolution | None]:
    out: dict[str, Any] = {c.key: c.value for c in changes if c.topic == SITE_RESOLUTION_TOPIC}
    return out


def records(changes: list[Change]) -> dict[str, ResolvedSite | None]:
    out: dict[str, Any] = {c.key: c.value for c in changes if c.topic == RESOLVED_SITES_TOPIC}
    return out


def resolved_of(r: Resolver) -> dict[str, str]:
    return {k: v.resolved_site_id for k, v in r.snapshot().site_resolutions.items()}


# -- the three rules -----------------------------------------------------------------------------------


def test_rule_1_own_os_id() -> None:
    r = Resolver(rid)
    changes = r.upsert_site(site("s1", os_id=OS))
    assert resolutions(changes) == {
        "s1": SiteResolution(platform_site_id="s1", resolved_site_id=rid("os:" + OS))
    }
    rec = records(changes)[rid("os:" + OS)]
    assert rec is not None and rec.platform_site_ids == ["s1"]


def test_rule_3_address_key_when_nobody_has_an_os_id() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", address="a1"))
    r.upsert_site(site("s2", platform="amfori", address="a1", company="c2"))
    r.upsert_site(site("s3", address="a2"))
    assert resolved_of(r) == {"s1": rid("addr:a1"), "s2": rid("addr:a1"), "s3": rid("addr:a2")}
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None
    assert rec.platforms == ["amfori", "sedex"]
    assert rec.owner_ids == ["c1", "c2"]


def test_rule_2_smallest_os_id_at_the_same_address_either_platform() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", os_id=OS, address="a1"))
    r.upsert_site(site("s2", platform="amfori", os_id=OS_SMALL, address="a1"))
    r.upsert_site(site("s3", address="a1"))  # no osId of its own
    r.upsert_site(site("s4", platform="amfori", address="a1"))
    assert resolved_of(r) == {
        "s1": rid("os:" + OS),  # rule 1 wins over rule 2 even when a smaller osId shares the address
        "s2": rid("os:" + OS_SMALL),
        "s3": rid("os:" + OS_SMALL),
        "s4": rid("os:" + OS_SMALL),
    }
    rec = r.resolved_site(rid("os:" + OS_SMALL))
    assert rec is not None and rec.platform_site_ids == ["s2", "s3", "s4"]


def test_an_os_id_elsewhere_does_not_pull_a_site_at_another_address() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", os_id=OS, address="a1"))
    r.upsert_site(site("s2", address="a2"))
    assert resolved_of(r) == {"s1": rid("os:" + OS), "s2": rid("addr:a2")}


def test_sites_with_the_same_os_id_at_different_addresses_are_one_site() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", os_id=OS, address="a1"))
    r.upsert_site(site("s2", platform="amfori", os_id=OS, address="a2"))
    assert resolved_of(r) == {"s1": rid("os:" + OS), "s2": rid("os:" + OS)}


def test_raw_os_id_never_appears_in_output() -> None:
    r = Resolver(rid)
    changes = r.upsert_site(site("s1", os_id=OS)) + r.upsert_site(site("s2"))
    dumped = " ".join(c.value.model_dump_json() for c in changes if c.value is not None)
    dumped += " ".join(c.key for c in changes)
    assert OS not in dumped


# -- moves ----------------------------------------------------------------------------------------------


def test_os_id_gained_later_moves_the_site_and_its_address_neighbours() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", address="a1", at=1))
    r.upsert_site(site("s2", platform="amfori", address="a1", company="c2", at=2))
    changes = r.upsert_site(site("s1", address="a1", os_id=OS, at=3))
    new = rid("os:" + OS)
    assert resolutions(changes) == {
        "s1": SiteResolution(platform_site_id="s1", resolved_site_id=new),
        "s2": SiteResolution(platform_site_id="s2", resolved_site_id=new),
    }
    assert {c.key: c.previous for c in changes if c.topic == SITE_RESOLUTION_TOPIC} == {
        "s1": rid("addr:a1"),
        "s2": rid("addr:a1"),
    }
    recs = records(changes)
    assert recs[rid("addr:a1")] is None  # the old resolved site lost every platform site: tombstone
    moved = recs[new]
    assert moved is not None and moved.platform_site_ids == ["s1", "s2"]
    # Records come before the resolutions that point at them.
    topics = [c.topic for c in changes]
    assert topics == sorted(topics, key=lambda t: t != RESOLVED_SITES_TOPIC)


def test_address_corrected_moves_the_site_out_and_in() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", address="a1", os_id=OS))
    r.upsert_site(site("s2", address="typo"))
    assert r.resolution_of("s2") == rid("addr:typo")
    changes = r.upsert_site(site("s2", address="a1"))
    assert resolutions(changes) == {
        "s2": SiteResolution(
            platform_site_id="s2",
            resolved_site_id=rid("os:" + OS),
        )
    }
    assert records(changes)[rid("addr:typo")] is None
    rec = records(changes)[rid("os:" + OS)]
    assert rec is not None and rec.platform_site_ids == ["s1", "s2"]


def test_losing_the_smallest_os_id_falls_back_to_the_next() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", os_id=OS_SMALL, address="a1"))
    r.upsert_site(site("s2", os_id=OS, address="a1"))
    r.upsert_site(site("s3", address="a1"))
    assert r.resolution_of("s3") == rid("os:" + OS_SMALL)
    changes = r.remove_site("s1")
    assert resolutions(changes) == {
        "s1": None,
        "s3": SiteResolution(
            platform_site_id="s3",
            resolved_site_id=rid("os:" + OS),
        ),
    }
    assert records(changes)[rid("os:" + OS_SMALL)] is None


def test_removal_and_re_add() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", address="a1"))
    r.upsert_site(site("s2", address="a1", company="c2"))
    before = r.snapshot()
    changes = r.remove_site("s2")
    assert resolutions(changes) == {"s2": None}
    rec = records(changes)[rid("addr:a1")]
    assert rec is not None and rec.platform_site_ids == ["s1"] and rec.owner_ids == ["c1"]
    assert r.remove_site("s2") == []  # removing what is not there changes nothing
    assert r.remove_site("never-seen") == []
    changes = r.upsert_site(site("s2", address="a1", company="c2"))
    assert resolutions(changes) == {
        "s2": SiteResolution(platform_site_id="s2", resolved_site_id=rid("addr:a1"))
    }
    assert r.snapshot() == before


def test_removing_the_last_site_tombstones_the_resolved_site() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1"))
    changes = r.remove_site("s1")
    assert changes == [
        Change(RESOLVED_SITES_TOPIC, rid("addr:a1"), None),
        Change(SITE_RESOLUTION_TOPIC, "s1", None, previous=rid("addr:a1")),  # a retraction says from where
    ]
    assert r.snapshot() == Snapshot({}, {})


def test_replayed_upsert_emits_nothing() -> None:
    r = Resolver(rid)
    f = site("s1", os_id=OS)
    assert r.upsert_site(f) != []
    assert r.upsert_site(f) == []
    assert r.upsert_site(replace(f)) == []


def test_newer_event_with_same_attributes_changes_nothing_downstream() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", at=1))
    assert r.upsert_site(site("s1", at=2)) == []


def test_attribute_change_updates_the_record_but_not_the_resolution() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", at=1))
    changes = r.upsert_site(site("s1", at=2, sector=Sector.FOOTWEAR_LEATHER))
    assert resolutions(changes) == {}
    rec = records(changes)[rid("addr:a1")]
    assert rec is not None and rec.sector is Sector.FOOTWEAR_LEATHER


# -- consent --------------------------------------------------------------------------------------------


def test_consent_withdrawn_and_granted_again() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", company="c1", address="a1", os_id=OS))
    r.upsert_site(site("s2", company="c1", address="a2"))
    r.upsert_site(site("s3", company="c2", address="a1", platform="amfori"))
    full = r.snapshot()
    assert r.resolution_of("s3") == rid("os:" + OS)

    changes = r.set_consent("c1", False)
    # c1's sites vanish; s3 no longer sees s1's osId and falls back to its address.
    assert resolutions(changes) == {
        "s1": None,
        "s2": None,
        "s3": SiteResolution(platform_site_id="s3", resolved_site_id=rid("addr:a1")),
    }
    assert records(changes)[rid("os:" + OS)] is None
    assert records(changes)[rid("addr:a2")] is None
    assert set(r.snapshot().resolved_sites) == {rid("addr:a1")}
    # Sites of a non-consenting company may still be upserted; they stay out of resolution.
    assert resolutions(r.upsert_site(site("s4", company="c1", address="a3"))) == {}
    assert r.remove_site("s4") == []

    assert r.set_consent("c1", False) == []  # no change, no message
    changes = r.set_consent("c1", True)
    assert set(resolutions(changes)) == {"s1", "s2", "s3"}
    assert r.snapshot() == full


def test_explicit_grant_equal_to_default_changes_nothing() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1"))
    assert r.set_consent("c1", True) == []
    assert r.set_consent("nobody", True) == []


def test_default_consent_false_inverts() -> None:
    r = Resolver(rid, default_consent=False)
    assert r.upsert_site(site("s1", company="c1")) == []
    assert r.snapshot() == Snapshot({}, {})
    changes = r.set_consent("c1", True)
    assert resolutions(changes) == {
        "s1": SiteResolution(platform_site_id="s1", resolved_site_id=rid("addr:a1"))
    }
    assert r.set_consent("c1", False) != []
    assert r.snapshot() == Snapshot({}, {})


# -- attribution, owners and members ---------------------------------------------------------------------


def test_most_recent_event_gives_country_sector_band_and_principal_owner() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", company="c1", at=100, sector=Sector.ELECTRONICS, band=WorkforceBand.B1_49))
    r.upsert_site(
        site(
            "s2",
            company="c2",
            platform="amfori",
            at=200,
            sector=Sector.TOYS_LEISURE,
            band=WorkforceBand.B1000_PLUS,
        )
    )
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None
    assert (rec.sector, rec.workforce_band, rec.principal_owner_id) == (
        Sector.TOYS_LEISURE,
        WorkforceBand.B1000_PLUS,
        "c2",
    )
    r.upsert_site(
        site("s1", company="c1", at=300, sector=Sector.ELECTRONICS, band=WorkforceBand.B1_49, country="IN")
    )
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None
    assert (rec.country, rec.sector, rec.principal_owner_id) == ("IN", Sector.ELECTRONICS, "c1")
    assert rec.owner_ids == ["c1", "c2"]


def test_tie_on_event_time_goes_to_the_platform_that_sorts_first() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", platform="sedex", company="c-sedex", at=500, sector=Sector.ELECTRONICS))
    r.upsert_site(site("s2", platform="amfori", company="c-amfori", at=500, sector=Sector.HOME_FURNITURE))
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None
    assert (rec.sector, rec.principal_owner_id) == (Sector.HOME_FURNITURE, "c-amfori")


def test_tie_on_time_and_platform_goes_to_the_smaller_site_id() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s9", company="c9", at=500, sector=Sector.ELECTRONICS))
    r.upsert_site(site("s1", company="c1", at=500, sector=Sector.HOME_FURNITURE))
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None
    assert (rec.sector, rec.principal_owner_id) == (Sector.HOME_FURNITURE, "c1")


def test_members_are_the_union_and_one_lei_is_one_member() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", members=(("m-sedex-1", "LEI-A"), ("m2", None), ("m3", None))))
    r.upsert_site(
        site(
            "s2",
            platform="amfori",
            company="c2",
            members=(("m-amfori-1", "LEI-A"), ("m2", None), ("m4", "LEI-B")),
        )
    )
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None
    assert rec.members == [
        ResolvedMember(member_id="m-amfori-1", lei_id="LEI-A"),  # one member, smallest id
        ResolvedMember(member_id="m2", lei_id=None),
        ResolvedMember(member_id="m3", lei_id=None),
        ResolvedMember(member_id="m4", lei_id="LEI-B"),
    ]
    r.remove_site("s2")
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None
    assert [m.member_id for m in rec.members] == ["m-sedex-1", "m2", "m3"]


def test_a_member_id_seen_with_and_without_lei_is_one_member() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", members=(("m1", None),)))
    r.upsert_site(site("s2", members=(("m1", "LEI-A"),)))
    rec = r.resolved_site(rid("addr:a1"))
    assert rec is not None and rec.members == [ResolvedMember(member_id="m1", lei_id="LEI-A")]


def test_record_validation_rejects_unsorted_lists() -> None:
    with pytest.raises(ValueError):
        ResolvedSite(
            resolved_site_id="r",
            country="BD",
            sector=Sector.OTHER,
            workforce_band=WorkforceBand.B1_49,
            principal_owner_id="c1",
            owner_ids=["c2", "c1"],
            members=[],
            platform_site_ids=["s1"],
            platforms=["sedex"],
        )


# -- rebuild -----------------------------------------------------------------------------------------------


def test_from_facts_equals_replay() -> None:
    r = Resolver(rid)
    r.upsert_site(site("s1", os_id=OS, address="a1"))
    r.upsert_site(site("s2", address="a1", company="c2"))
    r.upsert_site(site("s3", address="a2", company="c3"))
    r.set_consent("c3", False)
    rebuilt = Resolver.from_facts(r.sites.values(), r.consents, rid)
    assert rebuilt.snapshot() == r.snapshot()
    # ...and carries on identically.
    assert rebuilt.set_consent("c3", True) == r.set_consent("c3", True)


# -- randomized property test ----------------------------------------------------------------------------

SITE_IDS = [f"s{i}" for i in range(12)]
COMPANIES = ["c0", "c1", "c2", "c3"]
ADDRESSES = ["a0", "a1", "a2", "a3"]
OS_IDS = [OS_SMALL, OS, OS_OTHER]
MEMBER_POOL: list[tuple[str, str | None]] = [
    ("m0", None),
    ("m1", "L1"),
    ("m2", "L1"),
    ("m3", None),
    ("m3", "L3"),
    ("m4", "L4"),
    ("m5", "L3"),
]


def random_facts(rng: random.Random, site_id: str) -> SiteFacts:
    return site(
        site_id,
        platform=rng.choice(["sedex", "amfori"]),
        company=rng.choice(COMPANIES),
        at=rng.randint(1, 6),  # small range: ties are common
        country=rng.choice(["BD", "CN", "IN"]),
        sector=rng.choice([Sector.APPAREL_TEXTILES, Sector.ELECTRONICS, Sector.OTHER]),
        band=rng.choice(list(WorkforceBand)),
        address=rng.choice(ADDRESSES),
        os_id=rng.choice([None, None, *OS_IDS]),
        members=tuple(rng.sample(MEMBER_POOL, rng.randint(0, 3))),
    )


def brute_force(sites: dict[str, SiteFacts], consent: dict[str, bool], default: bool) -> Snapshot:
    """From scratch, as literally as the rules read."""
    live = [f for f in sites.values() if consent.get(f.company_id, default)]
    resolution: dict[str, str] = {}
    for f in live:
        if f.os_id is not None:
            resolution[f.site_id] = rid("os:" + f.os_id)
            continue
        same_address = [g.os_id for g in live if g.address_id == f.address_id and g.os_id is not None]
        if same_address:
            resolution[f.site_id] = rid("os:" + min(same_address))
        else:
            resolution[f.site_id] = rid("addr:" + f.address_id)
    resolved: dict[str, ResolvedSite] = {}
    for r_id in set(resolution.values()):
        group = [f for f in live if resolution[f.site_id] == r_id]
        platform_rank = {p: i for i, p in enumerate(sorted(["sedex", "amfori"]))}
        latest = min(group, key=lambda f: (-f.updated_at_ms, platform_rank[f.platform], f.site_id))
        # Members: repeatedly merge groups that share a member id or a LEI until nothing changes.
        clusters: list[tuple[set[str], set[str]]] = [
            ({m.member_id}, {m.lei_id} if m.lei_id else set()) for f in group for m in f.members
        ]
        merged = True
        while merged:
            merged = False
            for i in range(len(clusters)):
                for j in range(i + 1, len(clusters)):
                    if clusters[i][0] & clusters[j][0] or clusters[i][1] & clusters[j][1]:
                        clusters[i][0].update(clusters[j][0])
                        clusters[i][1].update(clusters[j][1])
                        del clusters[j]
                        merged = True
                        break
                if merged:
                    break
        members = sorted(
            (
                ResolvedMember(member_id=min(ids), lei_id=min(leis) if leis else None)
                for ids, leis in clusters
            ),
            key=lambda m: m.member_id,
        )
        resolved[r_id] = ResolvedSite(
            resolved_site_id=r_id,
            country=latest.country,
            sector=latest.sector,
            workforce_band=latest.workforce_band,
            principal_owner_id=latest.company_id,
            owner_ids=sorted({f.company_id for f in group}),
            members=members,
            platform_site_ids=sorted(f.site_id for f in group),
            platforms=sorted({f.platform for f in group}),
        )
    return Snapshot(
        site_resolutions={
            s: SiteResolution(platform_site_id=s, resolved_site_id=r) for s, r in sorted(resolution.items())
        },
        resolved_sites=dict(sorted(resolved.items())),
    )


def apply(view: dict[str, dict[str, Any]], changes: list[Change]) -> None:
    """A compacted-topic consumer: last value per key, None deletes. Also checks each change is real
    and that `Change.previous` is what the consumer had."""
    seen: set[tuple[str, str]] = set()
    for c in changes:
        assert (c.topic, c.key) not in seen, "one change per key per operation"
        seen.add((c.topic, c.key))
        table = view[c.topic]
        current = table.get(c.key)
        if c.topic == SITE_RESOLUTION_TOPIC:
            assert isinstance(c.value, SiteResolution | None)
            before = current.resolved_site_id if current is not None else None
            after = c.value.resolved_site_id if c.value is not None else None
            assert before != after, f"redundant resolution change {c}"
            assert c.previous == before
            if c.value is not None:
                assert c.value.platform_site_id == c.key
        else:
            assert current != c.value, f"redundant record change {c}"
            if c.value is not None:
                assert isinstance(c.value, ResolvedSite) and c.value.resolved_site_id == c.key
        if c.value is None:
            table.pop(c.key, None)
        else:
            table[c.key] = c.value


def view_as_snapshot(view: dict[str, dict[str, Any]]) -> Snapshot:
    return Snapshot(
        site_resolutions={
            k: SiteResolution(platform_site_id=k, resolved_site_id=v.resolved_site_id)
            for k, v in sorted(view[SITE_RESOLUTION_TOPIC].items())
        },
        resolved_sites=dict(sorted(view[RESOLVED_SITES_TOPIC].items())),
    )


@pytest.mark.parametrize("seed", range(60))
def test_random_operations_match_brute_force_and_emitted_changes(seed: int) -> None:
    rng = random.Random(seed)
    default = seed % 3 != 0
    r = Resolver(rid, default_consent=default)
    sites: dict[str, SiteFacts] = {}
    consent: dict[str, bool] = {}
    view: dict[str, dict[str, Any]] = {SITE_RESOLUTION_TOPIC: {}, RESOLVED_SITES_TOPIC: {}}
    for _ in range(150):
        roll = rng.random()
        if roll < 0.55:
            s = rng.choice(SITE_IDS)
            if s in sites and rng.random() < 0.3:
                f = replace(sites[s], os_id=rng.choice(OS_IDS), updated_at_ms=sites[s].updated_at_ms + 1)
            elif s in sites and rng.random() < 0.2:
                f = sites[s]  # a replay
            else:
                f = random_facts(rng, s)
            sites[s] = f
            changes = r.upsert_site(f)
        elif roll < 0.8:
            s = rng.choice(SITE_IDS)
            sites.pop(s, None)
            changes = r.remove_site(s)
        else:
            c, granted = rng.choice(COMPANIES), rng.random() < 0.5
            consent[c] = granted
            changes = r.set_consent(c, granted)
        apply(view, changes)
        snap = r.snapshot()
        # (a) equals the from-scratch reference, after every operation
        assert snap == brute_force(sites, consent, default)
        # (b) the emitted changes, applied in order, give the snapshot
        assert view_as_snapshot(view) == snap

    final = r.snapshot()
    # (c) the same final facts, in any order, give the identical snapshot
    for k in range(3):
        order = list(sites.values())
        rng.shuffle(order)
        consents = list(consent.items())
        rng.shuffle(consents)
        other = Resolver(rid, default_consent=default)
        ops: list[tuple[str, Any]] = [("site", f) for f in order] + [("consent", c) for c in consents]
        rng.shuffle(ops)
        for kind, op in ops:
            if kind == "site":
                other.upsert_site(op)
            else:
                other.set_consent(*op)
        assert other.snapshot() == final, k
        assert Resolver.from_facts(order, dict(consents), rid, default_consent=default).snapshot() == final


# -- scale ---------------------------------------------------------------------------------------------------


def test_fifty_thousand_sites_incrementally() -> None:
    rng = random.Random(7)
    r = Resolver(rid)
    n = 50_000
    emitted = 0
    for i in range(n):
        address = f"a{rng.randrange(n // 2)}"  # about two platform sites per address
        os_id = f"OS{rng.randrange(n):07d}" if rng.random() < 0.3 else None
        f = site(
            f"s{i}",
            platform="sedex" if i % 2 else "amfori",
            company=f"c{rng.randrange(n // 10)}",
            at=i,
            address=address,
            os_id=os_id,
            members=((f"m{rng.randrange(500)}", None),),
        )
        emitted += len(r.upsert_site(f))
    for c in range(0, n // 10, 50):
        emitted += len(r.set_consent(f"c{c}", False))
    snap = r.snapshot()
    assert len(snap.site_resolutions) < n
    assert emitted > n
    assert Resolver.from_facts(r.sites.values(), r.consents, rid).snapshot() == snap


def test_facts_from_a_platform_site_record() -> None:
    key = "k1"
    hexes = iter(f"{i:032x}" for i in range(1, 100))

    def pid(kind: str) -> str:
        return f"{key}.{kind}.{next(hexes)}"

    m1, lei, m2 = pid("member"), pid("member"), pid("member")
    record = PlatformSite(
        site_id=pid("site"),
        platform="amfori",
        company_id=pid("company"),
        version=3,
        updated_at_ms=1_700_000_000_000,
        country="BD",
        sector=Sector.APPAREL_TEXTILES,
        workforce_total=120,
        workforce_band=WorkforceBand.B50_249,
        members=[MemberRef(member_id=m1, lei_id=lei), MemberRef(member_id=m2, role=MemberRole.PARTNER)],
        os_id_sealed=None,
        address_id=pid("addr"),
    )
    facts = SiteFacts.from_record(record, OS)
    assert facts.os_id == OS and facts.site_id == record.site_id and facts.address_id == record.address_id
    assert facts.members == {Member(m1, lei), Member(m2, None)}
    r = Resolver(rid)
    r.upsert_site(facts)
    assert r.resolution_of(record.site_id) == rid("os:" + OS)
