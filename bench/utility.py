"""What disclosure control costs: `python -m bench.utility --events N`.

Builds aggregate's state in this process from normalize's records for N accepted events (the same
simulator feed, engine and demo key as `bench.aggregate`), plans the first release of every closed
period (`bench.inprocess.plan`, at `bench.inprocess.RELEASE_AT`) and prints, per table, how many cells
the primary rules let show their outcomes and how many of those the secondary rules (residual,
recovery, the view) withheld. The last two columns count the cells that had outcomes under the
primary rules and that a secondary rule withheld first, by rule: `residual` (the residual rule on
current populations, and the view's residuals) or `recovery` (the view's exact sums, cells pinned by
the relations, the value LP); a cell the outcome rule had already limited keeps that primary reason
even when a secondary rule suppresses it later, so these two add up to at most the cells withheld
beyond the primary rules. No broker: the figures depend on the engine and the feed only, so
running the same command on two commits compares two engines on the same input.
"""

from __future__ import annotations

import argparse
import time

from bench.inprocess import build_state, normalized_records, plan
from schemas.exchange.aggregates import TABLES
from services.aggregate.settings import table_names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument(
        "--greedy",
        action="store_true",
        help="withhold smallest first, as before the cheapest-fix choice (DisclosureParams.minimal)",
    )
    parser.add_argument(
        "--value-recovery",
        default="",
        help="comma-separated tables whose recovery rule is the value LP of earlier releases instead of "
        "the contract's populations-only rule (DisclosureParams.value_recovery; not a service setting: "
        "it reads outcome values, attack 6), to measure what the contract's rule costs",
    )
    args = parser.parse_args(argv)
    by_values = table_names(args.value_recovery)
    state, records = build_state(normalized_records(args.events))
    started = time.perf_counter()
    release = plan(state, minimal=not args.greedy, value_recovery=by_values)
    seconds = time.perf_counter() - started
    mode = "smallest-first greedy" if args.greedy else "cheapest fix"
    if by_values:
        mode += f", value LP for {', '.join(sorted(by_values))}"
    print(f"{args.events} events, {records} normalized records, {mode}, plan {seconds:.1f} s")
    print(
        "| table | cells | passed primary | shown with outcomes | withheld beyond primary | share shown "
        "| first withheld by residual | first withheld by recovery |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for table in TABLES:
        c = release.counts[table]
        # Cells that lost something to a secondary rule: outcomes withheld, or suppressed though the
        # primary rules passed them.
        lost = c.outcomes_withheld_secondary + c.suppressed_secondary
        share = 100 * c.published_with_outcomes / max(1, c.published_with_outcomes + lost)
        print(
            f"| {table} | {c.cells} | {c.passed_primary} | {c.published_with_outcomes} | {lost} | "
            f"{share:.1f} % | {c.withheld_by.get('residual', 0)} | {c.withheld_by.get('recovery', 0)} |"
        )


if __name__ == "__main__":
    main()
