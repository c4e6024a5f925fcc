"""Attacks on the published aggregate releases (aggregates.md, "Disclosure control", "Release schedule").

Every attack is a pure function over ALL messages ever published (every release, not only the latest
per key) and what the attacker may know; it returns a list of violations (empty = safe). The ground
truth an attacker would try to learn comes from the independent reference (`reference.compute` on the
input each release was made from), so raw site ids, raw owners and raw members are the reference's:
cells are matched by cell key, sites only through the reference.

A message is a public record as planned: `(topic, key, value, headers)`. `inputs` maps each release id
(`2025-05-01T00:00:00Z`) to the `Reference` of the input that release was computed from.

1. `small_cells`: a published cell with fewer than k_sites sites or fewer than 3 principal owners.
2. `insiders`: a member or a supplier company that, subtracting its own sites, leaves < k_insider.
3. `outcomes_below_min`: outcome measures shown with fewer than outcome_min sites.
4. `residuals`: a shown margin minus its shown children (per dimension) that is non-empty and fails the
   threshold or insider rule; for outcome-showing margins, the outcome-showing children's remainder.
5. `lp_recovery`: a withheld non-zero outcome count pinned exactly by the additive relations visible
   after a release (HiGHS; populations of suppressed cells are unknowns too, bounded by the shown ones).
6. `differencing`: a re-release (revision r+1) with fewer than k_delta sites differing since revision r.
7. `timing`: a message of a period not closed at its release, or a release time off the cadence grid.
8. `replays`: two plans of the same release that are not byte-identical.
9. `outcome_blind`: the withholding pattern depends on outcomes (beyond the recovery rule).
10. `hygiene`: a pseudonym, a confidential feed string or an event time in any message.

`audit-quality` (cells period x audit_firm x country) is attacked with the others: its population is
its sites (>= 10 for the threshold), its family is period x firm with country as the margin dimension
(no sector: its cells sit at sector ALL), its additive counts are what an attacker reads off the shares
with their published denominator `audits` (a one-decimal share of a known count gives the count back),
and its ground truth comes from `reference_audit_quality` (`with_audit_quality`). Its firm's name is a
label, not a coordinate.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any, Final

import numpy as np
from scipy.optimize import linprog  # type: ignore[import-untyped]

from simulator.message import FeedMessage
from tests.services.aggregate import reference_remediation
from tests.services.aggregate.reference import ALL, Reference, cell_key, compute
from tests.services.aggregate.reference_audit_quality import audit_quality as aq_reference

Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
TOPIC_PREFIX: Final = "exchange.aggregates."
PSEUDONYM: Final = re.compile(rb"[a-z0-9-]{1,16}\.[a-z]+\.[0-9a-f]{32}")
DATE_TEXT: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
MIN_PRINCIPALS: Final = 3
EPS: Final = 1e-6
POPULATION_MEASURES: Final = frozenset(
    {"audited_sites", "audits", "sites", "findings", "sites_trained", "participants"}
)
AUDIT_QUALITY: Final = "audit-quality"
REMEDIATION: Final = "remediation"
LABELS: Final = frozenset({"audit_firm_name"})  # in a message's cell, not a coordinate
# audit-quality's shares, and the counts an attacker reads off them (denominator: `audits`)
AQ_SHARES: Final = {
    "unannounced_pct": "unannounced",
    "semi_announced_pct": "semi_announced",
    "zero_finding_pct": "zero_finding",
    "below_minimum_days_pct": "below_minimum_days",
}
# Tables whose populations `reference.py` does not describe: their own attackers check them
# (capacity-building: `capacity_attack.py`); the checks here that need a population skip them.
OWN_ATTACKS: Final = frozenset({"capacity-building"})


def described(messages: Sequence[Msg]) -> list[Msg]:
    """The messages of tables whose populations the reference describes."""
    return [m for m in messages if m.table not in OWN_ATTACKS]


@dataclass(frozen=True, slots=True)
class Params:
    k_sites: int = 5
    k_insider: int = 3
    outcome_min: int = 20
    k_delta: int = 5
    grace: timedelta = timedelta(days=30)
    cadence: timedelta = timedelta(hours=1)
    audit_quality_min_sites: int = 10

    def min_sites(self, table: str) -> int:
        return self.audit_quality_min_sites if table == AUDIT_QUALITY else self.k_sites


@dataclass
class Input(Reference):
    """The reference of one release's input, with the tables computed apart from `reference.compute`:
    `remediation` as of that release's time (its `open_overdue` depends on the clock, so it belongs to
    a release, not to an input alone) and audit-quality's cells (`reference_audit_quality`), whose
    populations are in `populations` under their own keys (period, audit_firm, country)."""

    remediation: dict[str, dict[str, Any]] = field(default_factory=dict)
    audit_quality: dict[str, dict[str, Any]] = field(default_factory=dict)


def reference_at(
    messages: Sequence[FeedMessage],
    release_at: datetime,
    audit_quality: Mapping[str, Mapping[str, Any]] | None = None,
) -> Input:
    """Every table's reference for the release at `release_at` computed from `messages` (audit-quality's
    from `reference_audit_quality`, unless given)."""
    ref = compute(messages)
    base = Input(
        **{f.name: getattr(ref, f.name) for f in fields(Reference)},
        remediation=reference_remediation.remediation(messages, release_at),
    )
    return with_audit_quality(base, aq_reference(messages) if audit_quality is None else audit_quality)


def with_audit_quality(ref: Reference, audit_quality: Mapping[str, Mapping[str, Any]]) -> Input:
    base = {f.name: getattr(ref, f.name) for f in ref.__dataclass_fields__.values()}
    populations = {**ref.populations, **{k: set(v["_sites"]) for k, v in audit_quality.items()}}
    return Input(
        **{
            **base,
            "populations": populations,
            "audit_quality": {k: dict(v) for k, v in audit_quality.items()},
        }
    )


def _remediation(ref: Reference) -> dict[str, dict[str, Any]]:
    if not isinstance(ref, Input):
        raise TypeError("remediation messages need the reference of their release: attacks.reference_at")
    return ref.remediation


def _share_count(value: float, denominator: int) -> int | None:
    """The count a one-decimal share of `denominator` was made from (None if none or several)."""
    hits = [n for n in range(denominator + 1) if pct_tenths(n, denominator) == round(value * 10)]
    return hits[0] if len(hits) == 1 else None


def pct_tenths(numerator: int, denominator: int) -> int:
    """100 x n / d in tenths, rounded half up (aggregates.md)."""
    return (2000 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class Msg:
    """One public message, parsed."""

    table: str
    cell: Mapping[str, str]
    release_id: str
    released_at: str
    revision: int
    status: str
    measures: Mapping[str, Any] | None
    record: Record

    @property
    def period(self) -> str:
        return self.cell["period"]

    @property
    def coords(self) -> dict[str, str]:
        """The cell's coordinates (an audit-quality cell's firm name is a label)."""
        return {d: v for d, v in self.cell.items() if d not in LABELS}

    @property
    def key(self) -> tuple[str, str]:
        return (self.table, cell_key(**self.coords))

    @property
    def population_key(self) -> str:
        """The reference's population key: the coordinates without issue."""
        return cell_key(**{d: v for d, v in self.coords.items() if d != "issue"})

    @property
    def shown(self) -> bool:
        return self.status == "published"

    @property
    def outcomes_shown(self) -> bool:
        return self.measures is not None and any(
            v is not None for k, v in self.measures.items() if k not in POPULATION_MEASURES
        )

    def additive(self) -> dict[str, int | None]:
        """Flattened additive outcome counts (None where withheld); shares and medians are left out,
        but the count a share and its denominator give away is derived (remediation's on-time count)."""
        out: dict[str, int | None] = {}
        measures = self.measures or {}
        if self.table == AUDIT_QUALITY:  # the counts behind the shares, with `audits` published
            audits = measures.get("audits")
            for share, count in AQ_SHARES.items():
                value = measures.get(share)
                out[count] = None if value is None or audits is None else _share_count(value, audits)
            return out
        if "closed_on_time_pct" in measures:
            closed, share = measures["closed"], measures["closed_on_time_pct"]
            out["closed_on_time"] = (
                None if closed is None else 0 if share is None else round(share * closed / 100)
            )
        for name, value in measures.items():
            if name in POPULATION_MEASURES or name.endswith("_pct") or name.startswith("median_"):
                continue
            if isinstance(value, dict):
                out.update({f"{name}.{k}": v for k, v in value.items()})
            else:
                out[name] = value
        return out


