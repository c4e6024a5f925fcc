"""The attack suite (`attacks.py`) over a scripted release history, in-process (no broker).

One simulated half-year (seed 17, 150 sites per platform) is played through ingest's admission,
normalize's engine and `plan_release`, release by release on the hourly grid:

* 2025-01-15: before any period closes: nothing may be published;
* 2025-05-01: 2025-Q1 (and 2024-Q4) closed, with the input that had arrived by then;
* 2025-08-01: everything else arrived (removals, withdrawals, consent changes, 2025-Q2 closed);
* then hourly, the held-back sites arrive one at a time (differencing), which also takes a sector
  margin of 2025-Q1 across the threshold (a suppressed cell that becomes publishable: the flip);
* a last release with nothing new.

Every public message of every release is collected; the input of each release is also given to the
independent reference. Every attack must find nothing.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from schemas.exchange.accepted import AcceptedEvent
from schemas.exchange.aggregates import RELEASE_STATE_TOPIC, REMEDIATION, TABLES
from schemas.taxonomy import SMETA_CLAUSES
from services.aggregate import disclosure
from services.aggregate.audit_quality import audit_quality
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.planner import plan_release
from services.aggregate.population import NormalizedState, contributing
from services.aggregate.release import ReleaseLog
from services.aggregate.remediation import remediation as remediation_cells
from services.aggregate.tables import forced_labour, issue_prevalence
from services.ingest.admit import Admitted, admit
from services.ingest.envelopes import accepted_record
from services.normalize.engine import Normalizer
from services.normalize.resolve import Resolver
from simulator.feed import AMFORI_TOPIC, SEDEX_TOPIC, Feed, generate_feed
from simulator.message import FeedMessage
from tests.services.aggregate import attacks, capacity_attack
from tests.services.aggregate.reference import Reference, compute
from tests.services.aggregate.reference_capacity_building import capacity_building
from tests.services.normalize.test_engine import CTX, FORMATS, apply, interleave, resolved_id

# outcome_min below the default: in a feed this small (150 sites per platform) almost every margin has a
# cell below 20 sites, and the populations-only recovery rule would then show no outcome at all for the
# attacks to work on.
PARAMS = DisclosureParams(outcome_min=8)
ATTACK = attacks.Params(
    k_sites=PARAMS.k_sites, k_insider=PARAMS.k_insider, outcome_min=PARAMS.outcome_min, k_delta=PARAMS.k_delta
)
FLIP_PERIOD, FLIP_SECTOR, HELD = "2025-Q1", "ELECTRONICS", 7


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def delivery_times(feed: Feed) -> list[datetime]:
    """When each message arrives, approximately: the latest event time read so far (the feed is in
    delivery order; redeliveries and stale re-sends carry older times)."""
    out, latest = [], utc(2025, 1, 1)
    for m in feed.messages:
        try:
            doc = json.loads(m.value)
            if "occurredAt" in doc:
                t = datetime.fromisoformat(doc["occurredAt"])
            else:
                t = datetime.fromtimestamp(doc["timestamp"] / 1000, tz=UTC)
            latest = max(latest, t)
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            pass
        out.append(latest)
    return out


def site_refs_of(m: FeedMessage) -> set[str]:
    refs = {m.key.decode("utf-8", "replace")} if m.key else set()
    try:
        doc = json.loads(m.value)
        refs |= {str(doc[k]) for k in ("siteRef", "siteAmforiId") if isinstance(doc, dict) and k in doc}
    except ValueError:
        pass
    return refs


def normalized(messages: Sequence[FeedMessage], *, redeliver: bool = False, seed: int = 0) -> NormalizedState:
    """Ingest's admission and normalize's engine over `messages`, in-process. With `redeliver`, the
    feed's redeliveries are not dropped, every accepted event is read twice and keys are interleaved
    in another (allowed) order."""
    accepted: list[tuple[bytes, AcceptedEvent]] = []
    seen: set[tuple[str, str]] = set()
    for i, m in enumerate(messages):
        result = admit(FORMATS[m.topic], m.key, m.value)
        if not isinstance(result, Admitted):
            continue
        if (result.platform, result.event.event_id) in seen and not redeliver:
            continue
        seen.add((result.platform, result.event.event_id))
        value, _ = accepted_record(result.platform, result.event, m.topic, 0, i)
        event = AcceptedEvent.model_validate_json(value)
        accepted.extend([(m.key or b"", event)] * (2 if redeliver else 1))
    events = interleave(accepted, random.Random(seed)) if redeliver else [e for _, e in accepted]
    state: dict[str, dict[str, bytes]] = {}
    normalizer = Normalizer(CTX, Resolver(resolved_id))
    for event in events:
        apply(state, normalizer.process(event).records)
    return NormalizedState.from_topics(state)


@dataclass
class History:
    feed: Feed
    records: list[tuple[str, bytes, bytes, Any]] = field(default_factory=list)  # every public record
    inputs: dict[str, Reference] = field(default_factory=dict)
    plans: dict[str, Any] = field(default_factory=dict)
    replay_violations: list[str] = field(default_factory=list)
    final_input: list[FeedMessage] = field(default_factory=list)
    # capacity-building's own reference per release, and each release's public records in order
    capacity: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    releases: list[tuple[str, list[tuple[str, bytes, bytes, Any]]]] = field(default_factory=list)

    @property
    def messages(self) -> list[attacks.Msg]:
        return attacks.parse(self.records)


def _with_redeliveries(messages: list[FeedMessage]) -> NormalizedState:
    return normalized(messages, redeliver=True, seed=3)


@pytest.fixture(scope="module")
def history() -> History:
    feed = generate_feed(17, 150, start=date(2025, 1, 1), months=6)
    full = compute(feed)
    # The sites held back and released one at a time: some of one sector margin's sites.
    flip_key = json.dumps(
        {"country": "ALL", "period": FLIP_PERIOD, "sector": FLIP_SECTOR},
        sort_keys=True,
        separators=(",", ":"),
    )
    held_sites = sorted(full.populations[flip_key])[:HELD]
    held_refs = [{ref for _, ref in full.sites[s].platform_sites} for s in held_sites]
    all_held = set().union(*held_refs)
    times = delivery_times(feed)
    base = [(t, m) for t, m in zip(times, feed.messages, strict=True) if not site_refs_of(m) & all_held]
    held_messages = [
        [m for m in feed.messages if site_refs_of(m) & refs and not site_refs_of(m) & (all_held - refs)]
        for refs in held_refs
    ]

    schedule: list[tuple[datetime, list[FeedMessage]]] = [
        (utc(2025, 1, 15), [m for t, m in base if t <= utc(2025, 1, 15)]),
        (utc(2025, 5, 1), [m for t, m in base if t <= utc(2025, 5, 1)]),
        (utc(2025, 8, 1), [m for _, m in base]),
    ]
    arrived = [m for _, m in base]
    for i, extra in enumerate(held_messages, start=1):
        arrived = arrived + extra
        schedule.append((utc(2025, 8, 1) + timedelta(hours=i), arrived))
    schedule.append((schedule[-1][0] + timedelta(hours=1), arrived))

    h = History(feed, final_input=arrived)
    log_state: dict[bytes, bytes] = {}
    for release_at, messages in schedule:
        state = normalized(messages)
        before_log = dict(log_state)
        plan = plan_release(state, ReleaseLog.from_state(log_state), PARAMS, release_at)
        # 8. replays: the same release again, from the same state and from a redelivered one.
        again = plan_release(state, ReleaseLog.from_state(before_log), PARAMS, release_at)
        h.replay_violations += attacks.replays(plan.records, again.records, f"replay @{release_at}")
        if release_at in (utc(2025, 5, 1), utc(2025, 8, 1) + timedelta(hours=1)):
            other = _with_redeliveries(messages)
            again = plan_release(other, ReleaseLog.from_state(before_log), PARAMS, release_at)
            h.replay_violations += attacks.replays(plan.records, again.records, f"redelivered @{release_at}")
        for topic, key, value, _ in plan.records:
            if topic == RELEASE_STATE_TOPIC:
                log_state[key] = value
        rid = plan.release_id
        h.plans[rid] = plan
        h.inputs[rid] = attacks.reference_at(messages, release_at)
        h.capacity[rid] = capacity_building(messages, release_at, ref=h.inputs[rid])
        h.records += [r for r in plan.records if r[0].startswith(attacks.TOPIC_PREFIX)]
        h.releases.append((rid, [r for r in plan.records if r[0].startswith(attacks.TOPIC_PREFIX)]))
    return h


def test_the_history_exercises_the_rules(history: History) -> None:
    messages = history.messages
    plans = history.plans
    assert not [m for m in messages if m.release_id == "2025-01-15T00:00:00Z"]
    assert {m.period for m in messages} >= {"2025-Q1", "2025-Q2"}
    kinds = Counter(
        (m.status, m.outcomes_shown) for m in messages
    )  # published with outcomes, population only, suppressed
    assert (
        kinds[("published", True)] > 0
        and kinds[("published", False)] > 0
        and kinds[("suppressed", False)] > 0
    )
    assert max(m.revision for m in messages) > 0
    assert sum(p.held for p in plans.values()) > 0
    # every table is attacked: remediation published and suppressed (its cells here stay below
    # outcome_min sites: test_remediation.py's crafted worlds show and attack its outcomes), and the
    # tables with cells shown, audit-quality (>= 10 sites per firm and country) included
    assert {m.table for m in messages} == set(TABLES)
    remediation = Counter(m.status for m in messages if m.table == REMEDIATION)
    assert remediation["published"] > 0 and remediation["suppressed"] > 0, remediation
    assert {"issue-prevalence", "forced-labour", "labour-relations", "audit-quality"} <= {
        m.table for m in messages if m.shown
    }
    # The flip: the sector margin is suppressed first, later published.
    flip = [
        m
        for m in messages
        if m.table == "forced-labour"
        and m.cell == {"period": FLIP_PERIOD, "country": "ALL", "sector": FLIP_SECTOR}
    ]
    assert [m.status for m in sorted(flip, key=lambda m: m.revision)][:1] == ["suppressed"], flip
    assert "published" in {m.status for m in flip}, [(m.revision, m.status, m.release_id) for m in flip]
    # The last release had nothing new.
    last = max(plans)
    assert plans[last].sent == 0


@pytest.mark.parametrize(
    "attack",
    [
        attacks.small_cells,
        attacks.insiders,
        attacks.outcomes_below_min,
        attacks.residuals,
        attacks.lp_recovery,  # no exact recovery by linear programming
        attacks.differencing,  # between successive releases
    ],
    ids=lambda attack: attack.__name__,
)
def test_the_attack_finds_nothing(history: History, attack: attacks.Attack) -> None:
    assert attack(history.messages, history.inputs, ATTACK) == []


def test_timing(history: History) -> None:
    assert attacks.timing(history.messages, ATTACK) == []


def test_replays_and_redeliveries(history: History) -> None:
    assert history.replay_violations == []


def test_capacity_building_values_rules_and_the_cross_table_attack(history: History) -> None:
    """capacity-building's own attacker (`capacity_attack.py`, from the contract) over the same history."""
    assert any(m.table == "capacity-building" for m in history.messages)
    assert capacity_attack.history(history.releases, history.capacity, history.inputs) == []


