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
) -> list[str]:
    """Every pinned withheld count of one (period, topic), for every attacker (and an outsider)."""
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

    attackers = [*sorted({p for s in truth.values() for p in s.parties}), ""]
    found: list[str] = []
    for attacker in attackers:
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
