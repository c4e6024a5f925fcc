"""The revision rule (k_delta): a released cell changes only when enough sites changed under it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.aggregate.disclosure.rules import DisclosureParams, Status
from services.aggregate.model import Cell


@dataclass(frozen=True, slots=True)
class Released:
    """The last release of one cell: its population and what the message showed."""

    sites: frozenset[str]
    status: Status
    population: Mapping[str, Any] | None
    outcomes: Mapping[str, Any] | None

    @classmethod
    def of(cls, cell: Cell, status: Status) -> Released:
        """What a release of `cell` under `status` shows (measures null where withheld)."""
        return cls(
            sites=cell.sites,
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


def differing_sites(
    previous: Released, candidate_sites: frozenset[str], changed_sites: frozenset[str]
) -> int:
    """Sites whose contribution differs since the last release: added, removed, or changed (only
    sites in the old or the new population count as changed)."""
    moved = previous.sites ^ candidate_sites
    return len(moved | (changed_sites & (previous.sites | candidate_sites)))


def revision(
    previous: Released | None,
    candidate: Released,
    changed_sites: frozenset[str],
    params: DisclosureParams,
) -> Revision:
    """Whether a cell may be re-sent. A change of status counts as a change of content."""
    if previous is None:
        return Revision.SEND
    if previous.content() == candidate.content():
        return Revision.UNCHANGED
    if differing_sites(previous, candidate.sites, changed_sites) >= params.k_delta:
        return Revision.SEND
    return Revision.HOLD
