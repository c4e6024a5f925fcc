"""The seven insider attacks from the issue tracker, each a small crafted history released through
`plan_release` release after release; the independent attacker (`insider.py`, written from
aggregates.md revision 2) must find nothing in any of them.

Each scenario sets up the population the attack needs; what the engine then withholds is its own
choice, so the tests assert only that no attacker learns anything it should not.
"""

from __future__ import annotations

from schemas.exchange.aggregates import TABLES
from schemas.taxonomy import ForcedLabourIndicator as FL
from schemas.taxonomy import Issue, Sector, Severity
from services.aggregate.disclosure import DisclosureParams
from tests.services.aggregate.crafted import Crafted, FindingSpec, Ref, Releases
from tests.services.aggregate.insider import Release, attack, iter_cells, summary

APPAREL, FOOTWEAR, ELECTRONICS = Sector.APPAREL_TEXTILES, Sector.FOOTWEAR_LEATHER, Sector.ELECTRONICS
CRITICAL, MAJOR, MINOR = Severity.CRITICAL, Severity.MAJOR, Severity.MINOR


def mix(i: int) -> tuple[FindingSpec, ...]:
    """Ordinary findings for the i-th background site: some wages, some health and safety, a few
    forced-labour ones, so that every family has non-zero counts to protect."""
    findings: list[FindingSpec] = []
    if i % 3 == 0:
        findings.append((Issue.WAGES, MINOR))
    if i % 4 == 1:
        findings.append((Issue.HEALTH_SAFETY, MAJOR))
    if i % 7 == 6:
        findings.append((Issue.FORCED_LABOUR, MAJOR, [FL.EXCESSIVE_OVERTIME]))
    return tuple(findings)


def background(
    world: Crafted, prefix: str, n: int, *, country: str = "BD", sector: Sector = APPAREL
) -> list[str]:
    """n sites of n different suppliers in one country and sector, each with one audit of 2026-Q1."""
    names = []
    for i in range(n):
        name = world.site(f"{prefix}{i}", country=country, sector=sector)
        world.audit(f"{name}-audit", name, *mix(i))
        names.append(name)
    return names


def attack_6_world(saturated: bool) -> Crafted:
    """Attack 6's populations: 25/12/12 sites under BD×ALL in apparel, footwear and electronics, a
    buyer linked to every fifth. Half of apparel has a major wages finding; in the two small sectors
    every site has one when `saturated`, else every third."""
    world = Crafted()
    for sector, n in ((APPAREL, 25), (FOOTWEAR, 12), (ELECTRONICS, 12)):
        for i in range(n):
            name = f"{sector.value[:4]}-{i}"
            world.site(name, sector=sector, members=[Ref("buyer", lei="LEI-BUYER")] if i % 5 == 0 else [])
            wages = (sector is APPAREL and i % 2 == 0) or (
                sector is not APPAREL and (saturated or i % 3 == 0)
            )
            world.audit(f"{name}-audit", name, *([(Issue.WAGES, MAJOR)] if wages else []))
    return world


def withdraw_and_grant_again(world: Crafted, releases: Releases, *companies: str) -> None:
    """The companies withdraw consent for a release, then grant it again (released by the caller, with
    whatever else it changes)."""
    for company in companies:
        world.withdraw_consent(company)
    releases.release(world)
    for company in companies:
        world.grant_consent(company)


def assert_safe(history: list[Release]) -> None:
    violations = attack(history)
    assert not violations, summary(violations)


def test_a_held_cell_cannot_cancel_secondary_suppression() -> None:
    """Release 0 publishes BD×APPAREL (30) and BD×FOOTWEAR (25) with outcomes. One victim site arrives
    in BD×ELECTRONICS; then a supplier adds four sites of its own there. If BD×ALL is re-sent while
    the two big cells are held at their old values, BD×ALL − APPAREL − FOOTWEAR − its own four is the
    victim's exact profile."""
    world, releases = Crafted(), Releases()
    background(world, "a", 30, sector=APPAREL)
    background(world, "f", 25, sector=FOOTWEAR)
    releases.release(world)

    world.site("victim", sector=ELECTRONICS)
    world.audit(
        "victim-audit", "victim", (Issue.FORCED_LABOUR, CRITICAL, [FL.DEBT_BONDAGE]), (Issue.WAGES, MAJOR)
    )
    releases.release(world)

    for i in range(4):
        world.site(f"own{i}", sector=ELECTRONICS, company="attacker")
        world.audit(f"own{i}-audit", f"own{i}")
    releases.release(world)
    assert_safe(releases.history)


