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

2. **Release duration.** The clock is then moved to 2027-01-01T00:00:00Z (POST `/clock`), which
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

import argparse
import asyncio
import gc
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import (
    Header,
    create_temp_topics,
    free_port,
    log_tail,
    metric_samples,
    produce_values,
    rss_mib,
    spawn_service,
    unique_topic_names,
)
from bench.inprocess import (
    PUBLIC_TOPICS,
    RELEASE_AT,
    build_state,
    normalized_records,
    plan,
    public_messages,
)
from bench.passthrough import child_env, run_passthrough
from bench.plan_at_scale import ScaleRun, scale_run, time_plan
from schemas.exchange.aggregates import TABLES
from services.aggregate.__main__ import topic_specs
from services.aggregate.population import INPUT_TOPICS
from services.aggregate.settings import AggregateSettings
from services.compacted import high_watermarks
from services.kafka_auth import client_options
from services.normalize.engine import Record
from services.topics import delete_topics

PARTITIONS = 6
HOLD_CLOCK_AT = "2020-01-01T00:00:00Z"  # before the feed: the first slot releases nothing


# --- the service ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRun:
    records: int
    consume_seconds: float
    consume_rss_mib: float  # service's peak RSS once everything was consumed
    release_wall_seconds: float  # POST /clock -> /health.last_release changed
    release_metric_seconds: float  # sx_aggregate_release_duration_seconds, this release
    release_rss_mib: float  # service's peak RSS after the release
    public_messages: int


async def _metrics(client: httpx.AsyncClient, port: int) -> dict[str, float]:
    """Every sample of `/metrics`, summed over labels."""
    out: dict[str, float] = defaultdict(float)
    for name, _, value in await metric_samples(client, port, timeout=60.0):
        out[name] += value
    return out


async def _health(client: httpx.AsyncClient, port: int) -> dict[str, Any]:
    report: dict[str, Any] = (await client.get(f"http://127.0.0.1:{port}/health", timeout=2.0)).json()
    return report


async def _last_release(client: httpx.AsyncClient, port: int) -> Any:
    """`/health`'s last release. The service plans in a worker thread and keeps answering; the long
    timeout covers a loop briefly busy with the transactional write of a large release."""
    report = (await client.get(f"http://127.0.0.1:{port}/health", timeout=600.0)).json()
    return report["last_release"]


async def _wait_ready(
    client: httpx.AsyncClient, port: int, worker: asyncio.subprocess.Process, timeout: float
) -> None:
    """Until the service has read its (empty) inputs, holds the release lease and has made its first
    (empty) release."""
    deadline = time.monotonic() + timeout
    held = datetime.fromisoformat(HOLD_CLOCK_AT).isoformat()
    while time.monotonic() < deadline:
        if worker.returncode is not None:
            raise RuntimeError(f"aggregate exited with {worker.returncode} before it was ready")
        try:
            report = await _health(client, port)
            if (
                report.get("status") == "ok"
                and report.get("inputs") == "following"
                and report.get("role") == "leader"
                and report.get("last_release") == held
            ):
                return
        except (httpx.HTTPError, ValueError):
            pass
        await asyncio.sleep(0.2)  # polling the health endpoint
    raise TimeoutError("aggregate did not take the lease (or make its first slot) in time")


async def _count_committed(bootstrap: str, topic: str) -> int:
    """Committed records on `topic`, every one (not the latest per key), read to the high watermark."""
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    ends = await high_watermarks(bootstrap, tps)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_options(),
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    n = 0
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + 120
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                n += len(records)
    finally:
        await consumer.stop()
    return n


async def _produce(bootstrap: str, prefix: str, records: Sequence[Record]) -> None:
    """Each input topic by its own producer, records in their order (so each key's last value wins)."""
    by_topic: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_topic[r.topic].append(r)

    def send(topic: str, rs: list[Record]) -> Any:
        def headers_of(i: int) -> list[Header]:
            return list(rs[i].headers)

        values: list[Any] = [(r.key.encode(), r.value) for r in rs]  # value None: a tombstone
        return produce_values(bootstrap, prefix + topic, values, headers_of)

    await asyncio.gather(*(send(t, rs) for t, rs in by_topic.items()))


