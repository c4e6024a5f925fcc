"""An attacker on `capacity-building`'s rates across tables, written from aggregates.md and NOT from the
engine: nothing here imports `services.aggregate`.

What the contract tells a subscriber (aggregates.md, `capacity-building` and `issue-prevalence`): for a
period P and topic T, the trained and untrained groups of a country are a split of the country's sites
audited in P+1, which is the population of the issue-prevalence cell (P+1, country, ALL, T); the `ALL`
margin's groups are the unions of the countries' groups. So, with t_c and u_c the groups' counts of
sites with a finding on T,

    t_c + u_c = sites_with_issue of (P+1, c, ALL, T)          when that count is published
    sum_c t_c + sum_c u_c = sites_with_issue of (P+1, ALL, ALL, T)
    t_c = the count a shown `issue_rate_trained_pct` gives with the group's size (likewise u_c)
    sum_c t_c = the count the `ALL` cell's trained rate gives (likewise the untrained one)

The attacker is given every group's size (aggregates.md: population counts are not what the exchange
keeps secret; an insider knows its own sites, and `audited_sites`, `sites_trained` bound them), and,
as any single member or supplier company, its own sites' group and finding (bounds on each count).
For every count that the view does not show (a withheld rate of a group that is not the whole of its
country, or a withheld issue-prevalence count) it solves min and max by linear programming; a count
pinned to one integer whose others' part (the count minus the attacker's own) is not zero is a
violation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from scipy.optimize import linprog  # type: ignore[import-untyped]

ALL: Final = "ALL"
CB_TOPIC: Final = "exchange.aggregates.capacity-building.v1"
IP_TOPIC: Final = "exchange.aggregates.issue-prevalence.v1"
RATE: Final = {"t": "issue_rate_trained_pct", "u": "issue_rate_untrained_pct"}


@dataclass(frozen=True)
class SiteTruth:
    """One site audited in the next period: its country, whether it was trained on the topic in the
    period, whether it has a finding on the topic in the next period, and the companies behind it."""

    country: str
    trained: bool
    finding: bool
    parties: frozenset[str]


def pct(numerator: int, denominator: int) -> float:
    exact = Decimal(100 * numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def view(records: Iterable[tuple[str, bytes, bytes, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(topic, key) -> the latest message (what a subscriber holds)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for topic, key, value, _ in records:
        out[(topic, key.decode())] = json.loads(value)
    return out


def _key(**coords: str) -> str:
    return json.dumps(coords, sort_keys=True, separators=(",", ":"))


def _measure(held: Mapping[tuple[str, str], dict[str, Any]], topic: str, key: str, name: str) -> Any:
    message = held.get((topic, key))
    if message is None or message["measures"] is None:
        return None
    return message["measures"].get(name)


def attack(
    held: Mapping[tuple[str, str], dict[str, Any]],
    period: str,
    next_period: str,
    topic: str,
    truth: Mapping[str, SiteTruth],
    attackers: Iterable[str] | None = None,
) -> list[str]:
    """Every pinned withheld count of one (period, topic), for every attacker (and an outsider);
    `attackers` narrows the companies tried (the outsider is always tried)."""
    countries = sorted({s.country for s in truth.values()})
    variables = [(c, g) for c in countries for g in ("t", "u")]
    index = {v: i for i, v in enumerate(variables)}

    def members(c: str, g: str) -> list[SiteTruth]:
        return [s for s in truth.values() if (c == ALL or s.country == c) and s.trained == (g == "t")]

    def row(c: str, groups: Sequence[str]) -> list[float]:
        out = [0.0] * len(variables)
        for country in countries if c == ALL else [c]:
            for g in groups:
                out[index[(country, g)]] = 1.0
        return out

    eq_rows: list[list[float]] = []
    eq_rhs: list[float] = []
    targets: list[tuple[str, list[float], list[SiteTruth]]] = []
    for c in [*countries, ALL]:
        ip = _measure(
            held, IP_TOPIC, _key(country=c, issue=topic, period=next_period, sector=ALL), "sites_with_issue"
        )
        if ip is not None:
            eq_rows.append(row(c, ("t", "u")))
            eq_rhs.append(float(ip))
        else:
            targets.append(
                (
                    f"issue-prevalence {next_period} {c} {topic}",
                    row(c, ("t", "u")),
                    members(c, "t") + members(c, "u"),
                )
            )
        sizes = {g: len(members(c, g)) for g in ("t", "u")}
        for g, name in RATE.items():
            rate = _measure(held, CB_TOPIC, _key(country=c, period=period, topic=topic), name)
            if rate is not None:
                fits = [k for k in range(sizes[g] + 1) if pct(k, sizes[g]) == rate]
                assert fits, f"{c} {g}: a published rate no count gives"
                if len(fits) == 1:
                    eq_rows.append(row(c, (g,)))
                    eq_rhs.append(float(fits[0]))
            elif sizes[g] and all(sizes.values()):
                targets.append((f"capacity-building {period} {c} {topic} {g}", row(c, (g,)), members(c, g)))

    everyone = {p for s in truth.values() for p in s.parties}
    tried = [*sorted(everyone if attackers is None else set(attackers) & everyone), ""]
    found: list[str] = []
    for attacker in tried:
        lower, upper = [], []
        for c, g in variables:
            group = members(c, g)
            own = [s for s in group if attacker in s.parties]
            lower.append(float(sum(s.finding for s in own)))
            upper.append(float(len(group) - sum(not s.finding for s in own)))
        for name, objective, sites in targets:
            bounds = list(zip(lower, upper, strict=True))
            lo = linprog(objective, A_eq=eq_rows or None, b_eq=eq_rhs or None, bounds=bounds, method="highs")
            hi = linprog(
                [-x for x in objective],
                A_eq=eq_rows or None,
                b_eq=eq_rhs or None,
                bounds=bounds,
                method="highs",
            )
            if lo.status != 0 or hi.status != 0:
                found.append(f"{name}: the published values are inconsistent ({attacker or 'outsider'})")
                continue
            if math.ceil(lo.fun - 1e-6) != math.floor(-hi.fun + 1e-6):
                continue
            value = sum(s.finding for s in sites)
            mine = sum(s.finding for s in sites if attacker in s.parties)
            if value - mine != 0:
                who = attacker or "an outsider"
                found.append(f"{name}: pinned at {value} by {who} (others' part {value - mine})")
    return found


# --- over a release history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    k_sites: int = 5
    k_insider: int = 3
    outcome_min: int = 20
    k_delta: int = 5


def _parties(site: Any) -> frozenset[str]:
    """A reference site's companies: its owners and its members (`reference.ResolvedSite`)."""
    return frozenset({*site.owners, *site.members})


