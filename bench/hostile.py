"""Hostile input against the running service: `python -m bench.hostile --messages 10000 [--seed 1]`.

`simulator.hostile` (hypothesis) generates the messages around valid events of the simulator's feed;
they are published to private platform topics and read by `python -m services.ingest` in its own
process, as in production. Printed: how many were consumed, accepted, dead-lettered (by reason) and
dropped as redeliveries, whether any ended as `internal_error` or crashed the service, the time taken,
and ingest's resident memory before and after, beside its peak.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.harness import rss_mib
from bench.ingest_service import IngestTopics, wait_consumed
from bench.service import free_port, service_env, spawn_service, totals, wait_health
from schemas.topics import MAX_MESSAGE_BYTES
from services.kafka_auth import client_options
from services.topics import TopicSpec, bootstrap_servers, delete_topics, ensure_topics
from simulator.feed import generate_feed
from simulator.hostile import HostileMessage, generate


@dataclass(frozen=True)
class HostileRun:
    messages: int
    consumed: float
    accepted: float
    dead_lettered: Counter[str]
    duplicates: float
    alive: bool
    seconds: float
    rss_before_mib: float
    rss_after_mib: float
    rss_peak_mib: float

    @property
    def accounted(self) -> float:
        return self.accepted + sum(self.dead_lettered.values()) + self.duplicates


async def run_hostile(bootstrap: str, messages: list[HostileMessage], workdir: Path) -> HostileRun:
    run = f"hostile-{uuid.uuid4().hex[:8]}"
    topics = IngestTopics.of(run)
    await ensure_topics(bootstrap, tuple(TopicSpec(t, 3) for t in topics.created))
    port = free_port()
    env = {**service_env("ingest", bootstrap, f"{run}-ingest", port, workdir / "ingest"), **topics.env()}
    log = str(workdir / "ingest.log")
    worker = await spawn_service("services.ingest", env, log)
    try:
        await wait_health(port, worker, lambda report: True, 120, "ingest")
        before = rss_mib(worker.pid).current
        started = time.monotonic()
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, **client_options(), max_request_size=MAX_MESSAGE_BYTES
        )
        await producer.start()
        try:
            for m in messages:
                await producer.send(topics.platform[m.topic], m.value, key=m.key, headers=list(m.headers))
            await producer.flush()
        finally:
            await producer.stop()
        samples = await wait_consumed(port, worker, log, len(messages))
        seconds = time.monotonic() - started
        total = totals(samples)
        await asyncio.sleep(5)  # let it settle before reading its resident memory
        rss = rss_mib(worker.pid)
        dead: Counter[str] = Counter()
        for name, labels, value in samples:
            if name == "sx_ingest_messages_dead_lettered_total" and value:
                dead[labels["reason"]] += int(value)
        return HostileRun(
            messages=len(messages),
            consumed=total["sx_ingest_messages_consumed_total"],
            accepted=total["sx_ingest_messages_accepted_total"],
            dead_lettered=dead,
            duplicates=total["sx_ingest_duplicates_total"],
            alive=worker.returncode is None,
            seconds=seconds,
            rss_before_mib=before,
            rss_after_mib=rss.current,
            rss_peak_mib=rss.peak,
        )
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
            await worker.wait()
        await delete_topics(bootstrap, topics.all)


def hostile_feed(n: int, seed: int) -> list[HostileMessage]:
    bases = [
        m for m in generate_feed(seed, 20, start=date(2025, 1, 1), months=6).messages if m.expect == "valid"
    ]
    return generate(bases, n, seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    messages = hostile_feed(args.messages, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(run_hostile(bootstrap_servers(), messages, Path(tmp)))
    print(f"{r.messages:,} hostile messages in {r.seconds:.1f} s; ingest {'up' if r.alive else 'DOWN'}")
    print(
        f"consumed {r.consumed:,.0f} = accepted {r.accepted:,.0f} + dead-lettered "
        f"{sum(r.dead_lettered.values()):,} + redeliveries {r.duplicates:,.0f} (sum {r.accounted:,.0f})"
    )
    print("dead-lettered by reason: " + ", ".join(f"{k} {v:,}" for k, v in r.dead_lettered.most_common()))
    print(f"internal_error: {r.dead_lettered.get('internal_error', 0)}")
    print(
        f"ingest RSS: {r.rss_before_mib:.0f} MiB before, {r.rss_after_mib:.0f} MiB after "
        f"(peak {r.rss_peak_mib:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
