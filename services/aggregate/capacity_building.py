"""The `capacity-building` table (aggregates.md): cells, rate groups and their disclosure control. Pure.

**Cells.** `period x country x topic` with the margin `ALL` on country. A cell's population (P) is the
contributing sites with a training completion on the topic whose completion date falls in the period
(`sites_trained`), and `participants` summed over those completions. The site's country is its
resolved site's.

**Rate groups.** The two rates are about other populations than the cell's: among the country's
contributing sites audited in the *next* period, the trained group (trained on the topic in the
cell's period) and the untrained group (the others). Each rate is `sites with a finding on the topic
in a current audit of the next period / group size`. Both are null while the next period is open.

**Why the groups need more than their own primary rules** (docs/aggregate.md, "capacity-building"):
the trained and untrained groups of a country together are exactly the population of the
issue-prevalence cell (next period, country, ALL sector, same issue), whose `sites_with_issue` is
published; the groups of the `ALL` margin are the unions of the countries' groups. So an attacker has,
per (period, topic), the linear system

    T_c + U_c = I_c            (every country c, and ALL)
    T_ALL = sum_c T_c,  U_ALL = sum_c U_c,  I_ALL = sum_c I_c

where T and U are the groups' finding counts and I the issue-prevalence counts; group sizes are
treated as known (an insider knows its own sites, and `audited_sites` and `sites_trained` bound them).
A rate shown next to a withheld one, beside a published I_c, gives the withheld one exactly.

The exchange therefore judges every (period, topic) as one *group family* with the margin dimensions
`country` and `group` (`trained`, `untrained`, `ALL`), where the position `(c, ALL)` *is* the
issue-prevalence cell (next period, c, ALL, topic) as the subscriber's view holds it after this
release. The existing machinery of `disclosure.view` then applies unchanged: residuals (a withheld
group beside a shown one and a shown I_c must pass threshold, insider and outcome_min), exact sums,
cells determined by the relations together, and the recovery rule. Only the group positions may be
withheld further; issue-prevalence is decided first, by its own families, and is fixed here. A group
that is the whole of its issue-prevalence cell (no site of the country was trained) shows what that
cell shows and is fixed too: its rate is the issue-prevalence rate.

**Revisions.** One message carries both populations and both rates, so the revision rule runs on the
message: every real site that brings something to it has a token (trained: its participants and, once
the next period is closed, whether it is in the trained group with a finding; untrained group: its
finding), and a change is sent only if the changed real sites number k_delta and pass the insider rule;
a change that only withholds more is always sent.

Nothing here reads an outcome value to decide. The recovery rule, from populations alone, treats the
issue-prevalence positions as fixed (`view.unshown_child_violation`'s `fixed`): below a known one the
groups shown are withheld until none or all are, and once none is, the cell's own saturation (every
site has the finding, so every group does) is issue-prevalence's disclosure, which no rate withheld
here could undo.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from schemas.exchange.aggregates import CAPACITY_BUILDING, ISSUE_PREVALENCE, share_pct
from schemas.taxonomy import Issue

from .contributions import presence
from .disclosure import CellDecision, Decisions, DisclosureParams, Released, Revision, Status
from .disclosure.recovery import CleanChecks
from .disclosure.residual import (
    Family,
    Pattern,
    Position,
    build_families,
    enforce_residuals,
    primary_pattern,
)
from .disclosure.revision import RealContributions, by_real_site, revision, tightening_shows_new_population
from .disclosure.rules import SHOWN_ORDER, PrimaryReasons
from .disclosure.view import ViewEntry, first_violation, residual_violation, view_entry
from .identity import Parties
from .model import ALL, Cell, CellKey, SiteInfo
from .population import Granularity, NormalizedState
from .schedule import is_closed, next_period, period_of
from .tables import AuditedSites, SitePeriod

GROUP_TABLE: Final = "capacity-building.groups"
"""The rate groups as cells of the disclosure engine: internal, never a topic nor a message."""
TRAINED: Final = "trained"
UNTRAINED: Final = "untrained"
RATE_OF: Final = {TRAINED: "issue_rate_trained_pct", UNTRAINED: "issue_rate_untrained_pct"}
WITH_ISSUE: Final = "sites_with_issue"


@dataclass(frozen=True, slots=True)
class CapacityCell:
    """One cell: `cell` is its population and raw rates (as if shown; None while the next period is
    open or when a group is empty); `groups` the trained/untrained groups, site -> has a finding on the
    topic in the next period (empty while the next period is open)."""

    cell: Cell
    next_period: str
    next_closed: bool
    participants: Mapping[str, int]
    groups: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)

    def contributions(self) -> dict[str, str]:
        """What each site brings to the message (resolved site -> token), for the revision rule: a
        trained site its participants (`t3`) and, once the next period is closed, its trained-group
        finding (`t3|T1`); a site of the untrained group its finding (`U0`)."""
        out = {site: trained_token(n) for site, n in self.participants.items()}
        for site, found in self.groups.get(TRAINED, {}).items():
            out[site] = sys.intern(out[site] + ("|T1" if found else "|T0"))
        for site, found in self.groups.get(UNTRAINED, {}).items():
            out[site] = "U1" if found else "U0"
        return {site: out[site] for site in sorted(out)}  # sorting the keys alone: string compares


def trained_token(participants: int) -> str:
    """A trained site's token (`t3`), interned: a handful of values, which a year's plan made half a
    million times (40 MiB of equal strings at its peak) and the release log keeps per site per cell."""
    return sys.intern(f"t{participants}")


def trained_sites(
    state: NormalizedState, granularity: Granularity, sites: Mapping[str, SiteInfo]
) -> dict[tuple[str, str, str], dict[str, int]]:
    """(period, country, topic) -> contributing site -> participants summed, margins included. A
    completion of a site that does not contribute (removed, no consent, never resolved) counts nowhere."""
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    resolved = state.resolved_site_ids()
    for training_id in sorted(state.trainings):
        training = state.trainings[training_id]
        rid = resolved.get(training.site_id)
        if rid is None or rid not in sites:
            continue
        country = state.resolved_sites[rid].country
        period = period_of(training.completed_on, granularity)
        for issue in training.issues:
            for c in (country, ALL):
                out[(period, c, issue.value)][rid] += training.participants
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def capacity_cells(
    state: NormalizedState,
    audited: AuditedSites,
    release_at: datetime,
    *,
    granularity: Granularity = "quarter",
    grace: timedelta = timedelta(days=30),
    sites: Mapping[str, SiteInfo],
) -> list[CapacityCell]:
    """Every cell of a closed period with at least one trained contributing site, sorted by key.
    `audited` is `tables.audited_sites` over every period (the next period's audits are needed even
    while it is open, to know it is not yet to be shown)."""
    out: list[CapacityCell] = []
    # The next period's audited sites of a country (or all of them for ALL), in site order: sorted
    # once per period and country, not once per cell (a profile at 300,000 events found 9 s there).
    next_sites: dict[tuple[str, str], list[tuple[str, SitePeriod]]] = {}
    for (period, country, topic), trained in sorted(trained_sites(state, granularity, sites).items()):
        if not is_closed(period, release_at, grace):
            continue
        after = next_period(period)
        closed = is_closed(after, release_at, grace)
        groups: dict[str, dict[str, bool]] = {TRAINED: {}, UNTRAINED: {}}
        if closed:
            if (after, ALL) not in next_sites:
                ordered = next_sites[(after, ALL)] = sorted(audited.get(after, {}).items())
                for rid, entry in ordered:  # one pass splits the period by country, in site order
                    next_sites.setdefault((after, entry.country), []).append((rid, entry))
            issue = Issue(topic)
            for rid, entry in next_sites.get((after, country), ()):
                group = TRAINED if rid in trained else UNTRAINED
                groups[group][rid] = issue in entry.severity
        rates: dict[str, Any] = {
            RATE_OF[g]: share_pct(sum(members.values()), len(members)) if closed and members else None
            for g, members in groups.items()
        }
        key = CellKey.of(CAPACITY_BUILDING, period=period, country=country, topic=topic)
        cell = Cell(
            key=key,
            sites=frozenset(trained),
            population={"sites_trained": len(trained), "participants": sum(trained.values())},
            outcomes=rates,
            contributions={site: trained_token(n) for site, n in trained.items()},
        )
        out.append(CapacityCell(cell, after, closed, trained, groups if closed else {}))
    return out


# --- disclosure ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapacityDecision:
    """What one cell's release is: the decision, the outcomes to show (None where withheld), and the
    real-site contributions to record for the next revision."""

    cell: Cell
    decision: CellDecision
    outcomes: Mapping[str, Any]
    contributions: Mapping[str, str]


def _group_key(period: str, topic: str, country: str, group: str) -> CellKey:
    return CellKey.of(GROUP_TABLE, period=period, topic=topic, country=country, group=group)


def _pos(country: str, group: str) -> Position:
    return (("country", country), ("group", group))


def _shown(status: Status, level: Status) -> bool:
    return SHOWN_ORDER.index(status) < SHOWN_ORDER.index(level)


def presence_counts(token: str) -> tuple[int, dict[str, int]]:
    """What a site of a group cell adds to it: "1" when it has a finding on the topic, else "0"."""
    return 1, {WITH_ISSUE: int(token == "1")}


IpBySectorAll = Mapping[tuple[str, str], Sequence[tuple[CellKey, Cell]]]
"""(period, issue) -> the issue-prevalence cells at sector ALL, in the order of the cells given."""


def ip_at_sector_all(ip_cells: Mapping[CellKey, Cell]) -> IpBySectorAll:
    """The issue-prevalence cells the group families read, found once per release rather than by a
    pass over every cell for each topic and period."""
    out: dict[tuple[str, str], list[tuple[CellKey, Cell]]] = defaultdict(list)
    for key, ip in ip_cells.items():
        if key.get("sector") == ALL:
            out[(key.period, key.get("issue"))].append((key, ip))
    return out


def _group_cells(topic: str, cells: Mapping[str, CapacityCell], ip_by: IpBySectorAll) -> list[Cell]:
    """The group family's cells: every country audited in the next period (its issue-prevalence cell
    at sector ALL, and its groups; a country without a cell here has only an untrained group)."""
    first = next(iter(cells.values()))
    period, after = first.cell.key.period, first.next_period
    out: list[Cell] = []
    for key, ip in ip_by.get((after, topic), ()):
        country = key.get("country")
        found = ip.additive[WITH_ISSUE]
        out.append(
            Cell(
                _group_key(period, topic, country, ALL),
                ip.sites,
                {"sites": len(ip.sites)},
                {},
                {WITH_ISSUE: found},
                presence(ip.contributions),
                unit_counts=presence_counts,
            )
        )
        cc = cells.get(country)
        # a country without a capacity cell has one group: every site, untrained
        groups = (
            cc.groups if cc is not None else {UNTRAINED: {s: bool(t) for s, t in ip.contributions.items()}}
        )
        for group, members in groups.items():
            if not members:
                continue
            n = sum(members.values())
            out.append(
                Cell(
                    _group_key(period, topic, country, group),
                    frozenset(members),
                    {"sites": len(members)},
                    {WITH_ISSUE: n},
                    {WITH_ISSUE: n},
                    {s: "1" if v else "0" for s, v in members.items()},
                    unit_counts=presence_counts,
                )
            )
    return out


def decide(
    cells: Sequence[CapacityCell],
    ip_cells: Mapping[CellKey, Cell],
    ip_decisions: Decisions,
    sites: Mapping[str, SiteInfo],
    params: DisclosureParams,
    previous: Mapping[CellKey, Released],
    parties: Parties,
    contributed: RealContributions | None = None,
) -> dict[CellKey, CapacityDecision]:
    """Decide every capacity-building cell of a release, after issue-prevalence has been decided
    (`ip_cells`, `ip_decisions`: the issue-prevalence cells of this release and their decisions;
    `contributed`: the cells' contributions by real site, shared with that decision)."""
    if contributed is None:
        contributed = RealContributions.of_sites(sites)
    known = PrimaryReasons(sites, params)  # every topic's groups hold the same populations again
    by_topic: dict[tuple[str, str], dict[str, CapacityCell]] = defaultdict(dict)
    for cc in cells:
        by_topic[(cc.cell.key.period, cc.cell.key.get("topic"))][cc.cell.key.get("country")] = cc
    out: dict[CellKey, CapacityDecision] = {}
    ip_by = ip_at_sector_all(ip_cells)
    for (_, topic), members in sorted(by_topic.items()):
        decided = _decide_topic(
            topic,
            members,
            ip_cells,
            ip_by,
            ip_decisions,
            sites,
            contributed,
            known,
            params,
            previous,
            parties,
        )
        out.update(decided)
    return dict(sorted(out.items()))


def _ip_entry(
    key: CellKey,
    ip_cells: Mapping[CellKey, Cell],
    ip_decisions: Decisions,
    contributed: RealContributions,
    previous: Mapping[CellKey, Released],
) -> ViewEntry:
    """The subscriber's view of an issue-prevalence cell as the group family measures it: whether each
    site has a finding on the issue. A severity change on the issue is no change here (aggregates.md:
    a change with no effect on the measure is no change), so a held cell whose sites only changed
    severity is not judged as a change that the groups' rates would expose."""
    decision = ip_decisions.cells[key]
    last = previous.get(key)
    return view_entry(
        _presence(Released.of(ip_cells[key], decision.status, contributions=contributed(ip_cells[key]))),
        decision.revision,
        None if last is None else _presence(last),
    )


def _presence(released: Released) -> Released:
    """An issue-prevalence release with each site's token (its highest severity, or "") reduced to
    whether it has a finding ("1"/"0")."""

    def reduce(tokens: Mapping[str, str] | None) -> Mapping[str, str] | None:
        return None if tokens is None else presence(tokens)

    return Released(
        reduce(released.contributions),
        released.status,
        released.population,
        released.outcomes,
        reduce(released.shown_contributions),
        reduce(released.population_contributions),
    )


def _decide_topic(
    topic: str,
    members: dict[str, CapacityCell],
    ip_cells: Mapping[CellKey, Cell],
    ip_by: IpBySectorAll,
    ip_decisions: Decisions,
    sites: Mapping[str, SiteInfo],
    contributed: RealContributions,
    known: PrimaryReasons,
    params: DisclosureParams,
    previous: Mapping[CellKey, Released],
    parties: Parties,
) -> dict[CellKey, CapacityDecision]:
    real = contributed.real
    # The groups are this topic's alone (never a message, never in the log): their contributions by
    # real site are kept for this decision and dropped with it, not for the whole plan (at a year they
    # were most of the 123 MiB of re-keyed maps the plan held at its peak).
    grouped = RealContributions(real)
    (population,) = build_families(cc.cell for cc in members.values())
    pop = primary_pattern(population, sites, params, known)
    for pos, status in pop.status.items():  # the cell itself has no outcome measures of its own
        if status is Status.PUBLISHED:
            pop.status[pos] = Status.POPULATION_ONLY
    enforce_residuals(population, pop, sites, params)

    any_cell = next(iter(members.values()))
    groups: Family | None = None
    fixed: dict[Position, ViewEntry] = {}
    grp: Pattern | None = None
    if any_cell.next_closed:
        group_cells = _group_cells(topic, members, ip_by)
        families = build_families(group_cells)
        if families:
            (groups,) = families
            grp = primary_pattern(groups, sites, params, known)
            for pos, cell in groups.cells.items():
                country, group = dict(pos)["country"], dict(pos)["group"]
                ip_key = CellKey.of(
                    ISSUE_PREVALENCE, period=any_cell.next_period, country=country, sector=ALL, issue=topic
                )
                whole = group == ALL or cell.sites == groups.cells[_pos(country, ALL)].sites
                if whole:  # the issue-prevalence cell itself, or a group that is all of it
                    fixed[pos] = _ip_entry(ip_key, ip_cells, ip_decisions, contributed, previous)
                    grp.status[pos] = fixed[pos].status

    def rates(country: str, pattern_pop: Pattern, pattern_grp: Pattern | None) -> dict[str, Any]:
        cc = members[country]
        shown: dict[str, Any] = {}
        for group, name in RATE_OF.items():
            pos = _pos(country, group)
            ok = (
                pattern_grp is not None
                and groups is not None
                and pos in groups.cells
                and pattern_pop.status[(("country", country),)] is not Status.SUPPRESSED
                and (
                    fixed[pos].known_now and fixed[pos].status is Status.PUBLISHED
                    if pos in fixed
                    else pattern_grp.status[pos] is Status.PUBLISHED
                )
            )
            shown[name] = cc.cell.outcomes[name] if ok else None
        return shown

    checks = CleanChecks()  # each pass re-checks the groups' family: solve only what changed
    unshown: dict[Position, ViewEntry] = {}  # the never-shown groups' entries, the same every pass
    # What does not change from pass to pass, computed once: each message's contributions by real site
    # and its last release; each view entry of a message or group, by what it depends on (its status
    # and revision; the sites, their tokens and the last release are fixed within one decision).
    contributions_of = {c: by_real_site(cc.contributions(), real) for c, cc in members.items()}
    last_of = {c: previous.get(cc.cell.key) for c, cc in members.items()}
    entries: dict[tuple[Position, Status, Revision], ViewEntry] = {}
    while True:
        decisions: dict[CellKey, CapacityDecision] = {}
        pop_view: dict[Position, ViewEntry] = {}
        grp_view: dict[Position, ViewEntry] = dict(fixed)
        unsafe: list[Position] = []  # tightenings that would show a population change: suppressed
        for country, cc in members.items():
            ppos = (("country", country),)
            status_pop = pop.status[ppos]
            shown = rates(country, pop, grp)
            status = (
                Status.SUPPRESSED
                if status_pop is Status.SUPPRESSED
                else Status.PUBLISHED
                if any(v is not None for v in shown.values())
                else Status.POPULATION_ONLY
            )
            contributions = contributions_of[country]
            last = last_of[country]
            candidate = Released(
                contributions,
                status,
                None if status is Status.SUPPRESSED else dict(cc.cell.population),
                shown if status is Status.PUBLISHED else None,
            )
            rev = revision(last, candidate, params, parties, tightening=_tightening)
            if rev is Revision.SEND and tightening_shows_new_population(
                last, candidate, params, parties, tightening=_tightening
            ):
                unsafe.append(ppos)
            decisions[cc.cell.key] = CapacityDecision(
                cc.cell,
                _decision(cc.cell.key, status, rev, pop, ppos, grp, [_pos(country, g) for g in RATE_OF]),
                shown,
                contributions,
            )
            pop_entry = entries.get((ppos, status_pop, rev))
            if pop_entry is None:
                pop_entry = entries[(ppos, status_pop, rev)] = view_entry(
                    _trained_only(candidate, status_pop),
                    rev,
                    None if last is None else _trained_only(last, last.status),
                )
            pop_view[ppos] = pop_entry
            if groups is not None and grp is not None:
                for group in (TRAINED, UNTRAINED):
                    pos = _pos(country, group)
                    if pos not in groups.cells or pos in fixed:
                        continue
                    gstatus = grp.status[pos] if status_pop is not Status.SUPPRESSED else Status.SUPPRESSED
                    gstatus = _group_status(gstatus, shown[RATE_OF[group]] is not None)
                    entry = entries.get((pos, gstatus, rev))
                    if entry is None:
                        cell = groups.cells[pos]
                        entry = entries[(pos, gstatus, rev)] = view_entry(
                            Released.of(cell, gstatus, contributions=grouped(cell)),
                            rev,
                            None if last is None else _group_last(last, group),
                        )
                    grp_view[pos] = entry
        if unsafe:
            for at in unsafe:
                pop.withhold(at, Status.SUPPRESSED, "revision")
            enforce_residuals(population, pop, sites, params)
            continue
        fix = _population_fix(population, pop_view, parties, params)
        if fix is not None:
            before = dict(pop.status)
            pop.withhold(fix, Status.SUPPRESSED, "residual")
            enforce_residuals(population, pop, sites, params)
            if pop.status != before:
                continue
            return decisions  # a held cell the message cannot change further: nothing left to do
        if groups is None or grp is None:
            return decisions
        for pos in groups.cells:  # groups of countries without a cell of their own, never shown
            if pos not in grp_view:
                if pos not in unshown:
                    unshown[pos] = _unshown(groups.cells[pos], grouped)
                grp_view[pos] = unshown[pos]
        found = first_violation(groups, grp_view, parties, params, checks, sites, fixed.keys())
        if found is None:
            return decisions
        movable = _movable(groups, members) - fixed.keys()
        before = dict(grp.status)
        choice = next(
            (p for p in found.candidates if p in movable and _shown(grp_view[p].status, found.to)),
            None,
        )
        if choice is not None:
            grp.withhold(choice, found.to, found.rule)
            if grp.status != before:
                continue
        # No single group mends it (or the one named is already withheld but held at an old rate): show
        # no rate of this topic; every message with a rate then sends a tightening.
        for p in sorted(movable):
            grp.withhold(p, Status.POPULATION_ONLY, found.rule)
        if grp.status == before:
            return decisions  # the violation is issue-prevalence's own, judged by its families


def _decision(
    key: CellKey,
    status: Status,
    rev: Revision,
    pop: Pattern,
    ppos: Position,
    grp: Pattern | None,
    rates: Sequence[Position],
) -> CellDecision:
    """The cell's decision for the metrics: suppressed by its population's rules, else published with
    rates if its groups' own rules let one through (`primary`), and why it shows less."""
    if pop.primary[ppos] is Status.SUPPRESSED:
        primary = Status.SUPPRESSED
    elif grp is not None and any(grp.primary.get(p) is Status.PUBLISHED for p in rates):
        primary = Status.PUBLISHED
    else:
        primary = Status.POPULATION_ONLY
    reason = pop.secondary_reason.get(ppos)
    if status is Status.SUPPRESSED:
        withheld = pop.withheld_by(ppos)
    elif status is Status.POPULATION_ONLY and primary is Status.PUBLISHED:
        reason = next(
            (r for p in rates if grp is not None and (r := grp.secondary_reason.get(p))), "residual"
        )
        withheld = reason
    elif status is Status.POPULATION_ONLY:
        withheld = "outcome_min"  # no group passes its own rules (or the next period is open)
    else:
        withheld = None
    return CellDecision(key, status, primary, reason, rev, withheld)


def _movable(groups: Family, members: Mapping[str, CapacityCell]) -> set[Position]:
    return {p for p in groups.cells if dict(p)["group"] != ALL and dict(p)["country"] in members}


def _unshown(cell: Cell, contributed: RealContributions) -> ViewEntry:
    released = Released.of(cell, Status.SUPPRESSED, contributions=contributed(cell))
    return view_entry(released, Revision.SEND, None)


def _trained_only(released: Released, status: Status) -> Released:
    """A message's release as its population family sees it: the trained sites, no outcomes."""
    contributions = {s: t for s, t in (released.contributions or {}).items() if t.startswith("t")}
    shown = Status.SUPPRESSED if status is Status.SUPPRESSED else Status.POPULATION_ONLY
    return Released(contributions, shown, released.population, None)


def _group_status(status: Status, shown: bool) -> Status:
    """What a group's release shows: its rate if the message shows it, else at most its population."""
    if shown:
        return Status.PUBLISHED
    return Status.POPULATION_ONLY if status is Status.PUBLISHED else status


def _group_last(last: Released, group: str) -> Released:
    """A group's last release, from its message's record: its sites' findings then, and whether its
    rate was shown. A rate withheld now that was shown before is taken as never shown (stricter)."""
    mark = "|T" if group == TRAINED else "U"
    tokens: dict[str, str] = {}
    for site, token in (last.contributions or {}).items():
        if mark in token:
            tokens[site] = token[-1]
    rate = None if last.outcomes is None else last.outcomes.get(RATE_OF[group])
    status = Status.PUBLISHED if rate is not None else Status.POPULATION_ONLY
    outcomes = {WITH_ISSUE: sum(t == "1" for t in tokens.values())} if rate is not None else None
    return Released(tokens, status, {"sites": len(tokens)}, outcomes)


def _population_fix(
    family: Family, view: Mapping[Position, ViewEntry], parties: Parties, params: DisclosureParams
) -> Position | None:
    """The cell to suppress next so that every shown margin's remainder (held cells at their old
    trained sites) passes threshold and insider, or None."""
    for rel in family.relations:
        found = residual_violation(family, view, rel.margin, rel.children, parties, params)
        if found is not None:
            for pos in found.candidates:
                if _shown(view[pos].status, Status.SUPPRESSED):
                    return pos
    return None


def _tightening(last: Released, candidate: Released) -> bool:
    """The message shows only less than the last release: a stronger status, or some shown rate now
    null and no rate changed (the population may change with it, as with the engine's tightenings)."""
    if SHOWN_ORDER.index(candidate.status) > SHOWN_ORDER.index(last.status):
        return True
    if candidate.status is Status.SUPPRESSED:
        return False
    before, now = last.outcomes or {}, candidate.outcomes or {}
    return all(now.get(k) is None or now.get(k) == before.get(k) for k in RATE_OF.values()) and any(
        before.get(k) is not None and now.get(k) is None for k in RATE_OF.values()
    )
