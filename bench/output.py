"""Reading what the processor under test wrote: each output record's end-to-end latency, the time from
the first send to the last arrival, and how many records a topic holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import Latencies, sent_ns
from services.collector import collector_paused
from services.kafka_auth import client_options


async def send_and_read(
    read: Coroutine[Any, Any, tuple[Latencies, float]], send: Awaitable[object]
) -> tuple[Latencies, float]:
    """The timed part of a run: `read` (a `read_output`) follows the output while `send` sends the
    input; the latencies, and the seconds from the first send to the last arrival.

    The harness's cyclic collector is paused meanwhile. The harness holds the run's inputs, hundreds
    of thousands of objects. In one ingest run its paced sends stopped for 172 ms mid-run, and the
    wait for input was charged to ingest's latency. That did not recur with the collector paused
    (docs/performance.md, "Latency after the warm-up").
    """
    with collector_paused():
        started = time.perf_counter()
        reader = asyncio.create_task(read)
        try:
            await send
            latencies, finished = await reader
        finally:
            reader.cancel()
        return latencies, finished - started


async def read_output(
    bootstrap: str,
    topic: str,
    partitions: int,
    expected: int,
    deadline: float,
    worker: asyncio.subprocess.Process | None = None,
    received: list[bytes] | None = None,
    stamp_ns: Callable[[Any], int | None] | None = None,
    isolation_level: str = "read_uncommitted",
) -> tuple[Latencies, float]:
    """Reads `expected` records from the output; returns per-record latencies and the last arrival time.

    `stamp_ns(record)` gives the send time of the input behind an output record; by default the
    `bench_sent_ns` header, which a pass-through copies. Assigns partitions directly (no group) so the
    reader is live at once and its own join cannot delay or
    inflate the figures. Fails fast if the worker dies instead of waiting out the deadline.
    `isolation_level="read_committed"` for a transactional writer: a record counts once committed.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_options(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    await consumer.start()
    await consumer.seek_to_beginning(*tps)
    latencies = Latencies()
    last_arrival = time.perf_counter()
    loop = asyncio.get_running_loop()
    try:
        while len(latencies) < expected:
            if loop.time() > deadline:
                raise TimeoutError(
                    f"{len(latencies)} of {expected} records reached {topic} before the deadline"
                )
            if worker is not None and worker.returncode is not None:
                raise RuntimeError(f"worker under test exited early with {worker.returncode}")
            batches = await consumer.getmany(timeout_ms=200)
            now_ns = time.time_ns()
            for records in batches.values():
                for r in records:
                    stamp = sent_ns(r.headers) if stamp_ns is None else stamp_ns(r)
                    if stamp is None:
                        raise RuntimeError(
                            f"record at {r.topic}/{r.partition}@{r.offset} carries no send time"
                        )
                    latencies.add(stamp, now_ns)
                    if received is not None:
                        received.append(r.value)
            if batches:
                last_arrival = time.perf_counter()
        return latencies, last_arrival
    finally:
        await consumer.stop()


async def output_size(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_options(), group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(ends.values())
    finally:
        await consumer.stop()