def parse(records: Iterable[Record]) -> list[Msg]:
    """The public messages among planned records (other topics are internal and skipped)."""
    out = []
    for record in records:
        topic, _key, value, _headers = record
        if not topic.startswith(TOPIC_PREFIX):
            continue
        doc = json.loads(value)
        out.append(
            Msg(
                doc["table"],
                doc["cell"],
                doc["release_id"],
                doc["released_at"],
                doc["revision"],
                doc["status"],
                doc["measures"],
                record,
            )
        )
    return out


def _population(ref: Reference, msg: Msg) -> set[str]:
    if msg.table == REMEDIATION:
        return set(_remediation(ref).get(cell_key(**msg.cell), {}).get("_sites", set()))
    return ref.populations.get(msg.population_key, set())


def _true_additive(ref: Reference, msg: Msg) -> dict[str, int]:
    if msg.table == AUDIT_QUALITY:
        raw_aq = ref.audit_quality.get(cell_key(**msg.coords)) if isinstance(ref, Input) else None
        return {} if raw_aq is None else {c: int(raw_aq["_counts"][c]) for c in AQ_SHARES.values()}
    table = (
        _remediation(ref)
        if msg.table == REMEDIATION
        else {
            "issue-prevalence": ref.issue_prevalence,
            "forced-labour": ref.forced_labour,
            "labour-relations": ref.labour_relations,
        }[msg.table]
    )
    raw = table.get(cell_key(**msg.coords))
    if raw is None:
        return {}
    out: dict[str, int] = {}
    for name, value in raw.items():
        if name in POPULATION_MEASURES or name.endswith("_pct") or name.startswith(("median_", "_")):
            continue
        if isinstance(value, dict):
            out.update({f"{name}.{k}": int(v) for k, v in value.items()})
        else:
            out[name] = int(value)
    return out


