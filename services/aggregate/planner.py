"""One release, computed: from the normalised state and the release history to the messages to send.

Pure (no Kafka, no clock): the service calls `plan_release` at a scheduled time and sends the plan in
one Kafka transaction (`app.py`), so a release is seen whole or not at all, and a crash before the
commit leaves nothing behind that a re-run would contradict. Everything in a plan is a function of
its inputs, so a replay of the same state at the same release time gives the same bytes.

The release marker (`LAST_RELEASE_KEY` on the release-state topic) is written last, in the same
transaction: the schedule resumes after it. Each cell's state record carries what each of its sites
contributed to it, so the revision rule compares every cell with its own last release.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from schemas.exchange.aggregates import (
    ISSUE_PREVALENCE,
    LAST_RELEASE_KEY,
    RELEASE_STATE_TOPIC,
    TABLES,
    format_release_time,
    topic_of,
)

from . import capacity_building, disclosure, forecast
from .audit_quality import audit_quality
from .disclosure import CellDecision, DisclosureCounts, DisclosureParams, Revision, Status
from .identity import Identities, Parties
from .model import Cell, CellKey
from .noise import Fingerprints, NoiseParams, Sampler, StoredDraw, budget_left, discrete_gaussian, draw_period
from .noise import period_spent as noise_spent
from .population import Granularity, NormalizedState, affiliations, site_infos
from .release import (
    PENDING,
    POPULATION_MEASURES,
    Entry,
    Message,
    Record,
    ReleaseLog,
    build_message,
    encode_message,
    expand,
    marker_value,
    shows_outcomes,
)
from .remediation import remediation
from .schedule import is_closed
from .tables import audited_sites, forced_labour, issue_prevalence, labour_relations, outcomes_from_counts


@dataclass(slots=True)
class ReleasePlan:
    release_id: str
    # (topic, key, value, headers) and release-state records still to encode (`release.PENDING`),
    # in the order they are to be written: the releaser encodes the states as it sends them.
    entries: list[Entry] = field(default_factory=list)
    counts: dict[str, DisclosureCounts] = field(default_factory=dict)  # per table
    periods: list[str] = field(default_factory=list)
    sent: int = 0
    sent_by: Counter[tuple[str, str]] = field(default_factory=Counter)  # (table, wire status) -> cells
    unchanged: int = 0
    held: int = 0
    # Differential-privacy mode: the new draws this release needs, to be committed on their own before
    # `records`, so that an aborted release never publishes values a retry would draw again.
    draw_records: list[Record] = field(default_factory=list)
    forecasts: forecast.ForecastPlan = field(default_factory=forecast.ForecastPlan)

    @property
    def draws(self) -> int:
        return len(self.draw_records)

    @property
    def records(self) -> list[Record]:
        """Every record in order, each release state encoded: all at once (tests, benches, the
        in-process plan); the service encodes as it sends (`release.expand`)."""
        return list(expand(self.entries))

    @property
    def published(self) -> list[Record]:
        """The records subscribers get (messages and forecasts), in order: no release state, so nothing
        is encoded to find them."""
        return [e for e in self.entries if not isinstance(e, PENDING) and e[0] != RELEASE_STATE_TOPIC]


def _status_of(message: Message) -> Status:
    if message.status == "suppressed":
        return Status.SUPPRESSED
    return Status.PUBLISHED if shows_outcomes(message) else Status.POPULATION_ONLY


def _previous(log: ReleaseLog) -> dict[CellKey, disclosure.Released]:
    """The release log as the disclosure module's view: what each cell's last message showed, and
    the contributions behind it (None for a record written before real sites were kept)."""
    out: dict[CellKey, disclosure.Released] = {}
    for key, released in log.items():
        status = _status_of(released.message)
        measures = None if released.message.measures is None else released.message.measures.model_dump()
        population = (
            None if measures is None else {k: v for k, v in measures.items() if k in POPULATION_MEASURES}
        )
        outcomes = (
            {k: v for k, v in measures.items() if k not in POPULATION_MEASURES}
            if measures is not None and status is Status.PUBLISHED
            else None
        )
        contributions = None if released.legacy else released.tokens
        out[key] = disclosure.Released(
            contributions,
            status,
            population,
            outcomes,
            released.shown_contributions,
            released.population_contributions,
        )
    return out


def _measures(cell: Cell, status: Status, outcomes: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    if status is Status.SUPPRESSED:
        return None
    if status is Status.POPULATION_ONLY:
        return {**cell.population, **{name: None for name in cell.outcomes}}
    return {**cell.population, **(cell.outcomes if outcomes is None else outcomes)}


def plan_release(
    state: NormalizedState,
    log: ReleaseLog,
    params: DisclosureParams,
    release_at: datetime,
    *,
    granularity: Granularity = "quarter",
    grace: timedelta = timedelta(days=30),
    noise: NoiseParams | None = None,
    sampler: Sampler = discrete_gaussian,
) -> ReleasePlan:
    """Every message of the release at `release_at`, for the closed periods only.

    `log` is updated as the plan is built (the caller rebuilds it from the release-state topic if the
    transaction does not commit). Topic names are the canonical ones; the service prefixes them.

    With tables in the differential-privacy mode (`noise`), the new draws the release needs are in
    `plan.draw_records`: commit them before `plan.records`.
    """
    noise = noise or NoiseParams()
    release_id = format_release_time(release_at)
    plan = ReleasePlan(release_id)
    now = affiliations(state)
    identities = Identities([*now.values(), *log.affiliations.values()])
    sites = site_infos(state, now, identities)
    by_period = audited_sites(state, granularity, sites)
    closed = sorted(p for p in by_period if is_closed(p, release_at, grace))
    # capacity-building: a closed period's trainings, whether or not the period had audits
    trained = capacity_building.capacity_cells(
        state, by_period, release_at, granularity=granularity, grace=grace, sites=sites
    )
    plan.periods = sorted({*closed, *(c.cell.key.period for c in trained)})
    if not plan.periods:
        return plan
    previous = _previous(log)
    audited = {period: by_period[period] for period in closed}
    all_cells = [
        *issue_prevalence(state, granularity, audited),
        *forced_labour(state, granularity, audited),
        *labour_relations(state, granularity, audited),
        *audit_quality(state, granularity, closed, sites),
        # open_overdue depends on the release time itself (services/aggregate/remediation.py)
        *remediation(state, release_at, granularity, sites, closed),
    ]

    # What this release sees behind each platform site joins the log's (written below, with the cells):
    # the rules judge sites that have left, and cells held at old sites, by everyone seen behind them.
    site_records = log.record_pending_affiliations(now)
    parties = Parties(log.affiliations, identities, sites.values())
    # Each cell's contributions by real site, made once for the decisions and the release log.
    contributed = disclosure.RealContributions.of_sites(sites)
    real = contributed.real
    decisions = disclosure.decide(all_cells, sites, params, previous, parties, noise.tables, contributed)
    cells = {c.key: c for c in all_cells}
    # capacity-building: its rates relate to the next period's issue-prevalence cells, so it is decided
    # after them, with their decisions fixed (services/aggregate/capacity_building.py).
    capacity = capacity_building.decide(
        trained,
        {k: c for k, c in cells.items() if k.table == ISSUE_PREVALENCE},
        decisions,
        sites,
        params,
        previous,
        parties,
        contributed,
    )
    decisions = disclosure.Decisions(
        dict(sorted({**decisions.cells, **{k: d.decision for k, d in capacity.items()}}.items())),
        decisions.counts,
    )
    for table in TABLES:
        table_decisions = [d for k, d in decisions.cells.items() if k.table == table]
        plan.counts[table] = disclosure.count_decisions(table_decisions)

    fingerprints = Fingerprints(real)
    if noise.enabled:
        _draw(plan, log, cells, decisions, fingerprints, noise, sampler)
    for key, decision in decisions.cells.items():
        outcomes = None
        if (
            key.table in noise.tables
            and decision.revision is Revision.SEND
            and decision.status is Status.PUBLISHED
        ):
            outcomes, decision = _noisy_outcomes(cells[key], decision, log, fingerprints)
        if key in capacity:
            cb = capacity[key]
            plan_cell(plan, log, cb.cell, decision, release_at, contributed, cb.outcomes, cb.contributions)
            continue
        plan_cell(plan, log, cells[key], decision, release_at, contributed, outcomes)
    contributed.forget_derived()  # the log keeps the populations, not what this plan derived from them
    # Who stood behind each platform site, for the rules of later releases: in the same transaction.
    plan.entries.extend(site_records)

    # Forecasts: from the published view alone (the log, this release's messages included).
    plan.forecasts = forecast.plan_forecasts(log, release_at)
    plan.entries.extend(plan.forecasts.records)

    # The marker: after the messages, in the same transaction.
    plan.entries.append((RELEASE_STATE_TOPIC, LAST_RELEASE_KEY, marker_value(release_at), []))
    return plan


def _stored_counts(cell: Cell, log: ReleaseLog, fingerprints: Fingerprints) -> Mapping[str, int] | None:
    """The cell's base counts in its period's stored draw, if the draw holds the cell as it is now."""
    stored = log.draws.get((cell.key.table, cell.key.period))
    return None if stored is None else stored.counts(cell.key, fingerprints(cell))


def _stale(cell: Cell, decision: CellDecision, log: ReleaseLog, fingerprints: Fingerprints) -> bool:
    """A noisy cell about to be sent with outcomes that no stored draw holds as it is now."""
    if decision.revision is not Revision.SEND or decision.status is not Status.PUBLISHED:
        return False
    return _stored_counts(cell, log, fingerprints) is None


def _draw(
    plan: ReleasePlan,
    log: ReleaseLog,
    cells: Mapping[CellKey, Cell],
    decisions: disclosure.Decisions,
    fingerprints: Fingerprints,
    noise: NoiseParams,
    sampler: Sampler,
) -> None:
    """Draw every noisy table's period that a cell to be sent needs and the budget still pays for;
    the draws go into the plan's `draw_records` (and the log)."""
    needed = sorted(
        {
            (key.table, key.period)
            for key, decision in decisions.cells.items()
            if key.table in noise.tables and _stale(cells[key], decision, log, fingerprints)
        }
    )
    for table, period in needed:
        stored: StoredDraw | None = log.draws.get((table, period))
        spent_after = noise_spent(log.draws, period) + noise.rho_per_draw()
        if not budget_left(None if stored is None else stored.record, noise):
            continue
        if spent_after > noise.rho_per_period * (1 + 1e-9):
            continue  # cannot happen with an even split; the ledger is checked all the same
        period_cells = [c for k, c in cells.items() if k.table == table and k.period == period]
        record = draw_period(
            table,
            period,
            period_cells,
            fingerprints,
            noise,
            sampler,
            None if stored is None else stored.record,
        )
        key, value = log.record_draw(record)
        plan.draw_records.append((RELEASE_STATE_TOPIC, key, value, []))


