"""The revision rule (k_delta), revision 2: a released cell changes only when enough *real* sites
changed under it, and no single company accounts for the change.

"Sites whose contribution to it differs since its last release" is counted per cell, against that
cell's own last release, over real sites (`identity.real_components`): a site whose resolved pseudonym
changed (it gained an OS id, its address was edited) is the same site; a merge or split is one site.
A site counts if it joined, left, or brings something else now (for an issue cell, another highest
severity on that issue; for a forced-labour cell, other indicators); a site that changed only on some
other issue does not count for this cell.

The changed sites, as a set, must also pass the insider rule: a supplier that withdraws consent for
four of its own sites while one other site's audit is revised must not see the cell re-sent, because
it knows its own four and would learn the fifth exactly. The owners and members of sites that have
left come from the release log (`Parties`).

A change that only withholds more (a status tightening) may be sent at any release: it shows nothing
new about outcomes, and a cell that must be withheld should not stay shown because too few sites moved.

A cell whose outcomes come back after a release that withheld them is judged twice: against its last
release, and against the last outcomes the subscriber saw (`Released.last_shown`). Otherwise sites that
left in between (a consent withdrawn, then granted again) count as changed against the withholding
release, while against what the subscriber holds only the one revised site changed (issue 9, found by
`test_a_cell_shown_again_after_a_suppression_is_judged_against_what_was_shown`). The same holds for
a population shown again after a suppression, against the last population the subscriber saw
(`Released.population_contributions`); and a tightening that shows a new population is no pure
tightening: `population_change_may_be_shown` says when it must go further, to suppressed
(`disclosure._revisions`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.aggregate.contributions import Contributions
from services.aggregate.disclosure.rules import SHOWN_ORDER, DisclosureParams, Status, passes_insider
from services.aggregate.identity import Parties, real_components
from services.aggregate.model import Cell, CellKey, SiteInfo


@dataclass(frozen=True, slots=True)
class Released:
    """The last release of one cell as the rules see it: each real site's contribution then (None
    for a record written before revision 2), what the message showed, and, if it withholds outcomes
    an earlier release showed, the contributions of that earlier release."""

    contributions: Mapping[str, str] | None
    status: Status
    population: Mapping[str, Any] | None
    outcomes: Mapping[str, Any] | None
    shown_contributions: Mapping[str, str] | None = None
    # a suppressed release after one that showed the population: the contributions behind that one
    population_contributions: Mapping[str, str] | None = None

    @classmethod
    def of(
        cls,
        cell: Cell,
        status: Status,
        real: Mapping[str, str] | None = None,
        *,
        contributions: Mapping[str, str] | None = None,
    ) -> Released:
        """What a release of `cell` under `status` shows (measures null where withheld); `real` maps
        each of its resolved sites to its real site (by default, each is its own). `contributions`:
        the cell's `real_contributions`, when the caller already has them (they do not depend on the
        status, and a cell of thousands of sites is judged under several)."""
        if contributions is None:
            contributions = real_contributions(cell, real or {s: s for s in cell.sites})
        return cls(
            contributions=contributions,
            status=status,
            population=None if status is Status.SUPPRESSED else dict(cell.population),
            outcomes=dict(cell.outcomes) if status is Status.PUBLISHED else None,
        )

    def content(self) -> tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]:
        return (self.status.wire_status, self.population, self.outcomes)

    @property
    def real_sites(self) -> frozenset[str]:
        contributions = self.contributions
        if isinstance(contributions, Contributions):
            return contributions.population.members
        return frozenset(contributions or ())

    @property
    def last_shown(self) -> Mapping[str, str] | None:
        """The contributions behind the outcome values a subscriber holds for the cell, if any."""
        if self.status is Status.PUBLISHED:
            return self.contributions
        return self.shown_contributions

    @property
    def last_population(self) -> Mapping[str, str] | None:
        """The contributions behind the population a subscriber holds for the cell, if any."""
        if self.status is not Status.SUPPRESSED:
            return self.contributions
        return self.population_contributions


def by_real_site(contributions: Mapping[str, str], real: Mapping[str, str]) -> Mapping[str, str]:
    """Contributions keyed by real site instead of resolved site (map and zip: no Python loop per
    site; a year's plan re-keys tens of millions of entries). A cell's `Contributions` are re-keyed
    once per population and one step per non-empty token."""
    if isinstance(contributions, Contributions):
        return contributions.rekeyed(real)
    return dict(zip(map(real.__getitem__, contributions), contributions.values(), strict=True))


def real_contributions(cell: Cell, real: Mapping[str, str]) -> Mapping[str, str]:
    """A cell's contributions keyed by real site instead of resolved site."""
    return by_real_site(cell.contributions, real)


class RealContributions:
    """Each cell's `real_contributions` under one map of real sites, made once and kept by cell key.

    Within one release the same cell is judged under several statuses, capacity-building reads the
    issue-prevalence cells again, and the release log records what was sent: each of them re-keyed a
    cell of thousands of sites. The maps handed out are shared: nobody may change them."""

    __slots__ = ("_by_key", "real")

    def __init__(self, real: Mapping[str, str]) -> None:
        self.real = real
        self._by_key: dict[CellKey, Mapping[str, str]] = {}

    @classmethod
    def of_sites(cls, sites: Mapping[str, SiteInfo]) -> RealContributions:
        """Under the real sites of a release's contributing sites."""
        return cls({site: info.real for site, info in sites.items()})

    def __call__(self, cell: Cell) -> Mapping[str, str]:
        found = self._by_key.get(cell.key)
        if found is None:
            found = self._by_key[cell.key] = real_contributions(cell, self.real)
        return found

    def forget_derived(self) -> None:
        """Drop what the plan derived from the populations it handed out (`Population.forget`): the
        release log keeps them, and the derived values would stay with them."""
        for contributions in self._by_key.values():
            if isinstance(contributions, Contributions):
                contributions.population.forget()


class Revision(StrEnum):
    SEND = "send"  # first release of the cell, a change the rule lets through, or a tightening
    UNCHANGED = "unchanged"  # same content as the last release: nothing to send
    HOLD = "hold"  # content differs but the change may not be shown: the cell keeps its last release


def is_tightening(previous: Released, candidate: Released) -> bool:
    """The candidate shows strictly less than the last release (published -> population only or
    suppressed, population only -> suppressed)."""
    return SHOWN_ORDER.index(candidate.status) > SHOWN_ORDER.index(previous.status)


def changed_sites(before: Mapping[str, str], now: Mapping[str, str]) -> list[frozenset[str]]:
    """The real sites (each as its platform sites) whose contribution differs between two maps."""
    return [sites for sites, differs in real_components(before, now) if differs]


def change_may_be_shown(changed: list[frozenset[str]], parties: Parties, params: DisclosureParams) -> bool:
    """At least k_delta real sites changed, and no single member or supplier accounts for all but
    fewer than k_insider of them."""
    if len(changed) < params.k_delta:
        return False
    infos = parties.infos(changed)
    return passes_insider(frozenset(infos), infos, params)


def population_change_may_be_shown(
    previous: Released | None, candidate: Released, params: DisclosureParams, parties: Parties
) -> bool:
    """Whether the population `candidate` shows may replace the last one the subscriber saw of the
    cell: the same, or a change the revision rule lets through (k_delta real sites, passing insider).

    The revision rule checks a change against the cell's last release; two cases escape that. A
    tightening (published -> population only) is sent at any release, but its population may be
    new: a cell of 20 sites that one site leaves shows 19, one site's departure. And a population
    shown again after a suppression would be judged against the suppressed release, while the
    subscriber still holds the population before it (`Released.population_contributions`)."""
    if previous is None or candidate.status is Status.SUPPRESSED:
        return True
    if previous.status is not Status.SUPPRESSED and previous.population == candidate.population:
        return True
    before = previous.last_population
    if before is None:  # never shown a population, or a legacy record that cannot be compared
        return previous.status is Status.SUPPRESSED and previous.contributions is not None
    if candidate.contributions is None:
        return False
    changed = changed_sites(before, candidate.contributions)
    return not changed or change_may_be_shown(changed, parties, params)


def tightening_shows_new_population(
    previous: Released | None,
    candidate: Released,
    params: DisclosureParams,
    parties: Parties,
    *,
    tightening: Callable[[Released, Released], bool] | None = None,
) -> bool:
    """A tightening `revision` sends at any release, but whose population is a change the rule would
    not let through (`population_change_may_be_shown`): the cell must be suppressed instead. Only a
    tightening needs this: `revision` judges every other change's population itself."""
    return (
        previous is not None
        and (tightening or is_tightening)(previous, candidate)
        and not population_change_may_be_shown(previous, candidate, params, parties)
    )


def unchanged(previous: Released, candidate: Released, *, noisy: bool = False) -> bool:
    """Nothing to send. A noisy cell's published outcomes are a draw, not the candidate's exact values,
    so it is unchanged when its status, population and real sites' contributions are."""
    if not noisy:
        return previous.content() == candidate.content()
    return (
        previous.status is candidate.status
        and previous.population == candidate.population
        and previous.contributions is not None
        and candidate.contributions is not None
        and not changed_sites(previous.contributions, candidate.contributions)
    )


def revision(
    previous: Released | None,
    candidate: Released,
    params: DisclosureParams,
    parties: Parties | None = None,
    *,
    noisy: bool = False,
    tightening: Callable[[Released, Released], bool] | None = None,
) -> Revision:
    """Whether a cell may be re-sent. `parties` says who stands behind the changed sites (by default
    nobody is known, and each site counts as its own supplier). `noisy`: the cell's table is in the
    differential-privacy mode. `tightening` replaces `is_tightening` for a message whose shape differs
    from a cell's (capacity-building's, with two groups in one message)."""
    parties = parties or Parties.of_sites(())
    if previous is None:
        return Revision.SEND
    if unchanged(previous, candidate, noisy=noisy):
        return Revision.UNCHANGED
    if (tightening or is_tightening)(previous, candidate):
        return Revision.SEND
    if previous.contributions is None or candidate.contributions is None:
        return Revision.HOLD  # a legacy record: the change cannot be counted in real sites
    if not change_may_be_shown(
        changed_sites(previous.contributions, candidate.contributions), parties, params
    ):
        return Revision.HOLD
    if previous.status is Status.SUPPRESSED and not population_change_may_be_shown(
        previous, candidate, params, parties
    ):
        return Revision.HOLD  # a population shown again: the subscriber holds the one before
    if candidate.status is Status.PUBLISHED and previous.status is not Status.PUBLISHED:
        # Outcomes shown again: the subscriber still holds the last ones it saw, so the change since
        # those must pass too (sites that left and came back in between are no change to it).
        shown = previous.last_shown
        since_shown = [] if shown is None else changed_sites(shown, candidate.contributions)
        if since_shown and not change_may_be_shown(since_shown, parties, params):
            return Revision.HOLD
    return Revision.SEND
