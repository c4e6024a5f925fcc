"""The revision rule (k_delta): a released cell changes only when enough sites changed under it.

"Sites whose contribution to it differs since its last release" is counted per cell, against that
cell's own last release: each release remembers, per site of the population, what the site brought
to the cell (`Cell.contributions`). A site counts if it joined, left, or brings something else now
(for an issue cell, another highest severity on that issue; for a forced-labour cell, other
indicators). A site whose findings changed on some other issue does not count for this cell: it did
not change what this cell says, so it must not help a one-site change of this cell through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.aggregate.disclosure.rules import DisclosureParams, Status
from services.aggregate.model import Cell


@dataclass(frozen=True, slots=True)
class Released:
    """The last release of one cell: each site's contribution then, and what the message showed."""

    contributions: Mapping[str, str | None]  # None: not known (state written before it was kept)
    status: Status
    population: Mapping[str, Any] | None
    outcomes: Mapping[str, Any] | None

    @classmethod
    def of(cls, cell: Cell, status: Status) -> Released:
        """What a release of `cell` under `status` shows (measures null where withheld)."""
        return cls(
            contributions=cell.contributions,
            status=status,
            population=None if status is Status.SUPPRESSED else dict(cell.population),
            outcomes=dict(cell.outcomes) if status is Status.PUBLISHED else None,
        )

    def content(self) -> tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]:
        return (self.status.wire_status, self.population, self.outcomes)


class Revision(StrEnum):
    SEND = "send"  # first release of the cell, or a change the rule lets through
    UNCHANGED = "unchanged"  # same content as the last release: nothing to send
    HOLD = "hold"  # content differs but too few sites changed: the cell keeps its last release


def differing_sites(before: Mapping[str, str | None], now: Mapping[str, str | None]) -> int:
    """Sites added, removed, or contributing something else, between two contribution maps. A
    contribution not known (None) never counts as changed: undercounting only holds a cell back."""
    moved = before.keys() ^ now.keys()
    changed = sum(
        1
        for site, token in now.items()
        if site in before and before[site] is not None and token is not None and before[site] != token
    )
    return len(moved) + changed


def revision(previous: Released | None, candidate: Released, params: DisclosureParams) -> Revision:
    """Whether a cell may be re-sent. A change of status counts as a change of content."""
    if previous is None:
        return Revision.SEND
    if previous.content() == candidate.content():
        return Revision.UNCHANGED
    if differing_sites(previous.contributions, candidate.contributions) >= params.k_delta:
        return Revision.SEND
    return Revision.HOLD