def test_a_resent_margin_minus_a_held_child_is_no_one_site_delta() -> None:
    """One footwear site gains a critical forced-labour finding (too few changes to re-send
    BD×FOOTWEAR), five apparel sites change (BD×APPAREL may be re-sent) and BD×ALL sees six changes:
    re-sending BD×ALL next to the new BD×APPAREL would show footwear's one new critical."""
    world, releases = Crafted(), Releases()
    background(world, "a", 30, sector=APPAREL)
    foot = background(world, "f", 25, sector=FOOTWEAR)
    releases.release(world)

    world.audit(f"{foot[0]}-audit", foot[0], (Issue.FORCED_LABOUR, CRITICAL, [FL.DEBT_BONDAGE]))
    for i in (1, 2, 3, 4, 5):  # none of them had a forced-labour finding
        world.audit(f"a{i}-audit", f"a{i}", *mix(i), (Issue.FORCED_LABOUR, MINOR, [FL.EXCESSIVE_OVERTIME]))
    releases.release(world)
    releases.release(world)
    assert_safe(releases.history)


def test_k_delta_counts_real_sites_not_pseudonyms() -> None:
    """Two of the attacker's sites gain Open Supply Hub ids (new resolved ids, same content) and one
    victim audit goes from minor to critical on wages: one real site changed, so critical 3→4 and
    minor 4→3 must not be re-sent."""
    world, releases = Crafted(), Releases()
    for i in range(30):
        company = "attacker" if i in (10, 11) else None
        world.site(f"s{i}", company=company)
        sev = CRITICAL if i < 3 else MINOR if i < 7 else None
        world.audit(f"s{i}-audit", f"s{i}", *([(Issue.WAGES, sev)] if sev else []))
    releases.release(world)

    world.reresolve("s10")
    world.reresolve("s11")
    world.audit("s3-audit", "s3", (Issue.WAGES, CRITICAL))
    releases.release(world)
    releases.release(world)
    assert_safe(releases.history)


def test_the_changed_sites_need_insider_protection() -> None:
    """A supplier withdraws consent for its four sites (no findings) and one victim audit goes from
    minor to critical: five sites changed, but four are the supplier's own, so re-sending the cell
    (critical 2→3, minor 4→3) tells it exactly what the victim's revision was."""
    world, releases = Crafted(), Releases()
    for i in range(30):
        company = "attacker" if i >= 26 else None
        world.site(f"s{i}", company=company)
        sev = CRITICAL if i < 2 else MINOR if i < 6 else None
        world.audit(f"s{i}-audit", f"s{i}", *([(Issue.WAGES, sev)] if sev else []))
    releases.release(world)

    world.withdraw_consent("attacker")
    world.audit("s2-audit", "s2", (Issue.WAGES, CRITICAL))
    releases.release(world)
    releases.release(world)
    assert_safe(releases.history)


def test_the_recovery_check_is_as_strong_as_an_insider() -> None:
    """Health and safety at ~97% prevalence. BD has APPAREL 30, FOOTWEAR 20 and a three-site
    ELECTRONICS cell that must be suppressed; VN has all three sectors large. Withholding BD×FOOTWEAR
    for a secondary reason while its siblings and margins are shown leaves its count pinned for a
    supplier that knows its own footwear site has no such finding (and integrality does the rest)."""
    world, releases = Crafted(), Releases()
    hs: FindingSpec = (Issue.HEALTH_SAFETY, MAJOR)
    layout = [("BD", APPAREL, 30), ("BD", FOOTWEAR, 20), ("BD", ELECTRONICS, 3)]
    layout += [("VN", APPAREL, 30), ("VN", FOOTWEAR, 25), ("VN", ELECTRONICS, 25)]
    for country, sector, n in layout:
        for i in range(n):
            name = f"{country}-{sector.value[:4]}-{i}"
            mine = country == "BD" and sector is FOOTWEAR and i == 0
            odd = mine or (country == "VN" and i == 0)  # about one site in thirty has no such finding
            world.site(name, country=country, sector=sector, company="attacker" if mine else None)
            world.audit(f"{name}-audit", name, *(() if odd else (hs,)))
    releases.release(world)
    assert_safe(releases.history)


def pattern(history: list[Release]) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
    """Which cells were suppressed, population-only or published with outcomes, by release."""
    out = {}
    for at, m in iter_cells(history):
        shown = "suppressed" if m.values is None else "published" if m.outcomes else "population-only"
        out[(at, (("table", m.table), *m.cell))] = shown
    return out


