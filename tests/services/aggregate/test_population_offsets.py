"""Who contributes while normalize's topics are read at different offsets (aggregates.md "Population":
a contributing site is a resolved site with at least one platform site that exists; only the audits
of existing platform sites count).

normalize writes a removal as a tombstone of the platform site *and* of its resolution, on two topics;
aggregate may read one before the other. These tests render a consistent state with `Crafted` and then
hold one topic back, the way a reader lagging on it would see the state."""

from __future__ import annotations

from dataclasses import replace

from schemas.shared.resolution import SiteResolution
from schemas.taxonomy import Issue, Severity
from services.aggregate.held import hold
from services.aggregate.identity import real_site_key, real_site_parts
from services.aggregate.population import NormalizedState, contributing, current_audits, participating
from tests.services.aggregate.crafted import Crafted, Ref
from tests.services.aggregate.hand_built import pid


def platform_site(key: str) -> str:
    return pid("site", key)


def two_platform_site() -> Crafted:
    """Site `a` on Sedex and amfori with an audit on each platform site; site `b` on Sedex alone."""
    world = Crafted()
    world.site("a", platforms=("sedex", "amfori"), companies={"sedex": "S", "amfori": "A"})
    world.site("b")
    world.audit("on-sedex", "a", (Issue.WAGES, Severity.MAJOR), platform="sedex")
    world.audit("on-amfori", "a", (Issue.HEALTH_SAFETY, Severity.MINOR), platform="amfori")
    world.audit("of-b", "b")
    return world


def audits(state: NormalizedState) -> set[str]:
    return {audit.audit_id for _, audit in current_audits(state)}


def without_platform_site(state: NormalizedState, key: str) -> NormalizedState:
    """The platform-sites topic read past the site's tombstone, the site-resolution topic not yet."""
    out = state.snapshot()
    del out.platform_sites[platform_site(key)]
    return out


def test_the_consistent_state_is_what_the_tests_start_from() -> None:
    state = two_platform_site().state()
    sites = contributing(state)
    assert len(sites) == 2
    assert audits(state) == {pid("audit", n) for n in ("on-sedex", "on-amfori", "of-b")}


def test_a_tombstoned_platform_site_whose_resolution_is_still_present_does_not_contribute() -> None:
    """Site `b` removed: its platform-site record is gone, its resolution and resolved site not yet."""
    state = without_platform_site(two_platform_site().state(), "sedex:b")
    assert platform_site("sedex:b") in state.resolutions
    sites = contributing(state)
    assert len(sites) == 1
    [info] = sites.values()
    assert info.real == real_site_key([platform_site("sedex:a"), platform_site("amfori:a")])
    assert pid("audit", "of-b") not in audits(state)
    assert state.resolved_site_of(platform_site("sedex:b")) is None
    # the one-pass map the plan reads says the same of every platform site
    assert state.resolved_site_ids() == {
        p: rid for p in state.resolutions if (rid := state.resolved_site_of(p)) is not None
    }
    assert platform_site("sedex:b") not in state.resolved_site_ids()


def test_a_site_keeps_contributing_through_its_other_platform_site() -> None:
    """The amfori record of site `a` removed, its resolution still present and the resolved site still
    listing it: `a` contributes through its Sedex platform site alone, as one real site of that
    platform site, and only the audit of the existing platform site counts."""
    world = two_platform_site()
    state = without_platform_site(world.state(), "amfori:a")
    sites = contributing(state)
    assert len(sites) == 2
    rid = state.resolutions[platform_site("sedex:a")].resolved_site_id
    assert sites[rid].real == real_site_key([platform_site("sedex:a")])
    assert participating(state, state.resolved_sites[rid]) == [platform_site("sedex:a")]
    assert audits(state) == {pid("audit", "on-sedex"), pid("audit", "of-b")}


def test_the_same_removal_read_consistently_agrees() -> None:
    """The lagging reader above ends where the consistent one is once it catches up."""
    world = two_platform_site()
    lagging = without_platform_site(world.state(), "amfori:a")
    world.remove("a", platform="amfori")
    caught_up = world.state()
    assert {i.real for i in contributing(lagging).values()} == {
        i.real for i in contributing(caught_up).values()
    }
    assert audits(lagging) == audits(caught_up)


def test_a_resolution_moved_ahead_of_the_resolved_sites_topic_counts_the_site_once() -> None:
    """Site `a` re-resolved (it gained an Open Supply Hub id): the site-resolution topic already points
    both platform sites to the new resolved site, the resolved-sites topic holds the new record and
    still the old one. The site contributes once, under the new id, with all its audits."""
    world = two_platform_site()
    old = world.state()
    world.reresolve("a")
    new = world.state()
    mixed = replace(new.snapshot(), resolved_sites={**old.resolved_sites, **new.resolved_sites})
    old_rid = old.resolutions[platform_site("sedex:a")].resolved_site_id
    new_rid = new.resolutions[platform_site("sedex:a")].resolved_site_id
    assert old_rid != new_rid and old_rid in mixed.resolved_sites
    sites = contributing(mixed)
    assert set(sites) == set(contributing(new))
    assert old_rid not in sites and new_rid in sites
    assert audits(mixed) == audits(new)


def test_a_resolution_whose_site_moved_only_on_one_platform_counts_that_platform_site_once() -> None:
    """The amfori platform site of `a` now resolves to site `b` (a merge read half-way): `a` keeps its
    Sedex platform site only, `b` gains the amfori one; no platform site is counted twice."""
    state = two_platform_site().state()
    rid_b = state.resolutions[platform_site("sedex:b")].resolved_site_id
    moved = state.snapshot()
    moved.resolutions[platform_site("amfori:a")] = hold(
        SiteResolution(platform_site_id=platform_site("amfori:a"), resolved_site_id=rid_b)
    )
    sites = contributing(moved)
    rid_a = state.resolutions[platform_site("sedex:a")].resolved_site_id
    assert participating(moved, moved.resolved_sites[rid_a]) == [platform_site("sedex:a")]
    counted = [p for info in sites.values() for p in real_site_parts(info.real)]
    assert len(counted) == len(set(counted))
    assert {rid for rid, _ in current_audits(moved)} == {rid_a, rid_b}


def test_a_member_listed_on_a_platform_site_counts_before_the_resolved_site_record_lists_it() -> None:
    """Members are the member companies listed on the site's existing platform sites. A member newly
    listed on the Sedex record of `a` counts as soon as that record is read, while the resolved-sites
    topic still holds the record without it (and the members listed before keep counting)."""
    world = Crafted()
    world.site("a", platforms=("sedex", "amfori"), members=[Ref("m1")])
    old = world.state()
    world.set_members("a", [Ref("m1"), Ref("m2")], platform="sedex")
    lagging = replace(world.state().snapshot(), resolved_sites=old.resolved_sites)
    [info] = contributing(lagging).values()
    assert info.members == {pid("member", "m1"), pid("member", "m2")}
    [before] = contributing(old).values()
    assert before.members == {pid("member", "m1")}
