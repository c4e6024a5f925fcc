"""An insider attacker on the published `issue-prevalence`, `forced-labour`, `labour-relations` and
`remediation` messages, written from
aggregates.md ("Population", "Merged identities", "Tables", "Message format", "Disclosure control"
revision 2) and NOT from the engine: nothing here imports `services.aggregate` or reuses its bounds,
patterns or relations. The engine's own recovery check is exactly what this file must be able to
contradict, so sharing code with it would make the test vacuous.

The attacker is any single member company or supplier company, with merged identities (member
references sharing an LEI, directly or through a chain, are one member; the supplier references that
own one resolved site are one supplier, transitively), or an outsider with no site at all. It keeps
every message ever published and knows its own sites' contribution to every cell at every release.

Three checks, each on the ground truth of every release time (`Snapshot`, computed by the caller from
its own model of the world, never by the engine):

* `recovery`: for each release time t and family (table, period, issue), an integer program over the
  additive relations visible at t. Unknowns are the counts and populations of every cell whose value
  was not published *at t* (a cell held at an old value is unknown at t: the attacker cannot know it is
  unchanged); published values of t are constants. A withheld count that the IP pins (min == max),
  whose others' part (true value minus the attacker's own) is non-zero and new (never published, or
  different from the others' part in the cell's latest earlier outcome message) is a violation.
* `differencing`: two successive outcome messages of one cell that differ must be explained by at
  least k_delta real sites (a site is a set of platform sites: a re-resolution is no change, a merge
  or split is one change) that pass the insider rule as a set; so must two successive messages that
  show different populations of one cell, whatever was sent between them (a suppression in between
  takes nothing away from what the subscriber holds).
* `primary`: every published message passes the threshold, insider (merged identities) and outcome
  rules on the truth of its release time.

A fourth kind, `mismatch`, reports a published value that differs from the truth: the attacker's
model would then be unsound, and so is the release.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]

from schemas.taxonomy import ForcedLabourIndicator

Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
Pos = tuple[str, str]  # (country, sector)
FamilyKey = tuple[str, str, str]  # (table, period, issue or "")
Vec = NDArray[np.float64]

# Written from the contract (aggregates.md), not imported from the engine's registry: this attacker
# reuses nothing of the code it judges, down to the names of what it reads.
TOPIC_PREFIX: Final = "exchange.aggregates."
ISSUE_PREVALENCE: Final = "issue-prevalence"
FORCED_LABOUR: Final = "forced-labour"
LABOUR_RELATIONS: Final = "labour-relations"
REMEDIATION: Final = "remediation"
AUDIT_QUALITY: Final = "audit-quality"
ALL: Final = "ALL"
UNSEEN: Final = "?"  # every country (sector) the attacker has never seen in a message, as one row
POP: Final = "audited_sites"  # internally: every table's population measure, under this one name
POPULATION_OF: Final[Mapping[str, str]] = {REMEDIATION: "findings"}  # what a table's message calls it
SEVERITIES: Final = ("critical", "major", "minor")
INDICATORS: Final = tuple(i.value for i in ForcedLabourIndicator)
COUNTS: Final[Mapping[str, tuple[str, ...]]] = {
    ISSUE_PREVALENCE: ("sites_with_issue", *(f"by_severity.{s}" for s in SEVERITIES)),
    FORCED_LABOUR: ("sites_with_indicator", *(f"by_indicator.{i}" for i in INDICATORS)),
    # Four independent counts: of the audited sites, those whose latest audit shows each flag.
    LABOUR_RELATIONS: (
        "sites_with_union",
        "sites_with_worker_committee",
        "sites_with_collective_agreement",
        "sites_with_grievance_mechanism",
    ),
    # Findings, not sites: closed, closed on time (which the share and `closed` give away), overdue.
    REMEDIATION: ("closed", "closed_on_time", "open_overdue"),
    # The counts behind its shares, read back with the published `audits` (aggregates.md: shares are
    # one decimal; at these sizes a share of a known count gives the count). Its population measure
    # for the program is `audits` (held under POP), which bounds every count; `sites` is checked by
    # `primary`. Its family is (table, period, audit firm) and it has no sector: cells sit at ALL.
    AUDIT_QUALITY: ("unannounced", "semi_announced", "zero_finding", "below_minimum_days"),
}
AQ_SHARES: Final = {
    "unannounced": "unannounced_pct",
    "semi_announced": "semi_announced_pct",
    "zero_finding": "zero_finding_pct",
    "below_minimum_days": "below_minimum_days_pct",
}
SITE_TABLES: Final = frozenset({REMEDIATION, AUDIT_QUALITY})  # no sector: country margin only
MIN_PRINCIPALS: Final = 3
BIG: Final = 100_000.0  # an upper bound no population reaches; the attacker knows no tighter one


# --- what the caller gives: truth per release, and the records -------------------------------------------


@dataclass(frozen=True, slots=True)
class PeriodFacts:
    """One contributing site's current audits of one period, merged: highest severity per issue, and
    the forced-labour indicators of any finding."""

    severity: Mapping[str, str]  # issue -> "critical" | "major" | "minor"
    indicators: frozenset[str]
    # The latest audit's labour-relations flags as four 0/1 digits: union, worker committee,
    # collective agreement, grievance mechanism.
    voice: str = "0000"
    # remediation, at the snapshot's time: issue -> one token per finding with a corrective action on
    # a current audit of the period: "c<days>+" / "c<days>-" closed on time / late (days from the audit's
    # end), "o!" open and overdue, "o" open.
    remediation: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # audit-quality: per current audit of the period, (APSCA firm id, code): its announcement ("A", "S",
    # "U"), then "1"/"0" for no finding at all, then "1"/"0" for auditor-days below the minimum, then
    # ":" and its number of findings (the cell publishes their mean, so a site whose count changed has
    # a contribution that differs, aggregates.md "Revisions", though no additive count moves).
    audits: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """One contributing (resolved) site: its platform sites (its real identity across re-resolutions),
    country and sector, owners, principal owner, member references (member id, LEI or None), and its
    facts per period in which it has a current audit."""

    platform_sites: frozenset[str]
    country: str
    sector: str
    owners: frozenset[str]
    principal: str
    member_refs: frozenset[tuple[str, str | None]]
    periods: Mapping[str, PeriodFacts]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The contributing sites at one release time, by resolved site id."""

    at: str
    sites: Mapping[str, SiteFacts]


