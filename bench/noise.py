"""What the differential-privacy mode costs in accuracy: `python -m bench.noise --events N`.

Builds aggregate's state in this process from the same simulator feed as `bench.utility`, then plans
the first release of every closed period with both tables in the differential-privacy mode, at each
budget of `--rho` (zCDP per period, shared by the two tables and three draws), and compares every
published outcome with the exact value of the same cell. Printed per table and level of the cell (a
country x sector leaf, a country or sector margin, the ALL x ALL total): the cells published with
outcomes beside the exact mode's (the same run's baseline), the mean absolute error of the headline
count (`sites_with_issue`, `sites_with_indicator`), its 90th percentile, and the mean absolute error of
`rate_pct` in percentage points for issue cells. One draw per run: figures move from run to run by
the noise itself, which is the point.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict

from bench.inprocess import build_state, normalized_records, plan
from schemas.exchange.aggregates import FORCED_LABOUR, ISSUE_PREVALENCE, LABOUR_RELATIONS
from services.aggregate.model import ALL, CellKey
from services.aggregate.noise import NOISY_TABLES, NoiseParams
from services.aggregate.planner import ReleasePlan
from services.aggregate.population import NormalizedState
from services.aggregate.tables import forced_labour, issue_prevalence

HEADLINE = {
    ISSUE_PREVALENCE: "sites_with_issue",
    FORCED_LABOUR: "sites_with_indicator",
    LABOUR_RELATIONS: "sites_with_grievance_mechanism",
}


def noisy_plan(state: NormalizedState, rho: float) -> ReleasePlan:
    return plan(state, NoiseParams(frozenset(NOISY_TABLES), rho_per_period=rho))


def level(key: CellKey) -> str:
    country, sector = key.get("country"), key.get("sector")
    if ALL not in (country, sector):
        return "leaf"
    if country == ALL and sector == ALL:
        return "total"
    return "country margin" if sector == ALL else "sector margin"


def errors(state: NormalizedState, p: ReleasePlan) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(table, level) -> per published cell: |error of the headline count|, |error of rate_pct|."""
    truth = {c.key: c for c in (*issue_prevalence(state), *forced_labour(state))}
    out: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for _, _, value, _ in p.published:
        message = json.loads(value)
        measures = message["measures"]
        table = message["table"]
        if table not in HEADLINE or not measures or measures.get(HEADLINE[table]) is None:
            continue
        key = CellKey.of(table, **message["cell"])
        exact = truth[key].outcomes
        count = abs(measures[HEADLINE[table]] - exact[HEADLINE[table]])
        rate = abs(measures["rate_pct"] - exact["rate_pct"]) if "rate_pct" in measures else 0.0
        out[(table, level(key))].append((count, rate))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rho", type=float, nargs="+", default=[0.5, 2.0, 8.0])
    args = parser.parse_args(argv)
    state, records = build_state(normalized_records(args.events))
    started = time.perf_counter()
    exact = plan(state)
    print(
        f"{args.events} events, {records} normalized records; exact plan "
        f"{time.perf_counter() - started:.1f} s"
    )
    for rho in args.rho:
        started = time.perf_counter()
        p = noisy_plan(state, rho)
        seconds = time.perf_counter() - started
        print(f"\nrho = {rho} per period (zCDP), plan {seconds:.1f} s")
        print(
            "| table | level | shown with outcomes (exact mode) | mean abs error | p90 abs error "
            "| rate_pct mean abs error (points) |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        shown_exact: dict[tuple[str, str], int] = defaultdict(int)
        for _, _, value, _ in exact.published:
            m = json.loads(value)
            if (
                m["table"] in HEADLINE
                and m["measures"]
                and m["measures"].get(HEADLINE[m["table"]]) is not None
            ):
                shown_exact[(m["table"], level(CellKey.of(m["table"], **m["cell"])))] += 1
        for (table, lvl), errs in sorted(errors(state, p).items()):
            counts = sorted(e for e, _ in errs)
            p90 = counts[int(0.9 * (len(counts) - 1))]
            rate = f"{statistics.fmean(r for _, r in errs):.1f}" if table == ISSUE_PREVALENCE else "-"
            print(
                f"| {table} | {lvl} | {len(errs)} ({shown_exact[(table, lvl)]}) | "
                f"{statistics.fmean(counts):.1f} | {p90} | {rate} |"
            )


if __name__ == "__main__":
    main()
