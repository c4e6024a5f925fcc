"""Aggregate throughput and release duration against the real broker, beside the aiokafka pass-through
baseline.

Aggregate is a state follower: it reads normalize's compacted topics into memory and produces
nothing while it reads; it writes only at scheduled releases. So there is no output per input to
time, and latency percentiles would mean nothing. This bench prints, instead, two figures per run:

1. **Consume rate of the service.** The input is what normalize writes, computed in this process
   (the simulator's feed of both platforms over a year, admitted as ingest admits it, then
   `services.normalize.engine.Normalizer` with the demo key, as `bench.normalize` does): only the
   records of aggregate's five input topics (platform sites, audits, consents, site resolution,
   resolved sites; tombstones included), sent to private 6-partition topics in their order. The
   service runs as in production (`python -m services.aggregate`, its own process, whose peak RSS is
   reported) with a manual clock held at 2020-01-01, before the feed, so it releases nothing while
   reading. The rate is the records sent over the time from the first send to the moment
   `sx_aggregate_records_consumed_total` on `/metrics` (polled every 0.1 s) reaches their number.
   The pass-through baseline copies the same record values (a tombstone as an empty value) in the
   same invocation; its latency is not shown either.

2. **Release duration.** The clock is then moved to `bench.inprocess.RELEASE_AT` (POST `/clock`), which
   closes every period of the feed; the figure is the time until `/health` reports the new
   `last_release` (polled every 20 ms; the service looks at its clock every 0.1 s), beside the
   service's own `sx_aggregate_release_duration_seconds` (plan plus transactional write). The public
   messages written are counted (committed records on both public topics) and must equal what
   `services.aggregate.planner.plan_release` gives in this process for the same state.

3. **Release at scale, in process.** `plan_release` (closed periods only, default disclosure
   parameters, quarterly) is timed on the state built in this process from `--scale-events`
   accepted events (default: the same as `--events`), with the cells, published and suppressed
   counts, and the bench process's RSS: before the plan and its peak during the plan (the kernel's
   high-water mark is reset just before it; `/proc/self/clear_refs`).

`events` are accepted envelopes, as in `bench.normalize` (about 14 per platform site and year). All
topics of a run, aggregate's prefixed outputs included, are deleted afterwards.

    python -m bench.aggregate --events 50000 [--scale-events 1000000]
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Sequence

# This module is the command and its report. The service run is bench.aggregate_service's, the
# in-process input and plan bench.inprocess's (still importable from here, as older callers do), the
# plan at scale bench.plan_at_scale's.
from bench import command
from bench.aggregate_service import ServiceRun, run_aggregate
from bench.harness import Result, aligned
from bench.inprocess import RELEASE_AT, build_state, normalized_records, plan, public_messages
from bench.passthrough import run_passthrough
from bench.plan_at_scale import ScaleRun, scale_run, time_plan
from schemas.exchange.aggregates import TABLES
from services.normalize.engine import Record


def report(base: Result, service: ServiceRun, events: int, scale: ScaleRun) -> str:
    rate = service.records / service.consume_seconds
    lines = [
        f"input: {events:,} accepted events -> {service.records:,} records on aggregate's 5 input topics",
        "",
        aligned(
            ("benchmark", "records", "seconds", "records/s", "peak RSS MiB"),
            [
                (
                    base.name,
                    f"{base.events:,d}",
                    f"{base.seconds:.2f}",
                    f"{base.events_per_s:,.0f}",
                    f"{base.rss_mib:.1f}",
                ),
                (
                    "aggregate consume (service)",
                    f"{service.records:,d}",
                    f"{service.consume_seconds:.2f}",
                    f"{rate:,.0f}",
                    f"{service.consume_rss_mib:.1f}",
                ),
            ],
        ),
        "",
        f"aggregate consumes at {rate / base.events_per_s:.0%} of the pass-through rate",
        "",
        aligned(
            (f"release at {RELEASE_AT.date()}", "public msgs", "wall s", "metric s", "peak RSS MiB"),
            [
                (
                    f"{events:,} events",
                    f"{service.public_messages:,d}",
                    f"{service.release_wall_seconds:.2f}",
                    f"{service.release_metric_seconds:.2f}",
                    f"{service.release_rss_mib:.1f}",
                )
            ],
        ),
        "",
    ]
    counts = [scale.plan.counts[t] for t in TABLES]
    cells = sum(c.cells for c in counts)
    published = sum(c.published_with_outcomes + c.published_population_only for c in counts)
    with_outcomes = sum(c.published_with_outcomes for c in counts)
    suppressed = sum(c.suppressed_primary + c.suppressed_secondary for c in counts)
    lines += [
        aligned(
            (
                "plan_release in-process",
                "records",
                "periods",
                "cells",
                "published",
                "w/ outcomes",
                "suppressed",
                "plan s",
                "RSS before",
                "plan peak RSS",
            ),
            [
                (
                    f"{scale.events:,} events",
                    f"{scale.records:,d}",
                    f"{len(scale.plan.periods)}",
                    f"{cells:,d}",
                    f"{published:,d}",
                    f"{with_outcomes:,d}",
                    f"{suppressed:,d}",
                    f"{scale.plan_seconds:.2f}",
                    f"{scale.rss_before_mib:.1f}",
                    f"{scale.plan_peak_mib:.1f}",
                )
            ],
        ),
        "",
        (
            f"state built in {scale.build_seconds:.0f} s (feed, admission, normalize in this process); "
            f"bench peak RSS before the plan {scale.run_peak_mib:.0f} MiB"
        ),
        f"(python {sys.version.split()[0]}, pid {os.getpid()})",
    ]
    return "\n".join(lines)


async def measure_service(
    bootstrap: str, records: Sequence[Record], expected_public: int
) -> tuple[Result, ServiceRun]:
    values = [r.value or b"" for r in records]
    baseline = await run_passthrough(bootstrap, len(values), values.__getitem__)
    return baseline, await run_aggregate(bootstrap, records, expected_public)


def main(argv: list[str] | None = None) -> None:
    parser = command.parser("python -m bench.aggregate", __doc__)
    parser.add_argument("--events", type=int, default=50_000, help="accepted events behind the service run")
    parser.add_argument(
        "--scale-events",
        type=int,
        default=None,
        help="accepted events for the in-process plan; default --events",
    )
    command.add_bootstrap(parser)
    args = parser.parse_args(argv)

    scale_events = args.scale_events or args.events
    started = time.perf_counter()
    records = list(normalized_records(args.events))
    state, n = build_state(records)
    built = time.perf_counter() - started
    if scale_events == args.events:
        scale = time_plan(args.events, state, n, built)
        expected_public = public_messages(scale.plan)
    else:
        expected_public = public_messages(plan(state))
    del state
    base, service = asyncio.run(measure_service(command.bootstrap(args), records, expected_public))
    if scale_events != args.events:
        del records
        gc.collect()
        scale = scale_run(scale_events)
    print(report(base, service, args.events, scale))


if __name__ == "__main__":
    main()