@dataclass(frozen=True, slots=True)
class Release:
    """One release: its id (release time), the truth then, and its public records."""

    at: str
    snapshot: Snapshot
    records: Sequence[Record]


@dataclass(frozen=True, slots=True)
class Params:
    k_sites: int = 5
    k_insider: int = 3
    outcome_min: int = 20
    k_delta: int = 5
    audit_quality_min_sites: int = 10

    def min_sites(self, table: str) -> int:
        return self.audit_quality_min_sites if table == AUDIT_QUALITY else self.k_sites


@dataclass(frozen=True, slots=True)
class Attacker:
    """A merged member or supplier (its references), or an outsider (no references)."""

    kind: Literal["supplier", "member", "outsider"]
    refs: frozenset[str]

    def __str__(self) -> str:
        if self.kind == "outsider":
            return "outsider"
        return f"{self.kind}[{','.join(sorted(r[-6:] for r in self.refs))}]"

    def owns(self, site: SiteFacts) -> bool:
        if self.kind == "supplier":
            return not self.refs.isdisjoint(site.owners)
        if self.kind == "member":
            return any(
                m in self.refs or (lei is not None and lei in self.refs) for m, lei in site.member_refs
            )
        return False


OUTSIDER: Final = Attacker("outsider", frozenset())


@dataclass(frozen=True, slots=True)
class Violation:
    kind: Literal["recovery", "differencing", "primary", "mismatch"]
    release: str
    cell: str
    detail: str
    attacker: str = ""

    def __str__(self) -> str:
        who = f" by {self.attacker}" if self.attacker else ""
        return f"{self.kind} at {self.release} in {self.cell}{who}: {self.detail}"


# --- messages -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One public message, parsed: flattened values (population and additive counts) or None."""

    table: str
    cell: tuple[tuple[str, str], ...]
    release: int  # index of its release in the history
    revision: int
    values: Mapping[str, int] | None  # None: suppressed
    outcomes: bool  # outcome measures shown

    @property
    def family(self) -> FamilyKey:
        c = dict(self.cell)
        return (self.table, c["period"], c.get("issue", c.get("audit_firm", "")))

    @property
    def pos(self) -> Pos:
        c = dict(self.cell)
        return (c["country"], c.get("sector", ALL))

    def label(self) -> str:
        return f"{self.table}{dict(self.cell)}"


def _count_of(share: float, denominator: int) -> int:
    """The count a published one-decimal share of `denominator` was made from (half up)."""
    hits = [
        n
        for n in range(denominator + 1)
        if (2000 * n + denominator) // (2 * denominator) == round(share * 10)
    ]
    assert len(hits) == 1, (share, denominator)
    return hits[0]