def test_hygiene(history: History) -> None:
    assert attacks.hygiene(history.messages, history.feed.confidential_strings()) == []


# --- 9: outcome-blind withholding -------------------------------------------------------------------


def scramble_findings(messages: Sequence[FeedMessage], seed: int) -> list[FeedMessage]:
    """The same sites and audits with other findings: Sedex clauses, severities and forced-labour tags
    redrawn; amfori findings dropped at random, their crucial flag redrawn, indicators cleared."""
    rng = random.Random(seed)
    out = []
    for m in messages:
        if m.expect.startswith("invalid:"):
            out.append(m)
            continue
        doc = json.loads(m.value)
        if m.topic == SEDEX_TOPIC and doc.get("eventType") in ("AuditPublished", "AuditRevised"):
            clauses = sorted(
                c for c in SMETA_CLAUSES[doc["payload"]["methodology"]["version"]] if c[:2] != "10"
            )
            for f in doc["payload"]["findings"]:
                if f["type"] in ("NonCompliance", "CollaborativeActionRequired"):
                    f["clause"] = rng.choice(clauses)
                    f["severity"] = rng.choice(("Critical", "Major", "Minor"))
                    f["flTags"] = rng.sample(["DEBT", "THREATS", "ISOLATION"], rng.randint(0, 2))
        elif m.topic == AMFORI_TOPIC and doc.get("type") in ("monitoring.completed", "monitoring.updated"):
            for area in doc["data"]["performanceAreas"]:
                area["findings"] = [f for f in area["findings"] if rng.random() < 0.5]
                for f in area["findings"]:
                    f["indicators"] = []
                    f["crucial"] = rng.random() < 0.5
            doc["data"]["zeroTolerance"] = [z for z in doc["data"]["zeroTolerance"] if rng.random() < 0.5]
        else:
            out.append(m)
            continue
        out.append(FeedMessage(m.topic, m.key, json.dumps(doc).encode(), m.headers, m.kind, m.expect))
    return out