def test_the_withholding_pattern_does_not_depend_on_findings() -> None:
    """Populations 25/12/12 under BD×ALL. In the first world every site of the two small sectors has a
    wages finding, so BD×ALL − BD×APPAREL pins both withheld wages counts at their populations; in the
    second world only some do. An engine whose recovery rule reacts to the values withholds
    differently in the two worlds, and the difference itself tells which world it is. Populations,
    owners and members are identical, so the patterns must be too, and neither world may leak: the
    recovery rule decides from populations alone (`view.unshown_child_violation`), so BD×ALL keeps no
    outcomes above cells that show none, saturated or not."""
    histories = []
    for saturated in (True, False):
        releases = Releases()
        releases.release(attack_6_world(saturated))
        histories.append(releases.history)
    assert pattern(histories[0]) == pattern(histories[1])
    for history in histories:
        assert_safe(history)


def test_the_value_lp_withholds_by_findings() -> None:
    """Why the value LP is no service setting any more: on attack 6's worlds it withholds BD×APPAREL's
    outcomes only where the small sectors are saturated, so the pattern says which world it is
    (`DisclosureParams.value_recovery` is kept for benchmarks that compare against it)."""
    patterns = []
    for saturated in (True, False):
        releases = Releases(params=DisclosureParams(value_recovery=frozenset(TABLES)))
        releases.release(attack_6_world(saturated))
        patterns.append(pattern(releases.history))
    assert patterns[0] != patterns[1]


def test_one_member_listed_with_and_without_its_lei_is_one_member() -> None:
    """A customer is listed with its LEI on 10 sites and without it (same member reference) on 10
    others of a 22-site cell: it is linked to 20 of 22, so the insider rule must suppress the cell."""
    world, releases = Crafted(), Releases()
    for i in range(22):
        refs = [Ref("customer", lei="LEI-CUSTOMER")] if i < 10 else [Ref("customer")] if i < 20 else []
        world.site(f"s{i}", members=refs)
        world.audit(f"s{i}-audit", f"s{i}", *mix(i))
    releases.release(world)
    assert_safe(releases.history)


def test_a_cell_shown_again_after_a_suppression_is_judged_against_what_was_shown() -> None:
    """BD×APPAREL (30 sites) is published. Two suppliers with 13 sites each withdraw consent: the cell
    falls to 4 sites and is suppressed (a tightening, sent at once). They grant it again while one
    victim audit goes from minor to critical. Against the suppressed release 27 sites changed, from
    two suppliers: the change passes k_delta and the insider rule. But the subscriber still holds the
    first release, and against that only the victim changed: re-sending the cell shows its revision."""
    world, releases = Crafted(), Releases()
    for i in range(30):
        company = "north" if i < 13 else "south" if i < 26 else None
        world.site(f"s{i}", company=company)
        sev = CRITICAL if i in (26, 27) else MINOR if i in (28, 29) else None
        world.audit(f"s{i}-audit", f"s{i}", *([(Issue.WAGES, sev)] if sev else []))
    releases.release(world)

    withdraw_and_grant_again(world, releases, "north", "south")
    world.audit("s28-audit", "s28", (Issue.WAGES, CRITICAL))
    releases.release(world)
    assert_safe(releases.history)


def test_a_tightening_does_not_show_a_one_site_change_of_its_population() -> None:
    """BD×APPAREL (20 sites) is published with its outcomes. One site is removed: the cell falls below
    outcome_min, and withholding its outcomes is a tightening, sent at any release. Sent as population
    only, it would show 19 sites where the subscriber holds 20: one site's departure, which the
    revision rule would never let through on its own."""
    world, releases = Crafted(), Releases()
    names = background(world, "a", 20, sector=APPAREL)
    releases.release(world)

    world.remove(names[3])
    releases.release(world)
    assert_safe(releases.history)


def test_a_population_shown_again_after_a_suppression_is_judged_against_the_last_population_shown() -> None:
    """BD×APPAREL (15 sites, population only) is published. Two suppliers with 6 sites each withdraw
    consent: 3 sites are left and the cell is suppressed (a tightening). They grant it again while one
    new site arrives. Against the suppressed release 13 sites changed, from many suppliers; but the
    subscriber still holds the population of 15, and 16 is one site's arrival."""
    world, releases = Crafted(), Releases()
    for i in range(15):
        company = "north" if i < 6 else "south" if i < 12 else None
        world.site(f"s{i}", company=company)
        world.audit(f"s{i}-audit", f"s{i}", *mix(i))
    releases.release(world)

    withdraw_and_grant_again(world, releases, "north", "south")
    world.site("arrival")
    world.audit("arrival-audit", "arrival", (Issue.WAGES, MAJOR))
    releases.release(world)
    assert_safe(releases.history)
