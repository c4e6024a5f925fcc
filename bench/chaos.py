"""Chaos: `python -m bench.chaos --kills 20 [--sites 30 --months 6 --seed 7]`.

The simulator's feed (both platforms, with redeliveries, stale versions and malformed messages) is
published to private platform topics in slices, one before each fault; ingest and normalize run as
separate processes, as in production, and are SIGKILLed at random moments (one of the two, chosen and
timed by the seed) while they work through it, each restarted at once. Afterwards:

* every compacted topic normalize owns must equal, key for key and byte for byte, what normalize's
  engine gives in-process for the same feed with no fault at all;
* every message must be accounted for: the distinct events on the accepted topic are the feed's
  admissible events, the distinct source positions on ingest's dead-letter topic its malformed ones;
* the duplicates the at-least-once path produced (the same event forwarded again after a kill, the
  same message dead-lettered again) are reported, not hidden: normalize absorbs them.

`tests/bench/test_chaos.py` runs a small version (4 kills) in `bash scripts/test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench.harness import free_port, log_tail, spawn_service, wait_health
from bench.normalize import admitted
from schemas.exchange.accepted import AcceptedEvent
from services.compacted import partitions, read_compacted
from services.ingest.admit import AMFORI, SEDEX
from services.kafka_auth import client_options
from services.normalize.engine import Normalizer
from services.normalize.keys import load_key
from services.normalize.mapping import MappingContext, MappingError
from services.normalize.settings import NormalizeSettings
from services.topics import (
    AMFORI_TOPIC,
    SEDEX_TOPIC,
    TopicSpec,
    bootstrap_servers,
    delete_topics,
    ensure_topics,
)
from simulator.feed import generate_feed
from simulator.message import FeedMessage
from simulator.publish import publish

FORMATS = {SEDEX_TOPIC: SEDEX, AMFORI_TOPIC: AMFORI}
State = dict[str, dict[str, bytes]]


@dataclass(frozen=True)
class Expected:
    state: State  # normalize's compacted topics (canonical name -> key -> value), fault-free
    accepted: int  # distinct admissible events
    dead: int  # malformed messages


def expected(messages: list[FeedMessage]) -> Expected:
    """What a fault-free exchange gives for the feed, in-process: ingest's admission and dedup, then
    normalize's engine with the demo key, applied in feed order (the engine is order-independent)."""
    keys = load_key({"NORMALIZE_DEMO_MODE": "1"})
    normalizer = Normalizer.fresh(MappingContext.from_keys(keys))
    state: State = {}
    accepted = dead = 0
    for envelope in admitted(messages):
        if envelope is None:
            dead += 1
            continue
        accepted += 1
        try:
            outcome = normalizer.process(AcceptedEvent.model_validate_json(envelope.value))
        except MappingError:
            continue
        for record in outcome.records:
            topic = state.setdefault(record.topic, {})
            if record.value is None:
                topic.pop(record.key, None)
            else:
                topic[record.key] = record.value
    return Expected(state, accepted, dead)


@dataclass(frozen=True)
class ChaosResult:
    messages: int
    kills: dict[str, int]
    accepted_records: int
    accepted_distinct: int
    dead_records: int
    dead_distinct: int
    expected: Expected
    topics_compared: int
    topics_differing: list[str]
    seconds: float

    @property
    def duplicates(self) -> int:
        return self.accepted_records - self.accepted_distinct + self.dead_records - self.dead_distinct


async def _wait_until_consumed(bootstrap: str, groups: dict[str, list[str]], timeout: float) -> None:
    """Until every group has committed the end offset of every partition of its topics. One admin
    client and one consumer serve every poll; the partitions are looked up once."""
    tps = {
        g: [tp for tps in (await partitions(bootstrap, t)).values() for tp in tps] for g, t in groups.items()
    }
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            done = True
            for group, group_tps in tps.items():
                committed = await admin.list_consumer_group_offsets(group)
                ends = await consumer.end_offsets(group_tps)
                done = done and all(
                    ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp])
                    for tp in group_tps
                )
            if done:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the services did not finish the feed in {timeout:.0f} s")
            await asyncio.sleep(0.5)  # polling committed offsets
    finally:
        await consumer.stop()
        await admin.close()