def _principals(ref: Reference, population: Iterable[str]) -> set[str]:
    return {ref.sites[s].principal_owner for s in population}


def _insider_failures(ref: Reference, population: set[str], k_insider: int) -> list[tuple[str, int]]:
    """(entity, sites it does not own / is not linked to) for every member or supplier below k_insider."""
    entities = {e for s in population for e in ref.sites[s].owners | ref.sites[s].members}
    entities |= _principals(ref, population)
    out = []
    for who in sorted(entities):
        outside = sum(
            1
            for s in population
            if who not in ref.sites[s].owners
            and who not in ref.sites[s].members
            and who != ref.sites[s].principal_owner
        )
        if outside < k_insider:
            out.append((who, outside))
    return out


# --- 1-3: primary rules from the raw population -----------------------------------------------------


# The checks that read the messages against each release's reference: each returns its findings.
Attack = Callable[[Sequence[Msg], Mapping[str, Reference], Params], list[str]]


def _shown_cells(
    messages: Sequence[Msg], inputs: Mapping[str, Reference]
) -> Iterator[tuple[Msg, Reference, set[str]]]:
    """Every shown cell, with the reference of its release and its population there."""
    for m in described(messages):
        if m.shown:
            ref = inputs[m.release_id]
            yield m, ref, _population(ref, m)


def small_cells(messages: Sequence[Msg], inputs: Mapping[str, Reference], params: Params) -> list[str]:
    out = []
    for m, ref, population in _shown_cells(messages, inputs):
        principals = _principals(ref, population)
        if len(population) < params.min_sites(m.table) or len(principals) < MIN_PRINCIPALS:
            out.append(
                f"small cell {m.table} {m.cell} @{m.release_id}: {len(population)} sites, "
                f"{len(principals)} principal owners"
            )
    return out


