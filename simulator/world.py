"""A deterministic world of suppliers, sites and members behind the two platforms: `build_world`.

The world is built once per seed so that every feed, test and demo run on the same seed talks about
the same companies; everything is drawn from one ``random.Random`` in a fixed order (no set iteration,
no wall clock), which is what makes feeds byte-identical across runs and machines. That order is why
the assembly stays in one function here, while what it assembles lives in modules of its own:
countries.py and sectors.py (the tables), members.py, sites.py (the entities and the draws of a new
site), spelling.py (the second platform's spelling) and ids.py.

The world is shaped by what the exchange must cope with, not by realism alone: names and streets carry
diacritics and punctuation, about a quarter of the sites are on both platforms (matched either by a
shared Open Supply Hub id or only by an address that differs in case, punctuation and accents), and
member companies are many and each linked to few sites, so that disclosure control has cells to publish.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemas.taxonomy import Sector
from simulator.countries import COUNTRIES, Country
from simulator.ids import Ids
from simulator.members import Member, draw_members
from simulator.sectors import SECTOR_CODES, ZH_BRAND, ZH_CITY, ZH_SECTOR
from simulator.sites import (
    Address,
    Company,
    MatchKind,
    PhysicalSite,
    Platform,
    PlatformSite,
    draw_company_name,
    draw_postal_code,
    draw_street,
    draw_workforce,
)
from simulator.spelling import clean, different_wording, spelling_variant


@dataclass(slots=True)
class World:
    seed: int
    companies: list[Company]
    physical_sites: list[PhysicalSite]
    sedex_sites: list[PlatformSite]
    amfori_sites: list[PlatformSite]
    sedex_members: list[Member]
    amfori_members: list[Member]

    @property
    def overlaps(self) -> list[tuple[PlatformSite, PlatformSite]]:
        return [(s, s.twin) for s in self.sedex_sites if s.twin is not None]


def build_world(
    seed: int,
    sites_per_platform: int,
    *,
    overlap: float = 0.25,
    members_per_platform: int | None = None,
) -> World:
    """Build the world for ``seed`` with exactly ``sites_per_platform`` sites on each platform.

    About ``overlap`` of each platform's sites are also on the other one; half of those pairs share an
    osId, the other half only an address (spelt differently) and never carry an osId.
    """
    if sites_per_platform < 1:
        raise ValueError("sites_per_platform must be >= 1")
    rng = random.Random(seed)
    ids = Ids(rng)
    n_shared = round(sites_per_platform * overlap)
    country_weights = [c.weight for c in COUNTRIES]
    sectors = list(SECTOR_CODES)
    sector_weights = [SECTOR_CODES[s][0] for s in sectors]

    n_members = members_per_platform or max(12, sites_per_platform // 8)
    sedex_members, amfori_members = draw_members(rng, ids, n_members)
    member_cum: dict[str, list[float]] = {}
    for platform_name, pool in (("sedex", sedex_members), ("amfori", amfori_members)):
        acc = 0.0
        member_cum[platform_name] = cum = []
        for i in range(len(pool)):
            acc += 1.0 / (i + 1) ** 0.7
            cum.append(acc)

    companies: list[Company] = []
    physical: list[PhysicalSite] = []
    sedex_sites: list[PlatformSite] = []
    amfori_sites: list[PlatformSite] = []
    keys: set[str] = set()

    def new_physical(company: Company, sector: Sector) -> PhysicalSite:
        country = company.country
        while True:
            city, prefix = rng.choice(country.cities)
            street = draw_street(rng, country)
            name = company.name if not company.sites else f"{company.name} Unit {len(company.sites) + 1}"
            key = "|".join((clean(name), clean(street), clean(city), country.alpha2))
            if key not in keys:
                keys.add(key)
                break
        site = PhysicalSite(
            index=len(physical),
            company=company,
            country=country,
            sector=sector,
            name=name,
            address=Address(street, city, draw_postal_code(rng, prefix), country.alpha2),
            os_id=ids.os_id(country.alpha2),
            workforce=draw_workforce(rng, country),
            risk=min(1.0, max(0.0, rng.gauss(country.risk, 0.2))),
            local_name=(
                ZH_CITY.get(city, "") + rng.choice(ZH_BRAND) + ZH_SECTOR[sector] + "有限公司"
                if country.alpha2 == "CN"
                else name
            ),
        )
        company.sites.append(site)
        physical.append(site)
        return site

    def platform_site(site: PhysicalSite, platform: Platform, match: MatchKind | None) -> PlatformSite:
        company = site.company
        _, unspsc, gics = SECTOR_CODES[site.sector]
        if platform == "sedex":
            if company.sedex_ref is None:
                company.sedex_ref = ids.make("ZC{:07d}", 1_000_000, 9_999_999)
            ref = ids.make("ZS{:07d}", 1_000_000, 9_999_999)
            company_ref = company.sedex_ref
            code = rng.choice(unspsc)
            pool = sedex_members
        else:
            if company.amfori_id is None:
                company.amfori_id = ids.make(company.country.numeric + "-{:07d}", 1, 9_999_999)
            n_amfori = sum(1 for s in company.sites for p in s.platform_sites if p.platform == "amfori")
            ref = f"{company.amfori_id}-{n_amfori + 1:03d}"
            company_ref = company.amfori_id
            code = rng.choice(gics)
            pool = amfori_members
        name, address = site.name, Address(**{f: getattr(site.address, f) for f in Address.__slots__})
        os_id: str | None = site.os_id
        later: str | None = None
        if match == "address":
            os_id = None
            if platform == "amfori":
                name = spelling_variant(rng, name)
                address = Address(
                    spelling_variant(rng, address.street),
                    spelling_variant(rng, address.city),
                    address.postal_code if rng.random() < 0.6 else None,
                    address.country,
                )
        elif match == "osid":
            if platform == "amfori" and rng.random() < 0.5:
                name = different_wording(rng, name)
            if platform == "amfori" and rng.random() < 0.25:
                os_id, later = None, site.os_id
        else:
            r = rng.random()
            if r < 0.3:
                os_id = None
            elif r < 0.45:
                os_id, later = None, site.os_id
        if platform == "amfori" and rng.random() < 0.3:
            address.postal_code = None
        local_name = site.local_name if site.country.alpha2 == "CN" else name
        k = 1 + int(rng.random() ** 2 * 3)
        members: list[Member] = []
        # Zipf-ish: some members are big, none is linked to most sites (the insider rule needs that).
        for m in rng.choices(pool, cum_weights=member_cum[platform], k=k):
            if all(m is not x for x in members):
                members.append(m)
        ps = PlatformSite(
            platform,
            ref,
            company_ref,
            site,
            name,
            local_name,
            address,
            os_id,
            later,
            code,
            members,
            match=match,
        )
        site.platform_sites.append(ps)
        (sedex_sites if platform == "sedex" else amfori_sites).append(ps)
        return ps

    def new_company(country: Country | None = None) -> tuple[Company, Sector]:
        country = country or rng.choices(COUNTRIES, weights=country_weights)[0]
        sector = rng.choices(sectors, weights=sector_weights)[0]
        company = Company(draw_company_name(rng, country, sector), country)
        companies.append(company)
        return company, sector

    def sites_in(company: Company) -> int:
        return 1 + int(rng.random() ** 3 * 4)

    # Companies on both platforms first, then each platform's own.
    shared = 0
    while shared < n_shared:
        company, sector = new_company()
        for _ in range(min(sites_in(company), n_shared - shared)):
            site = new_physical(company, sector)
            match: MatchKind = "osid" if rng.random() < 0.5 else "address"
            s = platform_site(site, "sedex", match)
            a = platform_site(site, "amfori", match)
            s.twin, a.twin = a, s
            shared += 1
    platform: Platform
    for platform in ("sedex", "amfori"):
        own = sedex_sites if platform == "sedex" else amfori_sites
        while len(own) < sites_per_platform:
            company, sector = new_company()
            for _ in range(min(sites_in(company), sites_per_platform - len(own))):
                platform_site(new_physical(company, sector), platform, None)
    return World(seed, companies, physical, sedex_sites, amfori_sites, sedex_members, amfori_members)
