"""Resident memory after a burst of ~1 MB messages (issue 14, defect 6):
`python -m bench.burst [--messages 500 --bytes 980000 --idle 15]`.

`python -m services.ingest` runs in its own process, once per configuration compared: faust's and
glibc's defaults (a stream buffer of 4,096 messages, glibc's dynamic mmap threshold), each bound alone,
and the configured defaults. A burst of messages just under the platforms' 1 MiB limit (a valid event
carrying one huge unknown field; every other one of a wrong type, dead-lettered in full) is published as fast
as the producer goes; with `--backlog` ingest is stopped (SIGSTOP) meanwhile and meets the whole burst
at once, its worst case for read-ahead. Printed per configuration: ingest's resident memory
before the burst, its peak, and after `--idle` seconds of quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.harness import rss_mib
from bench.ingest_service import IngestTopics, wait_consumed
from bench.service import free_port, service_env, spawn_service, wait_health
from schemas.topics import MAX_MESSAGE_BYTES
from services.kafka_auth import client_options
from services.topics import SEDEX_TOPIC, TopicSpec, bootstrap_servers, delete_topics, ensure_topics
from simulator.feed import generate_feed

CONFIGURATIONS: dict[str, dict[str, str]] = {
    "glibc's dynamic mmap threshold": {"INGEST_MALLOC_MMAP_THRESHOLD_BYTES": "0"},
    "ingest's defaults": {},
}


@dataclass(frozen=True)
class BurstRun:
    configuration: str
    messages: int
    seconds: float
    rss_before_mib: float
    rss_peak_mib: float
    rss_after_mib: float


def burst(messages: int, size: int, first: int = 0) -> list[tuple[bytes, bytes]]:
    base = next(
        m for m in generate_feed(3, 20, start=date(2025, 1, 1), months=1).messages if m.topic == SEDEX_TOPIC
    )
    out = []
    for i in range(first, first + messages):
        # Every other one valid (a new event id: forwarded, the padding ignored), the others of a wrong
        # type (dead-lettered with their whole value): both the fetch and the produce side carry 1 MB.
        obj = json.loads(base.value)
        obj["eventId"] = str(uuid.UUID(int=i))
        if i % 2:
            obj["entityVersion"] = "one"
        obj["padding"] = "x" * (size - len(base.value) - 20)
        out.append((base.key or b"", json.dumps(obj).encode()))
    return out


async def run_burst(
    bootstrap: str,
    configuration: str,
    extra_env: dict[str, str],
    bursts: list[list[tuple[bytes, bytes]]],
    idle: float,
    backlog: bool = False,
) -> BurstRun:
    run = f"burst-{uuid.uuid4().hex[:8]}"
    topics = IngestTopics.of(run)
    await ensure_topics(bootstrap, tuple(TopicSpec(t, 3) for t in topics.created))
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        env = {
            **service_env("ingest", bootstrap, f"{run}-ingest", port, Path(workdir) / "ingest"),
            "INGEST_PARTITIONS": "3",
            **topics.env(),
            "INGEST_LOG_LEVEL": "warning",
            **extra_env,
        }
        log = str(Path(workdir) / "ingest.log")
        worker = await spawn_service("services.ingest", env, log)
        try:
            await wait_health(
                port, worker, lambda report: report.get("assigned_partitions", 0) >= 6, 120, "ingest"
            )
            before = rss_mib(worker.pid).current
            started = time.monotonic()
            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap, **client_options(), max_request_size=MAX_MESSAGE_BYTES, acks=1
            )
            await producer.start()
            sent = 0
            try:
                for values in bursts:
                    # As a backlog, the whole burst waits in the topic when ingest reads again.
                    if backlog:
                        worker.send_signal(signal.SIGSTOP)
                    try:
                        for key, value in values:
                            await producer.send(topics.sedex, value, key=key)
                        await producer.flush()
                    finally:
                        if backlog:
                            worker.send_signal(signal.SIGCONT)
                    sent += len(values)
                    await wait_consumed(port, worker, log, sent)
            finally:
                await producer.stop()
            seconds = time.monotonic() - started
            await asyncio.sleep(idle)  # the quiet after the burst, whose resident memory is the question
            rss = rss_mib(worker.pid)
            return BurstRun(configuration, sent, seconds, before, rss.peak, rss.current)
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                await worker.wait()
            await delete_topics(bootstrap, topics.all)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=500, help="per burst")
    parser.add_argument("--bursts", type=int, default=1, help="bursts one after the other")
    parser.add_argument("--bytes", type=int, default=980_000, help="size of each message")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of quiet before the last reading")
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="stop ingest (SIGSTOP) while the burst is published, so it meets all of it at once",
    )
    args = parser.parse_args(argv)
    bursts = [burst(args.messages, args.bytes, b * args.messages) for b in range(args.bursts)]
    mode = "as a backlog (ingest stopped while it was published)" if args.backlog else "live"
    print(
        f"{args.bursts} burst(s) of {args.messages} messages of {args.bytes:,} bytes, {mode}, "
        f"{args.idle:.0f} s idle after"
    )
    print("| configuration | burst s | RSS before MiB | peak MiB | after MiB | after - before MiB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, extra in CONFIGURATIONS.items():
        r = asyncio.run(run_burst(bootstrap_servers(), name, extra, bursts, args.idle, args.backlog))
        print(
            f"| {r.configuration} | {r.seconds:.1f} | {r.rss_before_mib:.0f} | {r.rss_peak_mib:.0f} | "
            f"{r.rss_after_mib:.0f} | {r.rss_after_mib - r.rss_before_mib:+.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