def decisions_of(state: NormalizedState) -> dict[Any, tuple[str, str | None]]:
    cells = [*issue_prevalence(state), *forced_labour(state), *audit_quality(state)]
    decided = disclosure.decide(cells, contributing(state), PARAMS)
    return {k: (d.status.value, d.reason) for k, d in decided.cells.items()}


def test_withholding_is_blind_to_outcomes(history: History) -> None:
    original = history.final_input
    scrambled = scramble_findings(original, seed=11)
    accepted = [isinstance(admit(FORMATS[m.topic], m.key, m.value), Admitted) for m in original]
    assert accepted == [isinstance(admit(FORMATS[m.topic], m.key, m.value), Admitted) for m in scrambled]
    a, b = compute(original), compute(scrambled)
    assert a.populations == b.populations and a.issue_prevalence != b.issue_prevalence
    assert (
        attacks.outcome_blind(decisions_of(normalized(original)), decisions_of(normalized(scrambled))) == []
    )


def test_the_lp_attacker_finds_a_planted_recovery() -> None:
    """Not vacuous: a margin and one child with outcomes, the other child's withheld count is pinned."""
    rid = "2025-05-01T00:00:00Z"
    zero = {"DEBT_BONDAGE": 0}

    def record(country: str, audited: int, with_indicator: int | None) -> tuple[str, bytes, bytes, Any]:
        measures = {
            "audited_sites": audited,
            "sites_with_indicator": with_indicator,
            "by_indicator": None if with_indicator is None else zero,
        }
        cell = {"period": "2025-Q1", "country": country, "sector": "ALL"}
        doc = {"table": "forced-labour", "release_id": rid, "released_at": rid, "revision": 0}
        value = json.dumps({**doc, "cell": cell, "status": "published", "measures": measures}).encode()
        return ("exchange.aggregates.forced-labour.v1", b"", value, [])

    records = [record("ALL", 30, 3), record("BD", 25, 1), record("CN", 5, None)]
    truth = {"sites_with_indicator": 2, "by_indicator": zero}
    ref = Reference(
        sites={},
        resolution={},
        populations={},
        issue_prevalence={},
        forced_labour={
            json.dumps(m.cell, sort_keys=True, separators=(",", ":")): truth for m in attacks.parse(records)
        },
        labour_relations={},
        severity={},
        indicators={},
    )
    found = attacks.lp_recovery(attacks.parse(records), {rid: ref}, ATTACK)
    assert len(found) == 1 and "('CN', 'ALL') sites_with_indicator=2" in found[0], found