def _noisy_outcomes(
    cell: Cell, decision: CellDecision, log: ReleaseLog, fingerprints: Fingerprints
) -> tuple[Mapping[str, Any] | None, CellDecision]:
    """A noisy cell's outcomes from its stored draw. When the budget could not pay for a draw that
    holds the cell as it is now, the cell keeps its last release, or if it has none is sent without
    outcomes."""
    counts = _stored_counts(cell, log, fingerprints)
    if counts is not None:
        return outcomes_from_counts(cell.key.table, counts, len(cell.sites)), decision
    if cell.key in log:
        return None, replace(decision, revision=Revision.HOLD)
    return None, replace(decision, status=Status.POPULATION_ONLY, withheld_by="budget")


def plan_cell(
    plan: ReleasePlan,
    log: ReleaseLog,
    cell: Cell,
    decision: CellDecision,
    release_at: datetime,
    contributed: disclosure.RealContributions,
    outcomes: Mapping[str, Any] | None = None,
    contributions: Mapping[str, str] | None = None,
) -> None:
    """Send or hold one cell. `contributions` (real site -> token) is what the release log keeps for
    the revision rule, when the message draws on more sites than the cell's population
    (capacity-building's rate groups); by default the cell's own."""
    if decision.revision is Revision.UNCHANGED:
        plan.unchanged += 1
        return
    if decision.revision is Revision.HOLD:
        plan.held += 1
        return
    message = build_message(
        cell.key.table,
        {**dict(cell.key.coords), **cell.labels},
        decision.status.wire_status,
        _measures(cell, decision.status, outcomes),
        release_at,
        # released_at is the scheduled time too: a re-run of the release must give the same bytes.
        release_at,
        log.next_revision(cell.key),
    )
    recorded = contributed(cell) if contributions is None else contributions
    state = log.record_pending(message, recorded)
    key, value, headers = encode_message(message)
    plan.entries.append(state)
    plan.entries.append((topic_of(cell.key.table), key, value, headers))
    plan.sent += 1
    plan.sent_by[(cell.key.table, decision.status.wire_status)] += 1
