"""The primary rules on sites with several owners (aggregates.md "Disclosure control", "Owners and
members", "Merged identities"): the threshold rule counts each site's *principal* owner, the insider
rule every owner; a site on both platforms has two supplier references that are one supplier.

Expected outcomes follow from the contract's numbers (k_sites 5, three distinct principal owners,
k_insider 3), never from the engine's output."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.aggregate.disclosure import DisclosureParams, Status, decide
from services.aggregate.disclosure.rules import (
    MIN_PRINCIPAL_OWNERS,
    passes_insider,
    passes_threshold,
    primary_reason,
    primary_status,
)
from services.aggregate.model import Cell, CellKey, SiteInfo
from services.aggregate.population import contributing
from tests.services.aggregate.crafted import Crafted

P = DisclosureParams()
TABLE = "forced-labour"


def cell(sites: Iterable[str]) -> Cell:
    population = frozenset(sites)
    key = CellKey.of(TABLE, period="2026-Q1", country="BD", sector="A")
    return Cell(key, population, {"audited_sites": len(population)}, {"sites_with_indicator": None})


def status(sites: Mapping[str, SiteInfo]) -> Status:
    c = cell(sites)
    return decide([c], sites, P).status(c.key)


def owned(principals: list[str], co_owners: list[frozenset[str]]) -> dict[str, SiteInfo]:
    """Site i with principal owner principals[i] and, besides, the owners co_owners[i]."""
    return {
        f"s{i}": SiteInfo(f"s{i}", principal, frozenset({principal, *others}), frozenset())
        for i, (principal, others) in enumerate(zip(principals, co_owners, strict=True))
    }


# --- the threshold rule counts principal owners --------------------------------------------------------


def test_co_owners_do_not_make_up_the_three_distinct_principal_owners() -> None:
    """Eight sites whose principal owners are two companies fail the threshold rule however many other
    companies co-own them: here every site is co-owned by its own company, ten owners in all."""
    principals = [f"p{i % 2}" for i in range(8)]
    sites = owned(principals, [frozenset({f"other{i}"}) for i in range(8)])
    assert len({o for info in sites.values() for o in info.owners}) >= MIN_PRINCIPAL_OWNERS
    assert not passes_threshold(frozenset(sites), sites, P, TABLE)
    assert primary_reason(cell(sites), sites, P) == "threshold"
    assert status(sites) is Status.SUPPRESSED


def test_three_distinct_principal_owners_pass_whatever_the_co_owners() -> None:
    """The same eight sites with three principal owners pass, also when one company co-owns them all
    (co-owning seven of eight leaves one site: that is the insider rule's business, tested apart)."""
    principals = [f"p{i % 3}" for i in range(8)]
    plain = owned(principals, [frozenset()] * 8)
    assert passes_threshold(frozenset(plain), plain, P, TABLE)
    assert primary_status(cell(plain), plain, P) is Status.POPULATION_ONLY  # 8 < outcome_min
    shared = owned(principals, [frozenset({"X"})] * 8)
    assert passes_threshold(frozenset(shared), shared, P, TABLE)


def test_the_threshold_needs_both_the_site_count_and_the_principal_owners() -> None:
    four = owned([f"p{i}" for i in range(4)], [frozenset()] * 4)  # four principals, four sites
    assert not passes_threshold(frozenset(four), four, P, TABLE)
    five = owned([f"p{i}" for i in range(5)], [frozenset()] * 5)
    assert passes_threshold(frozenset(five), five, P, TABLE)
    assert not passes_threshold(frozenset(list(five)[:4]), five, P, TABLE)


# --- the insider rule counts every owner ---------------------------------------------------------------


def test_a_co_owner_that_is_nobodys_principal_is_an_insider() -> None:
    """Ten sites with five principal owners; company X is never a principal owner but co-owns the
    first n sites: it does not own 10 - n of them, which must be at least k_insider (3)."""
    principals = [f"p{i % 5}" for i in range(10)]

    def sites(n: int) -> dict[str, SiteInfo]:
        return owned(principals, [frozenset({"X"}) if i < n else frozenset() for i in range(10)])

    assert passes_insider(frozenset(sites(7)), sites(7), P)
    assert not passes_insider(frozenset(sites(8)), sites(8), P)
    assert status(sites(7)) is Status.POPULATION_ONLY
    assert status(sites(8)) is Status.SUPPRESSED
    assert primary_reason(cell(sites(8)), sites(8), P) == "insider"


def test_a_principal_owner_is_an_owner_even_if_missing_from_the_owner_set() -> None:
    """The principal owner is one of the owners by definition; the rule does not depend on a caller
    repeating it in `owners`."""
    principals = ["X"] * 8 + ["p1", "p2"]
    sites = {
        f"s{i}": SiteInfo(f"s{i}", p, frozenset({f"other{i}"}), frozenset()) for i, p in enumerate(principals)
    }
    assert not passes_insider(frozenset(sites), sites, P)


def test_an_empty_population_fails_no_insider_check() -> None:
    assert passes_insider(frozenset(), {}, P)


# --- end to end: sites on both platforms ---------------------------------------------------------------


def both_platforms(pairs: list[tuple[str, str]]) -> Crafted:
    """One site per pair, on Sedex (owned by the pair's first company) and on amfori (its second)."""
    world = Crafted()
    for i, (sedex, amfori) in enumerate(pairs):
        world.site(f"site{i}", platforms=("sedex", "amfori"), companies={"sedex": sedex, "amfori": amfori})
    return world


def test_a_site_on_both_platforms_counts_one_supplier_for_the_threshold() -> None:
    """Six sites on both platforms, owned by three pairs of references (a Sedex company and an amfori
    legal entity each): three suppliers, so the threshold rule passes; the six references are not six."""
    pairs = [("S1", "A1"), ("S1", "A1"), ("S2", "A2"), ("S2", "A2"), ("S3", "A3"), ("S3", "A3")]
    sites = contributing(both_platforms(pairs).state())
    assert len(sites) == 6
    assert len({info.principal_owner for info in sites.values()}) == 3
    assert all(info.owners == {info.principal_owner} for info in sites.values())
    assert passes_threshold(frozenset(sites), sites, P, TABLE)


def test_supplier_references_merge_transitively_across_sites() -> None:
    """The same six sites, but the fifth site's amfori legal entity is the one of the first two: S3 and
    A1 own one site, S1 and A1 another, so S1, A1, S3 and A3 are one supplier and only two remain."""
    pairs = [("S1", "A1"), ("S1", "A1"), ("S2", "A2"), ("S2", "A2"), ("S3", "A1"), ("S3", "A3")]
    sites = contributing(both_platforms(pairs).state())
    assert len({info.principal_owner for info in sites.values()}) == 2
    assert not passes_threshold(frozenset(sites), sites, P, TABLE)
    assert status(sites) is Status.SUPPRESSED


def test_a_supplier_owning_sites_on_two_platforms_is_one_insider() -> None:
    """Ten sites; the amfori legal entity A owns the first eight on amfori, whatever Sedex company owns
    them there: as one supplier it does not own only two of the ten, fewer than k_insider."""
    pairs = [(f"S{i}", "A" if i < 8 else f"A{i}") for i in range(10)]
    sites = contributing(both_platforms(pairs).state())
    assert not passes_insider(frozenset(sites), sites, P)
    pairs = [(f"S{i}", "A" if i < 7 else f"A{i}") for i in range(10)]
    sites = contributing(both_platforms(pairs).state())
    assert passes_insider(frozenset(sites), sites, P)


# --- the utility report --------------------------------------------------------------------------------


def test_the_counts_say_which_primary_rule_withheld_what() -> None:
    """Three cells of separate families: 4 sites (threshold: suppressed), 10 sites (below outcome_min:
    population only), 25 sites (published). Each rule's count is one."""
    sites = owned([f"p{i % 5}" for i in range(39)], [frozenset()] * 39)
    ids = sorted(sites, key=lambda s: int(s[1:]))
    cells = [
        Cell(
            CellKey.of(TABLE, period="2026-Q1", country=country, sector="A"),
            frozenset(members),
            {"audited_sites": len(members)},
            {"sites_with_indicator": None},
        )
        for country, members in (("BD", ids[:4]), ("VN", ids[4:14]), ("IN", ids[14:39]))
    ]
    counts = decide(cells, sites, P).counts
    assert counts.cells == 3
    assert (counts.suppressed_primary, counts.passed_primary) == (1, 2)
    assert counts.outcomes_withheld_primary == 1
    assert (counts.published_with_outcomes, counts.published_population_only) == (1, 1)
    assert counts.suppressed_secondary == counts.outcomes_withheld_secondary == 0