def _flatten(table: str, measures: Mapping[str, object] | None) -> tuple[dict[str, int] | None, bool]:
    if measures is None:
        return None, False
    if table == AUDIT_QUALITY:
        audits = int(measures["audits"])  # type: ignore[call-overload]
        values = {POP: audits, "sites": int(measures["sites"])}  # type: ignore[call-overload]
        if measures.get("unannounced_pct") is None:
            return values, False
        for name, share in AQ_SHARES.items():
            values[name] = _count_of(float(measures[share]), audits)  # type: ignore[arg-type]
        return values, True
    values = {POP: int(measures[POPULATION_OF.get(table, POP)])}  # type: ignore[call-overload]
    head = COUNTS[table][0]
    if measures.get(head) is None:
        return values, False
    if table == REMEDIATION:
        closed, on_time_share = int(measures["closed"]), measures["closed_on_time_pct"]  # type: ignore[call-overload]
        on_time = 0 if on_time_share is None else round(float(on_time_share) * closed / 100)  # type: ignore[arg-type]
        values.update(closed=closed, closed_on_time=on_time, open_overdue=int(measures["open_overdue"]))  # type: ignore[call-overload]
        return values, True
    for name in COUNTS[table]:
        if "." in name:
            group, key = name.split(".", 1)
            values[name] = int(measures[group][key])  # type: ignore[index]
        else:
            values[name] = int(measures[name])  # type: ignore[call-overload]
    return values, True


def parse(history: Sequence[Release]) -> list[Message]:
    """Every message of the two tables, in release order (records of other topics are ignored)."""
    out = []
    for index, release in enumerate(history):
        for topic, _, value, _ in release.records:
            if not topic.startswith(TOPIC_PREFIX):
                continue
            doc = json.loads(value)
            if doc["table"] not in COUNTS:
                continue
            values, outcomes = _flatten(doc["table"], doc["measures"])
            cell = tuple(sorted((k, v) for k, v in doc["cell"].items() if k != "audit_firm_name"))
            out.append(Message(doc["table"], cell, index, doc["revision"], values, outcomes))
    return out


# --- truth ----------------------------------------------------------------------------------------------


def _token(table: str, issue: str, facts: PeriodFacts) -> str:
    """What a site brings to a cell of the family: its highest severity on the issue, or its indicators."""
    if table == ISSUE_PREVALENCE:
        return facts.severity.get(issue, "")
    if table == LABOUR_RELATIONS:
        return facts.voice
    if table == REMEDIATION:
        return ",".join(sorted(facts.remediation.get(issue, ())))
    if table == AUDIT_QUALITY:  # `issue` is the firm: its audits' codes ("" when it has none)
        return ",".join(sorted(code for firm, code in facts.audits if firm == issue))
    return ",".join(sorted(facts.indicators))


def values_of(table: str, tokens: Iterable[str]) -> dict[str, int]:
    """The population and additive counts of a cell whose sites bring these tokens."""
    ts = list(tokens)
    if table == REMEDIATION:
        findings = [f for t in ts for f in t.split(",")]
        return {
            POP: len(findings),
            "closed": sum(1 for f in findings if f.startswith("c")),
            "closed_on_time": sum(1 for f in findings if f.startswith("c") and f.endswith("+")),
            "open_overdue": findings.count("o!"),
        }
    if table == AUDIT_QUALITY:
        codes = [c for t in ts for c in t.split(",") if c]
        return {
            POP: len(codes),  # audits
            "sites": len(ts),
            "unannounced": sum(1 for c in codes if c[0] == "U"),
            "semi_announced": sum(1 for c in codes if c[0] == "S"),
            "zero_finding": sum(1 for c in codes if c[1] == "1"),
            "below_minimum_days": sum(1 for c in codes if c[2] == "1"),
        }
    if table == LABOUR_RELATIONS:
        return {
            POP: len(ts),
            **{name: sum(1 for t in ts if t[i] == "1") for i, name in enumerate(COUNTS[table])},
        }
    out = {POP: len(ts), COUNTS[table][0]: sum(1 for t in ts if t)}
    if table == ISSUE_PREVALENCE:
        out.update({f"by_severity.{s}": ts.count(s) for s in SEVERITIES})
    else:
        sets = [set(t.split(",")) if t else set() for t in ts]
        out.update({f"by_indicator.{i}": sum(1 for s in sets if i in s) for i in INDICATORS})
    return out


def positions_of(site: SiteFacts, table: str = ISSUE_PREVALENCE) -> tuple[Pos, ...]:
    if table in SITE_TABLES:
        return ((site.country, ALL), (ALL, ALL))
    return ((site.country, site.sector), (site.country, ALL), (ALL, site.sector), (ALL, ALL))