def scramble_actions(messages: Sequence[FeedMessage], seed: int) -> list[FeedMessage]:
    """The same findings with a corrective action, other outcomes: each action's status, due date and
    closed date redrawn (still valid events)."""
    rng = random.Random(seed)
    out = []
    for m in messages:
        doc = json.loads(m.value) if not m.expect.startswith("invalid:") else {}
        if m.topic == SEDEX_TOPIC and doc.get("eventType") == "CorrectiveActionUpdated":
            p = doc["payload"]
            p["status"] = rng.choice(("Open", "ProgressMade", "Closed"))
            p["dueDate"] = (
                date.fromisoformat(p["dueDate"]) + timedelta(days=rng.randint(-60, 60))
            ).isoformat()
            p.pop("closedDate", None)
            if p["status"] == "Closed":
                p["closedDate"] = (date(2025, 1, 1) + timedelta(days=rng.randint(0, 200))).isoformat()
        elif m.topic == AMFORI_TOPIC and doc.get("type") == "remediation.updated":
            d = doc["data"]
            d["state"] = rng.choice(("OPEN", "IN_PROGRESS", "RESOLVED", "NOT_RESOLVED"))
            d["deadline"] += rng.randint(-60, 60) * 86_400_000
            d.pop("resolvedAt", None)
            if d["state"] == "RESOLVED":
                d["resolvedAt"] = d["deadline"] + rng.randint(-30, 30) * 86_400_000
        else:
            out.append(m)
            continue
        out.append(FeedMessage(m.topic, m.key, json.dumps(doc).encode(), m.headers, m.kind, m.expect))
    return out