def insiders(messages: Sequence[Msg], inputs: Mapping[str, Reference], params: Params) -> list[str]:
    return [
        f"insider {who} sees {outside} other sites in {m.table} {m.cell} @{m.release_id}"
        for m, ref, population in _shown_cells(messages, inputs)
        for who, outside in _insider_failures(ref, population, params.k_insider)
    ]


def outcomes_below_min(messages: Sequence[Msg], inputs: Mapping[str, Reference], params: Params) -> list[str]:
    messages = described(messages)
    out = []
    for m in messages:
        if m.outcomes_shown:
            n = len(_population(inputs[m.release_id], m))
            if n < params.outcome_min:
                out.append(f"outcomes of {m.table} {m.cell} @{m.release_id} shown with {n} sites")
    return out


# --- views and families ------------------------------------------------------------------------------


def release_ids(messages: Sequence[Msg]) -> list[str]:
    return sorted({m.release_id for m in messages})


def view_at(messages: Sequence[Msg], release_id: str) -> dict[tuple[str, str], Msg]:
    """What a subscriber holds right after a release: the latest message per cell."""
    out: dict[tuple[str, str], Msg] = {}
    for m in sorted(messages, key=lambda m: (m.release_id, m.revision)):
        if m.release_id <= release_id:
            out[m.key] = m
    return out


MARGIN_DIMS: Final = ("country", "sector")
Position = tuple[str, str]  # (country, sector)


def families(view: Mapping[tuple[str, str], Msg]) -> dict[tuple[str, ...], dict[Position, Msg]]:
    """(table, period[, issue]) -> position (country, sector) -> message."""
    out: dict[tuple[str, ...], dict[Position, Msg]] = defaultdict(dict)
    for m in view.values():
        fixed = tuple(f"{d}={v}" for d, v in sorted(m.coords.items()) if d not in MARGIN_DIMS)
        # a table without a sector dimension (audit-quality, remediation) sits at sector ALL
        out[(m.table, *fixed)][(m.cell["country"], m.cell.get("sector", ALL))] = m
    return dict(out)


def new_families(
    messages: Sequence[Msg],
) -> Iterator[tuple[str, tuple[str, ...], dict[Position, Msg]]]:
    """(release, family, its cells in the view after that release) for every family the release wrote
    to, release after release."""
    for rid in release_ids(messages):
        for fam, cells in families(view_at(messages, rid)).items():
            if any(m.release_id == rid for m in cells.values()):
                yield rid, fam, cells


def relations(cells: Iterable[Position]) -> list[tuple[Position, str, list[Position]]]:
    """(margin, dimension summed over, children present): a cell absent from the view has no site."""
    present = set(cells)
    out = []
    for margin in sorted(present):
        for i, dim in enumerate(MARGIN_DIMS):
            if margin[i] != ALL:
                continue
            children = sorted(
                p for p in present if p[i] != ALL and all(p[j] == margin[j] for j in range(2) if j != i)
            )
            if children:
                out.append((margin, dim, children))
    return out


# --- 4: residuals --------------------------------------------------------------------------------------


def residuals(messages: Sequence[Msg], inputs: Mapping[str, Reference], params: Params) -> list[str]:
    """Per release, every shown margin against the shown children a subscriber holds after it (each
    population as of the release its message came from)."""
    out: set[str] = set()
    for rid, fam, cells in new_families(described(messages)):
        for margin, dim, children in relations(cells):
            top = cells[margin]
            if not top.shown:
                continue
            ref = inputs[top.release_id]
            sites = set(_population(ref, top))

            def union(ms: Iterable[Msg]) -> set[str]:
                got: set[str] = set()
                for c in ms:
                    got |= _population(inputs[c.release_id], c)
                return got

            rest = sites - union(cells[c] for c in children if cells[c].shown)
            if rest:
                principals = _principals(ref, rest)
                bad = _insider_failures(ref, rest, params.k_insider)
                small = len(rest) < params.min_sites(top.table)
                if small or len(principals) < MIN_PRINCIPALS or bad:
                    out.add(
                        f"residual of {fam} {margin} over {dim} @{rid}: {len(rest)} sites, "
                        f"{len(principals)} principals, insiders {bad[:3]}"
                    )
            if top.outcomes_shown:
                rest = sites - union(cells[c] for c in children if cells[c].outcomes_shown)
                if rest and len(rest) < params.outcome_min:
                    out.add(
                        f"outcome residual of {fam} {margin} over {dim} @{rid}: {len(rest)} sites "
                        f"< {params.outcome_min}"
                    )
    return sorted(out)


