"""Aggregate under test: `python -m services.aggregate` in its own process on private topics, fed
normalize's records, then made to release (the first two figures of `bench.aggregate`).

The service reads its inputs on a manual clock held before the feed, so it releases nothing while
reading; the consume rate is the records sent over the time until its `/metrics` count them all. The
clock is then moved to `RELEASE_AT`, and the release is timed until `/health` reports it. The public
messages written must equal what the in-process plan predicts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from aiokafka import TopicPartition

from bench.harness import Header, produce_values, rss_mib, unique_topic_names
from bench.inprocess import PUBLIC_TOPICS, RELEASE_AT
from bench.service import metric_samples, stop, totals, under_test
from services.aggregate.__main__ import topic_specs
from services.aggregate.population import INPUT_TOPICS
from services.aggregate.settings import AggregateSettings
from services.compacted import from_the_start
from services.normalize.engine import Record

PARTITIONS = 6
HOLD_CLOCK_AT = "2020-01-01T00:00:00Z"  # before the feed: the first slot releases nothing


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
    """Every metric of `/metrics`, summed over labels."""
    return totals(await metric_samples(client, port, timeout=60.0))


async def _health(client: httpx.AsyncClient, port: int) -> dict[str, Any]:
    report: dict[str, Any] = (await client.get(f"http://127.0.0.1:{port}/health", timeout=2.0)).json()
    return report


async def _last_release(client: httpx.AsyncClient, port: int) -> Any:
    """`/health`'s last release. The service plans in a worker thread and keeps answering; the long
    timeout covers a loop briefly busy with the transactional write of a large release."""
    report = (await client.get(f"http://127.0.0.1:{port}/health", timeout=600.0)).json()
    return report["last_release"]


def ready(report: dict[str, Any]) -> bool:
    """The service has read its (empty) inputs, holds the release lease and has made its first (empty)
    release."""
    return (
        report.get("inputs") == "following"
        and report.get("role") == "leader"
        and report.get("last_release") == datetime.fromisoformat(HOLD_CLOCK_AT).isoformat()
    )


async def count_committed(bootstrap: str, topic: str) -> int:
    """Committed records on `topic`, every one (not the latest per key), read to the high watermarks."""
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    n = 0
    async with from_the_start(bootstrap, tps) as (consumer, ends):
        deadline = time.monotonic() + 120
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                n += len(records)
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
    async with under_test(
        "aggregate",
        bootstrap,
        f"bench-aggregate-{uuid.uuid4().hex[:10]}",
        {
            "AGGREGATE_INPUT_PREFIX": settings.input_prefix,
            "AGGREGATE_TOPIC_PREFIX": settings.topic_prefix,
            "AGGREGATE_NOW": HOLD_CLOCK_AT,
            "AGGREGATE_MANUAL_CLOCK": "true",
            "AGGREGATE_TICK_SECONDS": "0.1",
            "AGGREGATE_LOG_LEVEL": "warning",
        },
        ready,
        create=input_topics,
        partitions=PARTITIONS,
        delete=[*input_topics, *(spec.name for spec in topic_specs(settings))],
    ) as (worker, port):
        async with httpx.AsyncClient() as client:
            consume_seconds = await _consume(client, port, worker, bootstrap, settings, records)
            consume_rss = rss_mib(worker.pid).peak
            release_wall, release_metric, sent_metric = await release(client, port, worker)
            release_rss = rss_mib(worker.pid).peak
        await stop(worker, "aggregate")
        written = sum([await count_committed(bootstrap, settings.topic(t)) for t in PUBLIC_TOPICS])
        if not written == sent_metric == expected_public:
            raise RuntimeError(
                f"public messages: {written} on the topics, {sent_metric} by the metrics, "
                f"{expected_public} planned in-process"
            )
    return ServiceRun(
        len(records),
        consume_seconds,
        consume_rss,
        release_wall,
        release_metric,
        release_rss,
        written,
    )


async def _consume(
    client: httpx.AsyncClient,
    port: int,
    worker: asyncio.subprocess.Process,
    bootstrap: str,
    settings: AggregateSettings,
    records: Sequence[Record],
) -> float:
    """Sends `records` to the service's inputs; the seconds from the first send until its metrics count
    them all. Raises unless it consumed exactly those, none unreadable."""
    n = len(records)
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
    return finished - started


async def release(
    client: httpx.AsyncClient, port: int, worker: asyncio.subprocess.Process
) -> tuple[float, float, int]:
    """Moves the service's clock to RELEASE_AT; the seconds until `/health` reports the release, the
    release's duration by the service's metric, and the public messages it says it sent."""
    before = (await _metrics(client, port))["sx_aggregate_release_duration_seconds_sum"]
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
    return (
        release_wall,
        m["sx_aggregate_release_duration_seconds_sum"] - before,
        int(m["sx_aggregate_cells_sent_total"]),
    )