def test_remediations_withholding_is_blind_to_its_outcomes(history: History) -> None:
    """The remediation cells' populations are the sites behind findings with an action; what happened
    to the actions (closed, when, overdue or not) must not change what is withheld."""
    original = history.final_input
    scrambled = scramble_actions(original, seed=5)
    at = utc(2025, 9, 1)

    def decided(messages: Sequence[FeedMessage]) -> dict[Any, tuple[str, str | None]]:
        state = normalized(messages)
        cells = remediation_cells(state, at)
        decisions = disclosure.decide(cells, contributing(state), PARAMS)
        return {k: (d.status.value, d.reason) for k, d in decisions.cells.items()}

    a, b = decided(original), decided(scrambled)
    assert a and len(a) == len(b)
    ra = attacks.reference_at(original, at).remediation
    rb = attacks.reference_at(scrambled, at).remediation
    assert {k: v["_sites"] for k, v in ra.items()} == {k: v["_sites"] for k, v in rb.items()}
    assert {k: v["closed"] for k, v in ra.items()} != {k: v["closed"] for k, v in rb.items()}
    assert attacks.outcome_blind(a, b) == []


def test_the_lp_attacker_reads_audit_quality_shares_as_counts() -> None:
    """Not vacuous for audit-quality: a firm's total and one country show their shares with their
    `audits`; the other country's withheld unannounced count is pinned (6 of 30 minus 5 of 25)."""
    rid = "2025-05-01T00:00:00Z"

    def record(country: str, audits: int, unannounced: int | None) -> tuple[str, bytes, bytes, Any]:
        shares = ("unannounced_pct", "semi_announced_pct", "zero_finding_pct", "below_minimum_days_pct")
        measures: dict[str, Any] = {"audits": audits, "sites": audits, **dict.fromkeys(shares, 0.0)}
        measures |= {"mean_findings_per_audit": 1.0, "critical_missed_pct": None}
        if unannounced is None:
            measures |= dict.fromkeys([*shares, "mean_findings_per_audit"])
        else:
            measures["unannounced_pct"] = 100 * unannounced / audits
        cell = {
            "period": "2025-Q1",
            "audit_firm": "APSCA-F-00123",
            "country": country,
            "audit_firm_name": "X",
        }
        doc = {"table": "audit-quality", "release_id": rid, "released_at": rid, "revision": 0}
        value = json.dumps({**doc, "cell": cell, "status": "published", "measures": measures}).encode()
        return ("exchange.aggregates.audit-quality.v1", b"", value, [])

    records = [record("ALL", 30, 6), record("BD", 25, 5), record("CN", 5, None)]
    counts = {"unannounced": 1, "semi_announced": 0, "zero_finding": 0, "below_minimum_days": 0}
    truth = {m.population_key: {"_counts": counts, "_sites": set()} for m in attacks.parse(records)}
    empty = Reference({}, {}, {}, {}, {}, {}, {}, {})
    found = attacks.lp_recovery(
        attacks.parse(records), {rid: attacks.with_audit_quality(empty, truth)}, ATTACK
    )
    assert len(found) == 1 and "('CN', 'ALL') unannounced=1" in found[0], found