# --- 5: exact recovery by linear programming -------------------------------------------------------


def _recovered(
    cells: Mapping[Position, Msg], measure: str, truth: Mapping[Position, int]
) -> list[tuple[Position, int, float, float]] | None:
    """Withheld non-zero counts of `measure` that the view pins: (position, value, min, max).

    Unknowns: the measure of every cell not showing it, and the population of every suppressed cell.
    Constraints: margin = sum of children for both; 0 <= x <= population; population >= 1 (a sent
    cell has a site). None when the view's relations are inconsistent (values of different releases)."""
    pos = sorted(cells)
    var: dict[tuple[str, Position], int] = {}
    for p in pos:
        if cells[p].additive().get(measure) is None:
            var[("x", p)] = len(var)
        if not cells[p].shown:
            var[("p", p)] = len(var)
    targets = [p for p in pos if ("x", p) in var and truth.get(p, 0) != 0]
    if not targets:
        return []
    n = len(var)

    def pop(p: Position) -> float | None:
        m = cells[p]
        if m.measures is None:
            return None
        return float(next(m.measures[k] for k in sorted(POPULATION_MEASURES) if k in m.measures))

    def val(p: Position) -> float | None:
        v = cells[p].additive().get(measure)
        return None if v is None else float(v)

    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for margin, _dim, children in relations(pos):
        for kind, known in (("x", val), ("p", pop)):
            row, rhs = np.zeros(n), 0.0
            for p, coef in [(margin, 1.0), *((c, -1.0) for c in children)]:
                k = known(p)
                if k is None:
                    row[var[(kind, p)]] += coef
                else:
                    rhs -= coef * k
            if row.any():
                a_eq.append(row)
                b_eq.append(rhs)
            elif abs(rhs) > EPS:
                return None  # the view mixes releases: no consistent system
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * n
    for (kind, p), i in var.items():
        if kind == "p":
            bounds[i] = (1.0, None)
        elif ("p", p) in var:
            row = np.zeros(n)
            row[i], row[var[("p", p)]] = 1.0, -1.0
            a_ub.append(row)
            b_ub.append(0.0)
        else:
            bounds[i] = (0.0, pop(p))
    kwargs: dict[str, Any] = {"bounds": bounds, "method": "highs"}
    if a_eq:
        kwargs.update(A_eq=np.array(a_eq), b_eq=np.array(b_eq))
    if a_ub:
        kwargs.update(A_ub=np.array(a_ub), b_ub=np.array(b_ub))

    def solve(c: np.ndarray) -> Any:
        return linprog(c, **kwargs)

    rng = np.random.default_rng(0)
    remaining = list(targets)
    for c in (np.ones(n), -np.ones(n), rng.standard_normal(n), rng.standard_normal(n)):
        result = solve(c)
        if result.status == 2:
            return None
        if result.status == 3:
            continue  # unbounded in that direction: says nothing by itself
        remaining = [t for t in remaining if abs(result.x[var[("x", t)]] - truth[t]) <= EPS]
        if not remaining:
            return []
    out = []
    for t in remaining:
        c = np.zeros(n)
        c[var[("x", t)]] = 1.0
        low = solve(c)
        c[var[("x", t)]] = -1.0
        high = solve(c)
        if low.status == 0 and high.status == 0 and -high.fun - low.fun <= EPS:
            out.append((t, truth[t], low.fun, -high.fun))
    return out