async def run_aggregate(bootstrap: str, records: Sequence[Record], expected_public: int) -> ServiceRun:
    """One run of the real aggregate service on fresh topics, deleted afterwards.

    Raises unless the service consumed exactly the records sent, none of them unreadable, and the
    release wrote exactly the public messages the in-process plan predicts.
    """
    inputs, outputs = unique_topic_names("aggregate", "in", "out")
    settings = AggregateSettings(
        bootstrap_servers=bootstrap, input_prefix=f"{inputs}.", topic_prefix=f"{outputs}."
    )
    input_topics = [settings.input_topic(t) for t in INPUT_TOPICS]
    owned = [spec.name for spec in topic_specs(settings)]
    app_id = f"bench-aggregate-{uuid.uuid4().hex[:10]}"
    port = free_port()
    n = len(records)
    worker: asyncio.subprocess.Process | None = None

    await create_temp_topics(bootstrap, input_topics, PARTITIONS)
    with tempfile.TemporaryDirectory(prefix="bench-aggregate-") as data_dir:
        env = {
            **child_env(),
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "AGGREGATE_APP_ID": app_id,
            "AGGREGATE_WEB_PORT": str(port),
            "AGGREGATE_DATA_DIR": data_dir,
            "AGGREGATE_INPUT_PREFIX": settings.input_prefix,
            "AGGREGATE_TOPIC_PREFIX": settings.topic_prefix,
            "AGGREGATE_NOW": HOLD_CLOCK_AT,
            "AGGREGATE_MANUAL_CLOCK": "true",
            "AGGREGATE_TICK_SECONDS": "0.1",
            "AGGREGATE_LOG_LEVEL": "warning",
        }
        log_path = os.path.join(data_dir, "aggregate.log")
        try:
            async with httpx.AsyncClient() as client:
                worker = await spawn_service("services.aggregate", env, log_path)
                await _wait_ready(client, port, worker, timeout=90)

                started = time.perf_counter()
                sender = asyncio.create_task(_produce(bootstrap, settings.input_prefix, records))
                deadline = time.monotonic() + 120 + n / 500
                while True:
                    if worker.returncode is not None:
                        raise RuntimeError(f"aggregate exited early with {worker.returncode}")
                    if sender.done():
                        sender.result()  # surface send errors
                    m = await _metrics(client, port)
                    seen = m["sx_aggregate_records_consumed_total"] + m["sx_aggregate_records_invalid_total"]
                    if seen >= n:
                        finished = time.perf_counter()
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"aggregate consumed {seen:.0f} of {n} records in time")
                    await asyncio.sleep(0.1)  # polling the metrics endpoint
                await sender
                await asyncio.sleep(1.0)  # anything beyond n (a duplicate) would show now
                m = await _metrics(client, port)
                consumed = int(m["sx_aggregate_records_consumed_total"])
                invalid = int(m["sx_aggregate_records_invalid_total"])
                if consumed != n or invalid:
                    raise RuntimeError(f"aggregate consumed {consumed} ({invalid} unreadable) of {n} sent")
                consume_rss = rss_mib(worker.pid).peak

                before = m["sx_aggregate_release_duration_seconds_sum"]
                held = (await _health(client, port))["last_release"]
                t0 = time.perf_counter()
                response = await client.post(
                    f"http://127.0.0.1:{port}/clock",
                    params={"now": RELEASE_AT.isoformat().replace("+00:00", "Z")},
                    timeout=5.0,
                )
                response.raise_for_status()
                release_deadline = time.monotonic() + 600
                while await _last_release(client, port) == held:
                    if worker.returncode is not None or time.monotonic() > release_deadline:
                        raise RuntimeError("aggregate did not release")
                    await asyncio.sleep(0.02)  # polling the health endpoint
                release_wall = time.perf_counter() - t0
                m = await _metrics(client, port)
                release_metric = m["sx_aggregate_release_duration_seconds_sum"] - before
                sent_metric = int(m["sx_aggregate_cells_sent_total"])
                release_rss = rss_mib(worker.pid).peak

            worker.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(worker.wait(), timeout=60)
            if code != 0:
                raise RuntimeError(f"aggregate exited with {code}")
            written = sum([await _count_committed(bootstrap, settings.topic(t)) for t in PUBLIC_TOPICS])
            if not written == sent_metric == expected_public:
                raise RuntimeError(
                    f"public messages: {written} on the topics, {sent_metric} by the metrics, "
                    f"{expected_public} planned in-process"
                )
            return ServiceRun(
                n,
                finished - started,
                consume_rss,
                release_wall,
                release_metric,
                release_rss,
                written,
            )
        except BaseException:
            print("aggregate's log, last lines:\n" + log_tail(log_path), file=sys.stderr)
            raise
        finally:
            if worker is not None and worker.returncode is None:
                worker.kill()
                await worker.wait()
            await delete_topics(bootstrap, [*input_topics, *owned])


# --- output ---------------------------------------------------------------------------------------------


def table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Names left, numbers right, as `bench.harness.format_table`; latency columns left out on purpose."""
    grid = [list(headings), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in grid) for i in range(len(headings))]
    return "\n".join(
        "  ".join(
            [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        ).rstrip()
        for r in grid
    )


def report(base: Any, service: ServiceRun, events: int, scale: ScaleRun) -> str:
    rate = service.records / service.consume_seconds
    lines = [
        f"input: {events:,} accepted events -> {service.records:,} records on aggregate's 5 input topics",
        "",
        table(
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
        table(
            ("release at 2027-01-01 (service)", "public msgs", "wall s", "metric s", "peak RSS MiB"),
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
        table(
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
) -> tuple[Any, ServiceRun]:
    values = [r.value or b"" for r in records]
    baseline = await run_passthrough(bootstrap, len(values), values.__getitem__)
    return baseline, await run_aggregate(bootstrap, records, expected_public)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.aggregate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=50_000, help="accepted events behind the service run")
    parser.add_argument(
        "--scale-events",
        type=int,
        default=None,
        help="accepted events for the in-process plan; default --events",
    )
    parser.add_argument(
        "--bootstrap", default=None, help="default $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092"
    )
    args = parser.parse_args(argv)
    from services.topics import bootstrap_servers

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
    base, service = asyncio.run(
        measure_service(args.bootstrap or bootstrap_servers(), records, expected_public)
    )
    if scale_events != args.events:
        del records
        gc.collect()
        scale = scale_run(scale_events)
    print(report(base, service, args.events, scale))


if __name__ == "__main__":
    main()
