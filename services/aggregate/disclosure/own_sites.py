"""What an insider knows of a family: its own sites' part of every withheld cell.

aggregates.md, "No exact recovery": the attacker may be any single member or supplier company, which
knows its own sites' contributions to every cell and subtracts them; it must not pin what the others
contributed. For the value LP that knowledge is a tighter box per withheld count: with `own` the
party's part of a count and `units` its population units in the cell (sites, audits or findings),
the count lies in [own, own + population − units] instead of [0, population]. Everything else (the
relations, the published values) is what the plain subscriber has.

A party is a merged supplier identity (every supplier the insider rule counts a site for) or a merged
member identity (`identity.py`), the same companies the insider rule protects against. A site's part
of a cell is decoded from its contribution token by the cell's own `unit_counts` (each table says
what its tokens mean); a cell without one contributes no insider knowledge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from services.aggregate.disclosure.residual import Family, Position
from services.aggregate.model import SiteInfo

Party = tuple[str, str]  # ("supplier" | "member", merged identity)


@dataclass(slots=True)
class OwnPart:
    """One party's part of a family's withheld cells."""

    units: dict[Position, int] = field(default_factory=dict)
    counts: dict[tuple[Position, str], int] = field(default_factory=dict)


def parties_of(info: SiteInfo) -> list[Party]:
    """The companies that know this site's contributions: its suppliers and its members."""
    return [("supplier", s) for s in sorted(info.suppliers)] + [("member", m) for m in sorted(info.members)]


def own_parts(
    family: Family, positions: Iterable[Position], sites: Mapping[str, SiteInfo]
) -> dict[Party, OwnPart]:
    """Each party's part of the cells at `positions`, for the parties with a site in one of them."""
    out: dict[Party, OwnPart] = {}
    for pos in positions:
        cell = family.cells[pos]
        decode = cell.unit_counts
        if decode is None:
            continue
        decoded: dict[str, tuple[int, Mapping[str, int]]] = {}
        for site, token in cell.contributions.items():
            info = sites.get(site)
            if info is None:
                continue
            if token not in decoded:
                units, counts = decode(token)
                decoded[token] = (units, {m: n for m, n in counts.items() if m in cell.additive})
            units, counts = decoded[token]
            for party in parties_of(info):
                part = out.get(party)
                if part is None:
                    part = out[party] = OwnPart()
                part.units[pos] = part.units.get(pos, 0) + units
                for measure, n in counts.items():
                    var = (pos, measure)
                    part.counts[var] = part.counts.get(var, 0) + n
    return out