def cell_tokens(
    snapshot: Snapshot, family: FamilyKey, only: Iterable[str] | None = None
) -> dict[Pos, dict[str, str]]:
    """Position -> resolved site id -> token, for the family's cells at the snapshot (or `only`
    those sites)."""
    table, period, issue = family
    out: dict[Pos, dict[str, str]] = defaultdict(dict)
    for rid in snapshot.sites if only is None else only:
        site = snapshot.sites[rid]
        facts = site.periods.get(period)
        if facts is None:
            continue
        token = _token(table, issue, facts)
        if table in SITE_TABLES and not token:
            continue  # no finding with an action on the issue, no audit by the firm: not in the cell
        for pos in positions_of(site, table):
            out[pos][rid] = token
    return dict(out)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[frozenset[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for x in list(self.parent):
            out[self.find(x)].add(x)
        return [frozenset(g) for g in out.values()]


@dataclass(slots=True)
class Identities:
    """Merged suppliers and members (aggregates.md "Merged identities") over one or more snapshots."""

    suppliers: _UnionFind = field(default_factory=_UnionFind)
    members: _UnionFind = field(default_factory=_UnionFind)

    @classmethod
    def of(cls, snapshots: Iterable[Snapshot]) -> Identities:
        ids = cls()
        for snapshot in snapshots:
            for site in snapshot.sites.values():
                owners = sorted(site.owners)
                for owner in owners:
                    ids.suppliers.union(owners[0], owner)
                for member, lei in site.member_refs:
                    ids.members.find(member)
                    if lei is not None:
                        ids.members.union(member, lei)
        return ids

    def supplier_roots(self, site: SiteFacts) -> set[str]:
        return {self.suppliers.find(o) for o in site.owners}

    def member_roots(self, site: SiteFacts) -> set[str]:
        return {self.members.find(m) for m, _ in site.member_refs}

    def worst_insider(self, sites: Sequence[SiteFacts]) -> tuple[int, str]:
        """The most sites any one merged supplier owns / member is linked to, and who (for messages)."""
        counts: Counter[str] = Counter()
        for site in sites:
            counts.update(f"supplier {r[-6:]}" for r in self.supplier_roots(site))
            counts.update(f"member {r[-6:]}" for r in self.member_roots(site))
        if not counts:
            return 0, "nobody"
        who, n = counts.most_common(1)[0]
        return n, who


def attackers(history: Sequence[Release]) -> list[Attacker]:
    """The outsider, and every merged supplier and member of any release's snapshot."""
    out: dict[tuple[str, frozenset[str]], Attacker] = {}
    for release in history:
        ids = Identities.of([release.snapshot])
        for group in ids.suppliers.groups():
            out.setdefault(("supplier", group), Attacker("supplier", group))
        for group in ids.members.groups():
            out.setdefault(("member", group), Attacker("member", group))
    return [OUTSIDER, *sorted(out.values(), key=lambda a: (a.kind, sorted(a.refs)))]


# --- primary --------------------------------------------------------------------------------------------


def primary(history: Sequence[Release], params: Params = Params()) -> list[Violation]:
    """Every published message against the threshold, insider and outcome rules on the truth of its
    release, with merged identities; and its population against the truth (`mismatch`)."""
    out: list[Violation] = []
    ids_at = [Identities.of([r.snapshot]) for r in history]
    for m in parse(history):
        if m.values is None:
            continue
        release = history[m.release]
        tokens = cell_tokens(release.snapshot, m.family).get(m.pos, {})
        sites = [release.snapshot.sites[rid] for rid in tokens]
        n = len(sites)  # the rules count sites, whatever the population measure counts
        at, cell = release.at, m.label()
        if m.table == AUDIT_QUALITY:  # its population measure for the program counts audits
            population, expected = m.values["sites"], n
        else:
            population, expected = m.values[POP], values_of(m.table, tokens.values())[POP]
        if population != expected:
            out.append(Violation("mismatch", at, cell, f"population {population} but truth {expected}"))
            continue
        ids = ids_at[m.release]
        principals = {ids.suppliers.find(s.principal) for s in sites}
        if n < params.min_sites(m.table) or len(principals) < MIN_PRINCIPALS:
            out.append(Violation("primary", at, cell, f"threshold: {n} sites, {len(principals)} principals"))
        most, who = ids.worst_insider(sites)
        if n - most < params.k_insider:
            out.append(Violation("primary", at, cell, f"insider: {who} has {most} of {n} sites"))
        if m.outcomes and n < params.outcome_min:
            out.append(Violation("primary", at, cell, f"outcomes shown with {n} sites"))
    return out


# --- differencing ---------------------------------------------------------------------------------------


def changed_sites(before: Snapshot, after: Snapshot, family: FamilyKey, pos: Pos) -> list[list[SiteFacts]]:
    """The real sites whose contribution to one cell differs between two snapshots. A real site is a
    connected set of platform sites (linked by sharing a resolved site at either time), so a new
    resolved id is no change and a merge or split is one site; it changed when the tokens its resolved
    sites bring differ (as multisets). Each is returned as its resolved sites' facts (both times)."""
    t1 = cell_tokens(before, family).get(pos, {})
    t2 = cell_tokens(after, family).get(pos, {})
    uf = _UnionFind()
    for snapshot, tokens in ((before, t1), (after, t2)):
        for rid in tokens:
            ps = sorted(snapshot.sites[rid].platform_sites)
            for p in ps:
                uf.union(ps[0], p)
    bags: dict[str, list[Counter[str]]] = defaultdict(lambda: [Counter(), Counter()])
    facts: dict[str, list[SiteFacts]] = defaultdict(list)
    for i, (snapshot, tokens) in enumerate(((before, t1), (after, t2))):
        for rid, token in tokens.items():
            site = snapshot.sites[rid]
            root = uf.find(next(iter(site.platform_sites)))
            bags[root][i][token] += 1
            facts[root].append(site)
    return [facts[root] for root, (c1, c2) in bags.items() if c1 != c2]


def _change_violation(
    history: Sequence[Release], prev: Message, m: Message, what: str, params: Params
) -> Violation | None:
    """Two messages of one cell that differ in `what` they show: the real sites behind the change must
    number at least k_delta, and no one merged supplier or member may account for all but fewer than
    k_insider of them."""
    before, after = history[prev.release].snapshot, history[m.release].snapshot
    changed = changed_sites(before, after, m.family, m.pos)
    ids = Identities.of([before, after])
    n = len(changed)
    # A changed real site belongs to a company if any of its resolved sites (either time) does.
    counts: Counter[str] = Counter()
    for facts in changed:
        who = set()
        for site in facts:
            who |= {f"supplier {r[-6:]}" for r in ids.supplier_roots(site)}
            who |= {f"member {r[-6:]}" for r in ids.member_roots(site)}
        counts.update(who)
    whom, most = counts.most_common(1)[0] if counts else ("nobody", 0)
    old = prev.values or {}
    diff = {k: (old.get(k), v) for k, v in (m.values or {}).items() if old.get(k) != v}
    detail = f"{what}: revision {prev.revision}->{m.revision} changes {diff} with {n} real sites changed"
    if n < params.k_delta:
        return Violation("differencing", history[m.release].at, m.label(), f"{detail} (< k_delta)")
    if n - most < params.k_insider:
        return Violation("differencing", history[m.release].at, m.label(), f"{detail}, {most} by {whom}")
    return None


def _population(m: Message) -> dict[str, int]:
    """The population measures a message shows (audit-quality's two, every other table's one)."""
    return {k: v for k, v in (m.values or {}).items() if k in (POP, "sites")}


def differencing(history: Sequence[Release], params: Params = Params()) -> list[Violation]:
    """Each outcome message against the cell's latest earlier outcome message, and each message showing
    a population against the cell's latest earlier message showing one (a suppressed message in
    between hides nothing the subscriber already holds): whatever differs must be explained by a
    change the revision rule allows (`_change_violation`)."""
    out: list[Violation] = []
    last_outcomes: dict[tuple[str, tuple[tuple[str, str], ...]], Message] = {}
    last_population: dict[tuple[str, tuple[tuple[str, str], ...]], Message] = {}
    for m in parse(history):
        key = (m.table, m.cell)
        if m.values is not None:
            prev = last_population.get(key)
            last_population[key] = m
            if prev is not None and prev.release != m.release and _population(prev) != _population(m):
                found = _change_violation(history, prev, m, "population", params)
                if found is not None:
                    out.append(found)
        if not m.outcomes:
            continue
        prev = last_outcomes.get(key)
        last_outcomes[key] = m
        if prev is None or prev.values == m.values or prev.release == m.release:
            continue
        found = _change_violation(history, prev, m, "outcomes", params)
        if found is not None:
            out.append(found)
    return out


# --- recovery: the integer program ------------------------------------------------------------------------


@dataclass
class _Problem:
    """One family at one release time: the relations the attacker sees, attacker-independent. Each
    unknown is (position, measure); constants are the values published at t. Rows are kept as term
    lists so that the attacker's own bounds can be added per attacker."""

    table: str
    positions: list[Pos]
    var: dict[tuple[Pos, str], int]
    const: dict[tuple[Pos, str], int]
    eq_rows: list[tuple[dict[int, float], float]]
    ub_rows: list[tuple[dict[int, float], float, tuple[Pos, str] | None]]  # (terms, rhs, own-count term)
    sent_lb: dict[Pos, float]  # population lower bound from "the cell was sent"
    truth: Vec

    @cached_property
    def a_eq(self) -> NDArray[np.float64]:
        return self._matrix([r[0] for r in self.eq_rows])

    @cached_property
    def a_ub(self) -> NDArray[np.float64]:
        return self._matrix([r[0] for r in self.ub_rows])

    def _matrix(self, rows: list[dict[int, float]]) -> NDArray[np.float64]:
        a = np.zeros((len(rows), len(self.var)))
        for i, terms in enumerate(rows):
            for j, coef in terms.items():
                a[i, j] = coef
        return a


def _model_pos(pos: Pos, countries: set[str], sectors: set[str]) -> Pos:
    c, s = pos
    return (c if c == ALL or c in countries else UNSEEN, s if s == ALL or s in sectors else UNSEEN)


def _aggregate(
    values: Mapping[Pos, Mapping[str, int]], countries: set[str], sectors: set[str]
) -> dict[Pos, Counter[str]]:
    out: dict[Pos, Counter[str]] = defaultdict(Counter)
    for pos, vals in values.items():
        out[_model_pos(pos, countries, sectors)].update(vals)
    return out


def _build(
    table: str,
    msgs_so_far: Sequence[Message],
    at_t: Mapping[Pos, Message],
    truth: Mapping[Pos, Mapping[str, int]],
) -> _Problem:
    countries = {m.pos[0] for m in msgs_so_far} - {ALL}
    sectors = {m.pos[1] for m in msgs_so_far} - {ALL}
    rows = [*sorted(countries), UNSEEN]
    cols = [*sorted(sectors), UNSEEN]
    measures = (POP, *COUNTS[table])
    ever_sent = {m.pos for m in msgs_so_far}
    model_truth = _aggregate(truth, countries, sectors)
    # The cells the attacker reasons about: those it has seen, and those that truly have sites now
    # (a cell never sent, or a country or sector never seen, as the UNSEEN row or column). Leaving
    # out a cell that has no site is the attacker's natural guess that it has seen every cell; when
    # the guess is right the values it pins are right, so the leak is real; when it is wrong (a
    # cell exists unseen) the cell is in the program, so nothing is pinned wrongly.
    positions = [
        (c, s)
        for c in [*rows, ALL]
        for s in [*cols, ALL]
        if (c, s) in ever_sent or model_truth.get((c, s), Counter())[POP] > 0
    ]
    present = set(positions)
    var: dict[tuple[Pos, str], int] = {}
    const: dict[tuple[Pos, str], int] = {}
    for pos in positions:
        m = at_t.get(pos)
        for name in measures:
            shown = m is not None and m.values is not None and (name == POP or m.outcomes)
            if shown:
                assert m is not None and m.values is not None
                const[(pos, name)] = m.values[name]
            else:
                var[(pos, name)] = len(var)

    def terms(items: Iterable[tuple[float, tuple[Pos, str]]]) -> tuple[dict[int, float], float]:
        t: dict[int, float] = defaultdict(float)
        rhs = 0.0
        for coef, key in items:
            if key in var:
                t[var[key]] += coef
            else:
                rhs -= coef * const[key]
        return dict(t), rhs

    eq_rows: list[tuple[dict[int, float], float]] = []
    ub_rows: list[tuple[dict[int, float], float, tuple[Pos, str] | None]] = []

    def eq(items: Iterable[tuple[float, tuple[Pos, str]]]) -> None:
        listed = list(items)
        if listed[0][1][0] not in present:
            return  # no margin, hence no child either (a child with sites, or sent, has its margins)
        t, rhs = terms(i for i in listed if i[1][0] in present)
        if t:
            eq_rows.append((t, rhs))

    for name in measures:
        eq([(1.0, ((ALL, ALL), name)), *((-1.0, ((c, ALL), name)) for c in rows)])
        if table in SITE_TABLES:
            continue  # no sector: the country margin is the only relation
        for c in rows:  # country x ALL = sum over sectors
            eq([(1.0, ((c, ALL), name)), *((-1.0, ((c, s), name)) for s in cols)])
        for s in cols:  # ALL x sector = sum over countries
            eq([(1.0, ((ALL, s), name)), *((-1.0, ((c, s), name)) for c in rows)])
        eq([(1.0, ((ALL, ALL), name)), *((-1.0, ((ALL, s), name)) for s in cols)])
    head, parts = COUNTS[table][0], COUNTS[table][1:]
    for pos in positions:
        if table == ISSUE_PREVALENCE:  # critical + major + minor = sites_with_issue
            eq([(1.0, (pos, head)), *((-1.0, (pos, p)) for p in parts)])
        elif table == FORCED_LABOUR:  # by_indicator.X <= sites_with_indicator <= sum of by_indicator
            for p in parts:
                t, rhs = terms([(1.0, (pos, p)), (-1.0, (pos, head))])
                if t:
                    ub_rows.append((t, rhs, None))
            t, rhs = terms([(1.0, (pos, head)), *((-1.0, (pos, p)) for p in parts)])
            if t:
                ub_rows.append((t, rhs, None))
        elif table == REMEDIATION:  # on time <= closed; closed + overdue <= findings
            for items in (
                [(1.0, (pos, "closed_on_time")), (-1.0, (pos, "closed"))],
                [(1.0, (pos, "closed")), (1.0, (pos, "open_overdue")), (-1.0, (pos, POP))],
            ):
                t, rhs = terms(items)
                if t:
                    ub_rows.append((t, rhs, None))
        for name in COUNTS[table]:  # count - own count <= population - own population
            t, rhs = terms([(1.0, (pos, name)), (-1.0, (pos, POP))])
            if t:
                ub_rows.append((t, rhs, (pos, name)))
    sent_lb = {
        pos: float(min(1, model_truth.get(pos, Counter())[POP])) for pos in positions if pos in ever_sent
    }
    x = np.zeros(len(var))
    for (pos, name), j in var.items():
        x[j] = model_truth.get(pos, Counter())[name]
    return _Problem(table, positions, var, const, eq_rows, ub_rows, sent_lb, x)


@dataclass(slots=True)
class _Solver:
    """Pins for one problem, per attacker (own bounds), sharing integer witnesses between attackers."""

    problem: _Problem
    pool: list[Vec] = field(default_factory=list)
    cache: dict[bytes, frozenset[int]] = field(default_factory=dict)

    def pinned(self, own: Mapping[Pos, Mapping[str, int]], candidates: Sequence[int]) -> frozenset[int]:
        p = self.problem
        lb = np.zeros(len(p.var))
        for (pos, name), j in p.var.items():
            o = own.get(pos, {}).get(name, 0)
            lb[j] = max(o, p.sent_lb.get(pos, 0.0)) if name == POP else o
        rhs_ub = np.array(
            [
                rhs
                + (
                    0
                    if term is None
                    else own.get(term[0], {}).get(term[1], 0) - own.get(term[0], {}).get(POP, 0)
                )
                for _, rhs, term in p.ub_rows
            ]
        )
        key = lb.tobytes() + rhs_ub.tobytes() + np.array(sorted(candidates)).tobytes()
        if key in self.cache:
            return self.cache[key]
        x = p.truth
        b_eq = np.array([r[1] for r in p.eq_rows])
        if not (
            np.all(x >= lb - 1e-9)
            and np.allclose(p.a_eq @ x, b_eq)
            and (len(p.ub_rows) == 0 or np.all(p.a_ub @ x <= rhs_ub + 1e-9))
        ):
            raise AssertionError("the truth does not satisfy the attacker's relations: the model is unsound")
        constraints = []
        if len(p.eq_rows):
            constraints.append(LinearConstraint(p.a_eq, b_eq, b_eq))
        if len(p.ub_rows):
            constraints.append(LinearConstraint(p.a_ub, -np.inf, rhs_ub))
        bounds = Bounds(lb, np.full(len(p.var), BIG))

        def feasible(w: Vec) -> bool:
            return bool(
                np.all(w >= lb - 1e-9) and (len(p.ub_rows) == 0 or np.all(p.a_ub @ w <= rhs_ub + 1e-6))
            )

        remaining = set(candidates)

        def eliminate(w: Vec) -> None:
            remaining.difference_update({j for j in remaining if abs(w[j] - x[j]) > 0.5})

        for w in self.pool:
            if feasible(w):
                eliminate(w)

        def solve(objective: Vec) -> Vec:
            res = milp(objective, integrality=np.ones(len(p.var)), bounds=bounds, constraints=constraints)
            if res.x is None:
                raise AssertionError(f"integer program failed: {res.message}")
            w: Vec = np.asarray(np.round(res.x), dtype=np.float64)
            self.pool.append(w)
            eliminate(w)
            return w

        if len(remaining) > 1:
            for sign in (-1.0, 1.0):
                c = np.zeros(len(p.var))
                c[sorted(remaining)] = sign
                solve(c)
        pins: set[int] = set()
        while remaining:
            j = min(remaining)
            for sign in (-1.0, 1.0):
                if j not in remaining:
                    break
                c = np.zeros(len(p.var))
                c[j] = sign
                solve(c)
            if j in remaining:
                pins.add(j)
                remaining.discard(j)
        result = frozenset(pins)
        self.cache[key] = result
        return result


def _own_values(
    snapshot: Snapshot, attacker: Attacker, family: FamilyKey, own_rids: Sequence[str]
) -> dict[Pos, dict[str, int]]:
    tokens = cell_tokens(snapshot, family, own_rids)
    return {pos: values_of(family[0], t.values()) for pos, t in tokens.items()}


def recovery(
    history: Sequence[Release], params: Params = Params(), who: Sequence[Attacker] | None = None
) -> list[Violation]:
    """Withheld non-zero counts an attacker pins exactly at some release time (see the module doc).
    `who` defaults to `attackers(history)`. `params` is unused by the program itself (the bounds are
    the contract's), kept for a uniform signature."""
    del params
    messages = parse(history)
    who = attackers(history) if who is None else who
    by_family: dict[FamilyKey, list[Message]] = defaultdict(list)
    for m in messages:
        by_family[m.family].append(m)
    own_rids: dict[tuple[int, Attacker], list[str]] = {}

    def rids(i: int, a: Attacker) -> list[str]:
        if (i, a) not in own_rids:
            own_rids[(i, a)] = [rid for rid, s in history[i].snapshot.sites.items() if a.owns(s)]
        return own_rids[(i, a)]

    out: list[Violation] = []
    for family, msgs in sorted(by_family.items()):
        table = family[0]
        for i, release in enumerate(history):
            at_t = {m.pos: m for m in msgs if m.release == i and m.values is not None}
            if not at_t:
                continue  # nothing published at t: every count can be its own part alone
            so_far = [m for m in msgs if m.release <= i]
            truth = {
                pos: values_of(table, t.values()) for pos, t in cell_tokens(release.snapshot, family).items()
            }
            bad = [
                f"{m.label()} {k}={v} but truth {truth.get(pos, {}).get(k, 0)}"
                for pos, m in at_t.items()
                for k, v in (m.values or {}).items()
                if (k == POP or m.outcomes) and truth.get(pos, {}).get(k, 0) != v
            ]
            if bad:
                out.append(Violation("mismatch", release.at, str(family), "; ".join(bad[:3])))
                continue
            problem = _build(table, so_far, at_t, truth)
            solver = _Solver(problem)
            countries = {m.pos[0] for m in so_far} - {ALL}
            sectors = {m.pos[1] for m in so_far} - {ALL}
            counts = [(key, j) for key, j in problem.var.items() if key[1] != POP]
            for attacker in who:
                own = _own_values(release.snapshot, attacker, family, rids(i, attacker))
                own_model = _aggregate(own, countries, sectors)
                candidates = [
                    j
                    for (pos, name), j in counts
                    if problem.truth[j] - own_model.get(pos, Counter())[name] != 0
                ]
                if not candidates:
                    continue
                for j in sorted(solver.pinned(own_model, candidates)):
                    (pos, name) = next(k for k, v in problem.var.items() if v == j)
                    others = int(problem.truth[j]) - own_model.get(pos, Counter())[name]
                    previous = [m for m in so_far if m.pos == pos and m.outcomes and m.release < i]
                    if previous:
                        last = previous[-1]
                        assert last.values is not None
                        then = _own_values(
                            history[last.release].snapshot, attacker, family, rids(last.release, attacker)
                        )
                        others_then = last.values[name] - then.get(pos, {}).get(name, 0)
                        if others_then == others:
                            continue
                        news = f"others' part {others_then}->{others} since {history[last.release].at}"
                    else:
                        news = f"others' part {others}, never published"
                    cell = (
                        f"{table}{{period={family[1]}, country={pos[0]}, sector={pos[1]}, issue={family[2]}}}"
                    )
                    out.append(
                        Violation("recovery", release.at, cell, f"{name} pinned; {news}", str(attacker))
                    )
    return out


def attack(
    history: Sequence[Release], params: Params = Params(), who: Sequence[Attacker] | None = None
) -> list[Violation]:
    """Everything: primary, differencing and recovery (mismatches included)."""
    return [*primary(history, params), *differencing(history, params), *recovery(history, params, who)]


def summary(violations: Sequence[Violation], limit: int = 8) -> str:
    """A short text for assertion messages."""
    lines = [str(v) for v in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"... and {len(violations) - limit} more")
    return "\n".join(lines)


def iter_cells(history: Sequence[Release]) -> Iterator[tuple[str, Message]]:
    """(release id, message) of every parsed message, for tests that look at patterns."""
    for m in parse(history):
        yield history[m.release].at, m
