"""The member companies (retailers and brands) that see the exchange's aggregates: who they are, where
they are headquartered, on which platforms they are known. Many, and each linked to few sites (the
world's sites pick them Zipf-wise), so that disclosure control has cells to publish and no member is
an insider of most of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from simulator.ids import Ids

# Member companies (retailers and brands) and where they are headquartered (ISO numeric for amfori ids).
MEMBER_HQ: Final[tuple[tuple[str, str, str], ...]] = (
    ("276", "DE", "GmbH"),
    ("276", "DE", "AG"),
    ("826", "GB", "plc"),
    ("826", "GB", "Ltd"),
    ("528", "NL", "B.V."),
    ("250", "FR", "SAS"),
    ("752", "SE", "AB"),
    ("208", "DK", "A/S"),
    ("056", "BE", "NV"),
    ("724", "ES", "S.L."),
    ("756", "CH", "AG"),
    ("840", "US", "Inc."),
)


MEMBER_WORDS: Final[tuple[str, ...]] = (
    "Nordlicht",
    "Albion",
    "Kestrel",
    "Marlowe",
    "Veldhuis",
    "Brightwater",
    "Lindqvist",
    "Hartmann",
    "Oakridge",
    "Fjordhus",
    "Mercator",
    "Solberg",
    "Camberwell",
    "Rheinland",
    "Blauwe Vogel",
    "Ostara",
    "Halcyon",
    "Montclair",
    "Greystone",
    "Sørensen",
    "Überall",
    "Maison Céleste",
    "Valdés",
    "Whitlock",
)


MEMBER_KINDS: Final[tuple[str, ...]] = (
    "Retail",
    "Fashion",
    "Home",
    "Outdoor",
    "Foods",
    "Trading",
    "Brands",
    "Sports",
    "Stores",
    "Sourcing",
)


@dataclass(slots=True)
class Member:
    """A member company; ``sedex_ref`` / ``amfori_id`` say on which platforms it is known."""

    name: str
    lei: str | None
    sedex_ref: str | None = None
    amfori_id: str | None = None


def draw_members(rng: random.Random, ids: Ids, n: int) -> tuple[list[Member], list[Member]]:
    """``2 n`` members, alternately Sedex's and amfori's, some with an LEI and some of those on both;
    returns each platform's list."""
    sedex: list[Member] = []
    amfori: list[Member] = []
    for i in range(n * 2):
        numeric, _, form = rng.choice(MEMBER_HQ)
        name = f"{rng.choice(MEMBER_WORDS)} {rng.choice(MEMBER_KINDS)} {form}"
        lei = ids.lei() if rng.random() < 0.5 else None
        member = Member(name, lei)
        on_sedex = i % 2 == 0
        both = lei is not None and rng.random() < 0.5
        if on_sedex or both:
            member.sedex_ref = ids.make("ZC{:08d}", 10_000_000, 99_999_999)
            sedex.append(member)
        if not on_sedex or both:
            member.amfori_id = ids.make(numeric + "-{:07d}", 1, 9_999_999)
            amfori.append(member)
    return sedex, amfori