def _passes(sites: set[str], ref: Any, rules: Rules, *, outcomes: bool) -> bool:
    """aggregates.md's threshold, insider and (for outcomes) outcome rules, on the reference's sites."""
    if len(sites) < rules.k_sites or len({ref.sites[s].principal_owner for s in sites}) < 3:
        return False
    for who in {p for s in sites for p in _parties(ref.sites[s])}:
        if sum(1 for s in sites if who not in _parties(ref.sites[s])) < rules.k_insider:
            return False
    return not outcomes or len(sites) >= rules.outcome_min


def history(
    releases: Sequence[tuple[str, Sequence[tuple[str, bytes, bytes, Any]]]],
    capacity: Mapping[str, Mapping[str, dict[str, Any]]],
    refs: Mapping[str, Any],
    rules: Rules = Rules(),
    insiders: int = 5,
) -> list[str]:
    """Every capacity-building message of a release history against the contract: its values equal the
    reference (`reference_capacity_building`) at its release; a shown cell's trained sites pass the
    threshold and insider rules; a shown rate's group passes threshold, insider and outcome_min; and,
    after every release, the cross-table attack above on each (period, topic) sent in it (the outsider
    and the `insiders` companies with the most sites in the groups)."""
    found: list[str] = []
    held: dict[tuple[str, str], dict[str, Any]] = {}
    for rid, records in releases:
        held.update(view(records))
        ref, cap = refs[rid], capacity[rid]
        sent: set[tuple[str, str]] = set()
        for topic, key, value, _ in records:
            if topic != CB_TOPIC:
                continue
            msg, raw = json.loads(value), cap.get(key.decode())
            if raw is None:
                found.append(f"{key.decode()} @{rid}: sent but not in the reference")
                continue
            sent.add((msg["cell"]["period"], msg["cell"]["topic"]))
            m = msg["measures"]
            if m is None:
                continue
            if (m["sites_trained"], m["participants"]) != (raw["sites_trained"], raw["participants"]):
                found.append(f"{key.decode()} @{rid}: population {m} != reference")
            if not _passes(set(raw["_sites"]), ref, rules, outcomes=False):
                found.append(f"{key.decode()} @{rid}: shown, its trained sites fail the rules")
            for g, name in RATE.items():
                if m[name] is None:
                    continue
                if m[name] != raw[name]:
                    found.append(f"{key.decode()} @{rid}: {name} {m[name]} != reference {raw[name]}")
                group = set(raw["_trained_group" if g == "t" else "_untrained_group"])
                if not _passes(group, ref, rules, outcomes=True):
                    found.append(f"{key.decode()} @{rid}: {name} shown, its group fails the rules")
        for period, topic in sorted(sent):
            margin = cap.get(_key(country=ALL, period=period, topic=topic))
            if margin is None or not (margin["_trained_group"] or margin["_untrained_group"]):
                continue
            after = _next_period(period)
            truth = {
                s: SiteTruth(
                    ref.sites[s].country,
                    s in margin["_trained_group"],
                    topic in ref.severity.get((after, s), {}),
                    _parties(ref.sites[s]),
                )
                for s in (*margin["_trained_group"], *margin["_untrained_group"])
            }
            weight: dict[str, int] = {}
            for t in truth.values():
                for p in t.parties:
                    weight[p] = weight.get(p, 0) + 1
            busiest = sorted(weight, key=lambda p: (-weight[p], p))[:insiders]
            found += [f"@{rid}: {f}" for f in attack(held, period, after, topic, truth, busiest)]
    return found


def _next_period(period: str) -> str:
    year, rest = period.split("-")
    if rest.startswith("Q"):
        q = int(rest[1:])
        return f"{int(year) + (q == 4)}-Q{q % 4 + 1}"
    m = int(rest)
    return f"{int(year) + (m == 12)}-{m % 12 + 1:02d}"