def lp_recovery(messages: Sequence[Msg], inputs: Mapping[str, Reference], params: Params) -> list[str]:
    """After every release, per period, table (and issue) and additive measure, from what a subscriber
    holds: no withheld non-zero count is exactly recoverable. Views whose relations are inconsistent
    (cells of different releases) are skipped; the first release of a period is always consistent."""
    del params
    out: set[str] = set()
    seen: set[Any] = set()
    for rid, fam, cells in new_families(described(messages)):
        measures = sorted({k for m in cells.values() for k in m.additive()})
        truths = {p: _true_additive(inputs[m.release_id], m) for p, m in cells.items()}
        for measure in measures:
            sig = (fam, measure, tuple(sorted((p, m.record[2]) for p, m in cells.items())))
            if sig in seen:
                continue
            seen.add(sig)
            truth = {p: t.get(measure, 0) for p, t in truths.items()}
            found = _recovered(cells, measure, truth)
            for p, value, low, high in found or []:
                out.add(f"recovered {fam} {p} {measure}={value} (LP range {low:.6f}..{high:.6f}) after {rid}")
    return sorted(out)


# --- 6: differencing between successive releases ----------------------------------------------------


def _contribution(ref: Reference, period: str, site: str) -> tuple[Any, ...]:
    s = ref.sites[site]
    severity = tuple(sorted(ref.severity.get((period, site), {}).items()))
    return (s.country, s.sector, severity, tuple(sorted(ref.indicators.get((period, site), set()))))


def _aq_contribution(ref: Reference, msg: Msg, site: str) -> Any:
    raw = ref.audit_quality.get(cell_key(**msg.coords), {}) if isinstance(ref, Input) else {}
    return raw.get("_contributions", {}).get(site)


def differing(before: Reference, after: Reference, msg_before: Msg, msg_after: Msg) -> set[str]:
    """Sites whose contribution to the cell differs between two inputs: added, removed or changed."""
    a, b = _population(before, msg_before), _population(after, msg_after)
    if msg_after.table == REMEDIATION:  # a site's findings in the cell, overdue state included
        key = cell_key(**msg_after.cell)
        old = _remediation(before).get(key, {}).get("_contributions", {})
        new = _remediation(after).get(key, {}).get("_contributions", {})
        return (a ^ b) | {s for s in a & b if old.get(s) != new.get(s)}
    period = msg_after.period
    if msg_after.table == AUDIT_QUALITY:
        old, new = msg_before, msg_after
        changed = {s for s in a & b if _aq_contribution(before, old, s) != _aq_contribution(after, new, s)}
        return (a ^ b) | changed
    changed = {s for s in a & b if _contribution(before, period, s) != _contribution(after, period, s)}
    return (a ^ b) | changed


def _shown(msg: Msg) -> int:
    """2 with outcomes, 1 population only, 0 suppressed."""
    if msg.status == "suppressed" or msg.measures is None:
        return 0
    outcomes = [v for k, v in msg.measures.items() if k not in POPULATION_MEASURES]
    return 2 if any(v is not None for v in outcomes) else 1


def differencing(messages: Sequence[Msg], inputs: Mapping[str, Reference], params: Params) -> list[str]:
    """Revision 2: a re-release must rest on >= k_delta differing sites, unless it only shows less
    (a status tightening, which may be sent at any release)."""
    messages = described(messages)
    out = []
    by_cell: dict[tuple[str, str], list[Msg]] = defaultdict(list)
    for m in messages:
        by_cell[m.key].append(m)
    for key, ms in sorted(by_cell.items()):
        ms.sort(key=lambda m: m.revision)
        if [m.revision for m in ms] != list(range(len(ms))):
            out.append(f"revisions of {key} are not 0..n: {[m.revision for m in ms]}")
        for old, new in pairwise(ms):
            if new.release_id <= old.release_id:
                out.append(f"revision {new.revision} of {key} not after revision {old.revision}")
                continue
            n = len(differing(inputs[old.release_id], inputs[new.release_id], old, new))
            if n < params.k_delta and _shown(new) >= _shown(old):
                out.append(
                    f"differencing {key}: revision {new.revision} @{new.release_id} after "
                    f"{old.revision} @{old.release_id} with {n} differing sites < {params.k_delta}"
                )
    return out


