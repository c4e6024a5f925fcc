"""What the world is made of: supplier companies, their physical sites, and each platform's view of a
site (its own reference, its spelling of the name and address, the osId it knows, its members), with
the draws that give a new site its workforce, company name, street and postal code.

A site on both platforms is one `PhysicalSite` with two `PlatformSite`s, twins of each other; how the
two are made to match, or nearly, is `simulator.world.build_world`'s business.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final, Literal

from schemas.taxonomy import Sector
from simulator.countries import Country
from simulator.members import Member
from simulator.sectors import SECTOR_WORDS

_SIZE_BANDS: Final[tuple[tuple[float, int, int], ...]] = (
    (0.2, 8, 49),
    (0.35, 50, 249),
    (0.3, 250, 999),
    (0.15, 1000, 9000),
)


Platform = Literal["sedex", "amfori"]


MatchKind = Literal["osid", "address"]


@dataclass(slots=True)
class Address:
    street: str
    city: str
    postal_code: str | None
    country: str


@dataclass(slots=True)
class Workforce:
    total: int
    female: int
    migrant: int
    temporary: int


@dataclass(slots=True)
class Company:
    """A supplier company: a Sedex company, an amfori legal entity, or both."""

    name: str
    country: Country
    sedex_ref: str | None = None
    amfori_id: str | None = None
    sites: list[PhysicalSite] = field(default_factory=list)


@dataclass(slots=True)
class PlatformSite:
    """One platform's view of a physical site: its own id, spelling of the address and osId."""

    platform: Platform
    ref: str
    company_ref: str
    physical: PhysicalSite
    name: str
    local_name: str
    address: Address
    os_id: str | None
    os_id_later: str | None
    """An osId the platform learns in a later revision (the site 'gains' it)."""
    product_code: str
    members: list[Member]
    twin: PlatformSite | None = None
    match: MatchKind | None = None


@dataclass(slots=True)
class PhysicalSite:
    index: int
    company: Company
    country: Country
    sector: Sector
    name: str
    address: Address
    os_id: str
    workforce: Workforce
    risk: float
    local_name: str
    platform_sites: list[PlatformSite] = field(default_factory=list)


def draw_workforce(rng: random.Random, country: Country) -> Workforce:
    r = rng.random()
    acc = 0.0
    lo, hi = 8, 49
    for share, a, b in _SIZE_BANDS:
        acc += share
        if r < acc:
            lo, hi = a, b
            break
    total = rng.randint(lo, hi)
    female = round(total * rng.uniform(0.2, 0.85))
    migrant = round(
        total
        * (
            rng.uniform(0.0, 0.4)
            if country.alpha2 in ("MY", "TR", "IT", "PT", "TH")
            else rng.uniform(0.0, 0.12)
        )
    )
    temporary = round(total * rng.uniform(0.0, 0.3))
    return Workforce(total, female, migrant, temporary)


def draw_company_name(rng: random.Random, country: Country, sector: Sector) -> str:
    words = SECTOR_WORDS.get(country.language, {}).get(sector) or SECTOR_WORDS["en"][sector]
    brand = rng.choice(country.brands)
    word = rng.choice(words)
    suffix = rng.choice(country.suffixes)
    if country.language == "vi":
        return f"{suffix} {word} {brand}"
    if country.language == "id":
        return f"{suffix} {brand} {word}"
    return f"{brand} {word} {suffix}"


def draw_street(rng: random.Random, country: Country) -> str:
    return rng.choice(country.streets).format(
        n=rng.randint(1, 480), m=rng.randint(1, 40), b=rng.choice("ABCDEFGHKLMN")
    )


def draw_postal_code(rng: random.Random, prefix: str) -> str | None:
    if prefix == "0" or rng.random() < 0.15:
        return None
    width = {2: 5, 3: 6, 4: 6, 1: 4}.get(len(prefix), 5)
    rest = width - len(prefix)
    return prefix + "".join(str(rng.randint(0, 9)) for _ in range(max(rest, 1)))