async def _read_all(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None, list[Any]]]:
    tps = (await partitions(bootstrap, [topic]))[topic]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, **client_options(), isolation_level="read_committed"
    )
    await consumer.start()
    out: list[tuple[bytes | None, bytes | None, list[Any]]] = []
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out.extend((r.key, r.value, list(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return out


async def run_chaos(
    bootstrap: str, *, kills: int, seed: int, sites: int, months: int, workdir: Path
) -> ChaosResult:
    started = time.monotonic()
    messages = generate_feed(seed, sites, start=date(2025, 1, 1), months=months).messages
    want = expected(messages)
    run = f"chaos-{uuid.uuid4().hex[:8]}"
    platform_topics = {SEDEX_TOPIC: f"{run}.sedex", AMFORI_TOPIC: f"{run}.amfori"}
    accepted, dlq, seen = f"{run}.accepted", f"{run}.ingest-dlq", f"{run}.seen"
    normalize_settings = NormalizeSettings(topic_prefix=f"{run}.", accepted_topic=accepted)
    await ensure_topics(bootstrap, tuple(TopicSpec(t, 3) for t in (*platform_topics.values(), accepted, dlq)))
    # The replay arrives in as many slices as there are faults (plus one), one slice before each
    # fault, so every kill meets work in flight rather than an idle service.
    slices = [messages[i :: kills + 1] for i in range(kills + 1)]
    await publish(slices[0], bootstrap, topics=platform_topics, security=client_options())
    base = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    ports = {"ingest": free_port(), "normalize": free_port()}
    env = {
        "ingest": {
            **base,
            "INGEST_APP_ID": f"{run}-ingest",
            "INGEST_WEB_PORT": str(ports["ingest"]),
            "INGEST_DATA_DIR": str(workdir / "ingest"),
            "INGEST_SEDEX_TOPIC": platform_topics[SEDEX_TOPIC],
            "INGEST_AMFORI_TOPIC": platform_topics[AMFORI_TOPIC],
            "INGEST_ACCEPTED_TOPIC": accepted,
            "INGEST_DLQ_TOPIC": dlq,
            "INGEST_SEEN_TOPIC": seen,
        },
        "normalize": {
            **base,
            "NORMALIZE_APP_ID": f"{run}-normalize",
            "NORMALIZE_WEB_PORT": str(ports["normalize"]),
            "NORMALIZE_DATA_DIR": str(workdir / "normalize"),
            "NORMALIZE_ACCEPTED_TOPIC": accepted,
            "NORMALIZE_TOPIC_PREFIX": f"{run}.",
            "NORMALIZE_DEMO_MODE": "1",
        },
    }
    procs: dict[str, asyncio.subprocess.Process] = {}

    async def start(name: str) -> None:
        procs[name] = await spawn_service(f"services.{name}", env[name], str(workdir / f"{name}.log"))
        await wait_health(ports[name], procs[name], lambda report: True, 120, name)

    rng = random.Random(seed)
    killed = {"ingest": 0, "normalize": 0}
    try:
        await start("ingest")
        await start("normalize")
        for i in range(kills):
            await publish(slices[i + 1], bootstrap, topics=platform_topics, security=client_options())
            await asyncio.sleep(rng.uniform(0.0, 0.6))  # the random moment of the next fault
            victim = rng.choice(("ingest", "normalize"))
            procs[victim].send_signal(signal.SIGKILL)
            await procs[victim].wait()
            killed[victim] += 1
            await start(victim)
        groups = {f"{run}-ingest": list(platform_topics.values()), f"{run}-normalize": [accepted]}
        await _wait_until_consumed(bootstrap, groups, 600)
        forwarded = await _read_all(bootstrap, accepted)
        dead = await _read_all(bootstrap, dlq)
        differing = []
        for canonical in normalize_settings.state_topics:
            got = await read_compacted(bootstrap, normalize_settings.topic(canonical))
            if {k: v for k, v in got.items()} != want.state.get(canonical, {}):
                differing.append(canonical)
    except BaseException:
        for name in procs:
            print(f"--- {name} log\n{log_tail(str(workdir / f'{name}.log'))}")
        raise
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        await delete_topics(
            bootstrap,
            [
                *platform_topics.values(),
                accepted,
                dlq,
                seen,
                *(s.name for s in normalize_settings.topic_specs()),
            ],
        )
    events = {json.loads(value or b"{}").get("event_id") for _, value, _ in forwarded}
    positions = {tuple(v for k, v in headers if k.startswith("dlq_source_")) for _, _, headers in dead}
    return ChaosResult(
        messages=len(messages),
        kills=killed,
        accepted_records=len(forwarded),
        accepted_distinct=len(events),
        dead_records=len(dead),
        dead_distinct=len(positions),
        expected=want,
        topics_compared=len(normalize_settings.state_topics),
        topics_differing=differing,
        seconds=time.monotonic() - started,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--sites", type=int, default=1500)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(
            run_chaos(
                bootstrap_servers(),
                kills=args.kills,
                seed=args.seed,
                sites=args.sites,
                months=args.months,
                workdir=Path(tmp),
            )
        )
    want = result.expected
    print(
        f"{result.messages:,} messages, {sum(result.kills.values())} SIGKILLs {result.kills}, "
        f"{result.seconds:.0f} s"
    )
    print(
        f"accepted: {result.accepted_distinct:,} distinct events (expected {want.accepted:,}), "
        f"{result.accepted_records - result.accepted_distinct} forwarded again"
    )
    print(
        f"dead-lettered: {result.dead_distinct:,} messages (expected {want.dead:,}), "
        f"{result.dead_records - result.dead_distinct} again"
    )
    print(
        f"normalize's compacted topics: {result.topics_compared - len(result.topics_differing)} of "
        f"{result.topics_compared} equal to the fault-free run {result.topics_differing or ''}"
    )


if __name__ == "__main__":
    main()
