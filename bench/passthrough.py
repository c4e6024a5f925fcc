"""Baseline: the cheapest correct consume-and-produce loop aiokafka allows.

Every stream processor in the exchange does at least this much (read, write with acks=all, commit only what
was written), so its throughput, latency and memory are the floor against which the real services are
judged: a service's cost above this line is its own. The loop runs in a child process so its peak RSS is
measured alone, not mixed with the harness's producer, reader and the benchmark's input values.

    python -m bench.passthrough --events 100000 [--rate 20000] [--size 200]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from bench import command
from bench.harness import (
    Result,
    create_temp_topics,
    format_table,
    produce_values,
    rss_mib,
    unique_topic_names,
    warmup_of,
)
from bench.output import output_size, read_output, send_and_read
from bench.service import child_env, stop
from services.kafka_auth import client_options
from services.topics import delete_topics

PARTITIONS = 6
READY = "ready"


class _ReadyWhenAssigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Announces readiness on stdout once the group gave us partitions, so the timed run excludes joining."""

    def __init__(self) -> None:
        self.announced = False

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned and not self.announced:
            self.announced = True
            print(READY, flush=True)


async def pass_through(bootstrap: str, source: str, sink: str, group_id: str, stop: asyncio.Event) -> int:
    """Copies source to sink (value, key, headers) until `stop`; returns the number of records copied.

    Offsets are committed only after the whole batch is acknowledged by the idempotent acks=all producer, so a
    crash can duplicate but never lose a record: the at-least-once contract the real services keep too.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_options(),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_options(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    consumer.subscribe([source], listener=_ReadyWhenAssigned())
    await producer.start()
    await consumer.start()
    copied = 0
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=5_000)
            if not batches:
                continue
            futures = [
                await producer.send(sink, r.value, key=r.key, headers=list(r.headers))
                for records in batches.values()
                for r in records
            ]
            await asyncio.gather(*futures)
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
            copied += len(futures)
    finally:
        await consumer.stop()
        await producer.stop()
    return copied


async def _worker_main(bootstrap: str, source: str, sink: str, group_id: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    copied = await pass_through(bootstrap, source, sink, group_id, stop)
    print(f"copied {copied}", file=sys.stderr, flush=True)


def default_value(i: int, size: int = 200) -> bytes:
    """A JSON-ish payload of roughly `size` bytes, unique per index so loss and duplication are detectable."""
    head = b'{"seq":%d,"pad":"' % i
    return head + b"x" * max(0, size - len(head) - 2) + b'"}'


async def run_passthrough(
    bootstrap: str,
    n_messages: int,
    value_factory: Callable[[int], bytes] = default_value,
    *,
    rate_per_s: float | None = None,
    received: list[bytes] | None = None,
    timeout_s: float | None = None,
) -> Result:
    """Runs the baseline once on fresh 6-partition topics and deletes them afterwards.

    The clock runs from the first input send to the last output arrival, so it covers the whole pipeline.
    The result's RSS is the worker process's peak. `received` (if given) gets every output value, for
    correctness checks. Raises if the output topic holds other than `n_messages` records, because a
    figure from a run that lost or duplicated data would be meaningless.
    """
    source, sink = unique_topic_names("passthrough", "in", "out")
    group_id = f"bench.passthrough.{uuid.uuid4().hex[:10]}"
    values = [(b"site-%d" % (i % 1024), value_factory(i)) for i in range(n_messages)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (timeout_s if timeout_s is not None else 60 + n_messages / 1_000)
    worker: asyncio.subprocess.Process | None = None
    await create_temp_topics(bootstrap, [source, sink], PARTITIONS)
    try:
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.passthrough",
            "--worker",
            bootstrap,
            source,
            sink,
            group_id,
            stdout=asyncio.subprocess.PIPE,
            env=child_env(),
        )
        assert worker.stdout is not None
        line = await asyncio.wait_for(worker.stdout.readline(), timeout=max(1.0, deadline - loop.time()))
        if line.decode().strip() != READY:
            raise RuntimeError(f"pass-through worker did not get partitions (said {line!r})")

        latencies, seconds = await send_and_read(
            read_output(bootstrap, sink, PARTITIONS, n_messages, deadline, worker, received),
            produce_values(bootstrap, source, values, rate_per_s=rate_per_s),
        )
        peak = rss_mib(worker.pid).peak

        await stop(worker, "pass-through worker", timeout=30)
        stored = await output_size(bootstrap, sink, PARTITIONS)
        if stored != n_messages:
            raise RuntimeError(f"output topic holds {stored} records for {n_messages} sent")
        return Result.measure(
            "aiokafka pass-through", n_messages, seconds, latencies, peak, warmup_of(rate_per_s)
        )
    finally:
        if worker is not None and worker.returncode is None:
            worker.kill()
            await worker.wait()
        await delete_topics(bootstrap, [source, sink])


def main(argv: list[str] | None = None) -> None:
    parser = command.parser("python -m bench.passthrough", __doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=200, help="value size in bytes")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="input events/s; default unthrottled (latency then mostly measures backlog)",
    )
    command.add_bootstrap(parser)
    parser.add_argument(
        "--worker", nargs=4, metavar=("BOOTSTRAP", "SOURCE", "SINK", "GROUP"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(_worker_main(*args.worker))
        return

    bootstrap = command.bootstrap(args)
    size: int = args.size
    result = asyncio.run(
        run_passthrough(bootstrap, args.events, lambda i: default_value(i, size), rate_per_s=args.rate)
    )
    print(format_table([result]))


if __name__ == "__main__":
    main()