# --- 7: timing -----------------------------------------------------------------------------------------


def period_end(period: str) -> date:
    year = int(period[:4])
    month = 3 * int(period[-1]) + 1 if "Q" in period else int(period[5:]) + 1
    return date(year + 1, 1, 1) if month > 12 else date(year, month, 1)


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def timing(messages: Sequence[Msg], params: Params) -> list[str]:
    out = []
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for m in messages:
        release = _time(m.release_id)
        end = period_end(m.period)
        closes = datetime(end.year, end.month, end.day, tzinfo=UTC) + params.grace
        if release < closes:
            out.append(f"{m.table} {m.cell} released {m.release_id} before its period closes {closes}")
        if (release - epoch) % params.cadence:
            out.append(f"{m.table} {m.cell} released off the schedule at {m.release_id}")
        if _time(m.released_at) < release:
            out.append(f"{m.table} {m.cell} released_at {m.released_at} before its release {m.release_id}")
    return out


# --- 8: replays ----------------------------------------------------------------------------------------


def replays(first: Sequence[Record], again: Sequence[Record], what: str) -> list[str]:
    """Two plans of the same release must be byte-identical, records and order."""
    if list(first) == list(again):
        return []
    a, b = set(map(repr, first)), set(map(repr, again))
    only_first, only_again = len(a - b), len(b - a)
    return [
        f"{what}: {len(first)} vs {len(again)} records, {only_first} only in the first, "
        f"{only_again} only in the replay"
    ]


# --- 9: outcome-blind withholding ------------------------------------------------------------------


def outcome_blind(
    a: Mapping[Any, tuple[str, str | None]], b: Mapping[Any, tuple[str, str | None]]
) -> list[str]:
    """`a`, `b`: cell key -> (status, reason) decided from two inputs with the same sites and different
    findings. The statuses must agree except where the recovery rule fired in either."""
    out = []
    if set(a) != set(b):
        out.append(f"different cells: {len(set(a) ^ set(b))} keys differ")
    for key in sorted(set(a) & set(b)):
        (sa, ra), (sb, rb) = a[key], b[key]
        if sa != sb and "recovery" not in (ra, rb):
            out.append(f"outcome-dependent status of {key}: {sa} ({ra}) vs {sb} ({rb})")
    return out


# --- 10: hygiene ---------------------------------------------------------------------------------------


def hygiene(messages: Sequence[Msg], confidential: Iterable[str]) -> list[str]:
    out = []
    secrets = sorted({s for s in confidential if len(s) >= 6})
    for m in messages:
        _topic, key, value, headers = m.record
        raw = key + b" " + value + b" " + b" ".join(v for _, v in headers)
        if hit := PSEUDONYM.search(raw):
            out.append(f"pseudonym {hit.group()!r} in {m.table} {m.cell}")
        # ce_id is a UUIDv5 of table, key, release and revision: 32 hex digits can hold a six-digit
        # postcode by chance (one did: '208084'), which says nothing about the feed.
        text = (key + b" " + value + b" " + b" ".join(v for n, v in headers if n != "ce_id")).decode("utf-8")
        leaked = [s for s in secrets if s in text]
        if leaked:
            out.append(f"confidential strings {leaked[:3]} in {m.table} {m.cell}")
        doc = json.loads(value)
        times = {doc.pop("release_id"), doc.pop("released_at")}
        rest = json.dumps(doc) + key.decode()
        if hit2 := DATE_TEXT.search(rest):
            out.append(f"event time {hit2.group()!r} in {m.table} {m.cell}")
        for name, header in headers:
            if name == "ce_time" and header.decode() not in times:
                out.append(f"ce_time {header!r} is not a release time in {m.table} {m.cell}")
            elif name != "ce_time" and DATE_TEXT.search(header.decode("utf-8", "replace")):
                out.append(f"time in header {name} of {m.table} {m.cell}")
    return out
