"""Chaos: `python -m bench.chaos --kills 20 --release-kills 3 [--sites 30 --months 6 --seed 7]`.

The simulator's feed (both platforms, with redeliveries, stale versions and malformed messages) is
published to private platform topics in slices, one before each fault; ingest, normalize and aggregate
run as separate processes, as in production, and are SIGKILLed at random moments (each in turn as
often as the others, in an order and at moments the seed chooses) while they work through it, each
restarted at once. Aggregate follows normalize's output all along (on a manual clock that has nothing
to release yet).

Then the release: once the feed is through, aggregate's clock is moved to the current hour, whose
release covers every period of the feed, and aggregate is SIGKILLed during it: once inside the publish
transaction for certain (its cells on the broker, uncommitted: the crash-test hold), then
`--release-kills` times at random moments after a restart (while it restores, waits for the lease,
plans, commits, or after), and finally left to finish. Afterwards:

* every compacted topic normalize owns must equal, key for key and byte for byte, what normalize's
  engine gives in-process for the same feed with no fault at all;
* every aggregate message a subscriber can read must equal, and only once, what aggregate's planner
  gives in-process for that fault-free state;
* every message must be accounted for: the distinct events on the accepted topic are the feed's
  admissible events, the distinct source positions on ingest's dead-letter topic its malformed ones;
* the duplicates the at-least-once path produced (the same event forwarded again after a kill, the
  same message dead-lettered again) are reported, not hidden: normalize absorbs them.

`tests/bench/test_chaos.py` runs a small version (4 + 2 kills) in `bash scripts/test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench.accepted import admitted
from bench.ingest_service import IngestTopics
from bench.inprocess import demo_normalizer, normalized
from bench.service import free_port, log_tail, service_env, spawn_service, wait_health
from schemas.exchange.aggregates import TABLES, topic_of
from services.aggregate.__main__ import topic_specs as aggregate_topic_specs
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.planner import plan_release
from services.aggregate.population import NormalizedState
from services.aggregate.release import ReleaseLog
from services.aggregate.settings import AggregateSettings
from services.compacted import from_the_start, high_watermarks, partitions
from services.kafka_auth import client_options
from services.normalize.settings import NormalizeSettings
from services.normalize.state import read_state
from services.topics import TopicSpec, bootstrap_servers, delete_topics, ensure_topics
from simulator.feed import generate_feed
from simulator.message import FeedMessage
from simulator.publish import publish

PUBLIC_PREFIX = "exchange.aggregates."
State = dict[str, dict[str, bytes]]


@dataclass(frozen=True)
class Expected:
    state: State  # normalize's compacted topics (canonical name -> key -> value), fault-free
    accepted: int  # distinct admissible events
    dead: int  # malformed messages


Published = list[tuple[str, bytes | None, bytes | None]]  # (canonical public topic, key, value), sorted


def expected_release(state: State, at: datetime) -> Published:
    """The aggregate messages of the release at `at` over normalize's fault-free state, in-process
    (aggregate's default parameters, as the service runs in the bench)."""
    plan = plan_release(NormalizedState.from_topics(state), ReleaseLog(), DisclosureParams(), at)
    return sorted((t, k, v) for t, k, v, _ in plan.published if t.startswith(PUBLIC_PREFIX))


def expected(messages: list[FeedMessage]) -> Expected:
    """What a fault-free exchange gives for the feed, in-process: ingest's admission and dedup, then
    normalize's engine with the demo key, applied in feed order (the engine is order-independent)."""
    normalizer = demo_normalizer()
    state: State = {}
    accepted = dead = 0
    for envelope in admitted(messages):
        if envelope is None:
            dead += 1
            continue
        accepted += 1
        for record in normalized(normalizer, envelope.value) or ():
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
    aggregate_expected: Published
    aggregate_published: Published
    mid_transaction_kills: int
    seconds: float

    @property
    def aggregate_equal(self) -> bool:
        return self.aggregate_published == self.aggregate_expected

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
    """Every committed record of `topic`, read to its high watermarks (`compacted.from_the_start`): the
    last stable offset can still stand before a transaction whose commit has returned but whose
    markers are not yet written, and reading only to it would miss the last release."""
    tps = (await partitions(bootstrap, [topic]))[topic]
    out: list[tuple[bytes | None, bytes | None, list[Any]]] = []
    async with from_the_start(bootstrap, tps) as (consumer, ends):
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out.extend((r.key, r.value, list(r.headers)) for r in records)
    return out


async def run_chaos(
    bootstrap: str,
    *,
    kills: int,
    seed: int,
    sites: int,
    months: int,
    workdir: Path,
    release_kills: int = 3,
) -> ChaosResult:
    started = time.monotonic()
    messages = generate_feed(seed, sites, start=date(2025, 1, 1), months=months).messages
    want = expected(messages)
    # The release covers every period of the feed; near the wall clock, as in production (public
    # records carry the release time as their timestamp, and months-old ones would be cleaned at once).
    release_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    want_release = expected_release(want.state, release_at)
    run = f"chaos-{uuid.uuid4().hex[:8]}"
    topics = IngestTopics.of(run, dlq="ingest-dlq")
    normalize_settings = NormalizeSettings(
        bootstrap_servers=bootstrap, topic_prefix=f"{run}.", accepted_topic=topics.accepted
    )
    aggregate_settings = AggregateSettings(app_id=f"{run}-aggregate", topic_prefix=f"{run}.agg.")
    public = {aggregate_settings.topic(topic_of(t)): topic_of(t) for t in TABLES}
    await ensure_topics(bootstrap, tuple(TopicSpec(t, 3) for t in topics.created))
    # The replay arrives in as many slices as there are faults (plus one), one slice before each
    # fault, so every kill meets work in flight rather than an idle service.
    slices = [messages[i :: kills + 1] for i in range(kills + 1)]
    await publish(slices[0], bootstrap, topics=topics.platform, security=client_options())
    ports = {"ingest": free_port(), "normalize": free_port(), "aggregate": free_port()}
    own = {
        "ingest": {
            "INGEST_PARTITIONS": "3",
            **topics.env(),
        },
        "normalize": {
            "NORMALIZE_ACCEPTED_TOPIC": topics.accepted,
            "NORMALIZE_TOPIC_PREFIX": f"{run}.",
            "NORMALIZE_DEMO_MODE": "1",
        },
        "aggregate": {
            "AGGREGATE_INPUT_PREFIX": f"{run}.",
            "AGGREGATE_TOPIC_PREFIX": aggregate_settings.topic_prefix,
            # During the feed the clock stands where no period of it is closed: nothing to release.
            "AGGREGATE_NOW": "2020-01-01T00:00:00Z",
            "AGGREGATE_MANUAL_CLOCK": "true",
            "AGGREGATE_TICK_SECONDS": "0.2",
            "AGGREGATE_LEASE_SESSION_TIMEOUT_MS": "6000",
        },
    }
    # Each service's app id is <run>-<name> (aggregate_settings.app_id for aggregate).
    env = {
        name: {**service_env(name, bootstrap, f"{run}-{name}", ports[name], workdir / name), **settings}
        for name, settings in own.items()
    }
    procs: dict[str, asyncio.subprocess.Process] = {}

    async def start(name: str, **extra: str) -> None:
        procs[name] = await spawn_service(
            f"services.{name}", {**env[name], **extra}, str(workdir / f"{name}.log")
        )
        await wait_health(ports[name], procs[name], lambda report: True, 120, name)

    async def kill(name: str) -> None:
        procs[name].send_signal(signal.SIGKILL)
        await procs[name].wait()
        killed[name] += 1

    rng = random.Random(seed)
    killed = {"ingest": 0, "normalize": 0, "aggregate": 0}
    # Each service in turn as often as the others, in an order the seed shuffles.
    victims = [("ingest", "normalize", "aggregate")[i % 3] for i in range(kills)]
    rng.shuffle(victims)
    mid_transaction = 0
    try:
        await start("ingest")
        await start("normalize")
        await start("aggregate")
        for i in range(kills):
            await publish(slices[i + 1], bootstrap, topics=topics.platform, security=client_options())
            await asyncio.sleep(rng.uniform(0.0, 0.6))  # the random moment of the next fault
            victim = victims[i]
            await kill(victim)
            await start(victim)
        groups = {f"{run}-ingest": [topics.sedex, topics.amfori], f"{run}-normalize": [topics.accepted]}
        await _wait_until_consumed(bootstrap, groups, 600)

        # The release, killed inside its publish transaction for certain, then at random moments.
        release = {"AGGREGATE_NOW": release_at.isoformat()}
        await kill("aggregate")
        before = await _public_ends(bootstrap, list(public))
        await start("aggregate", **release, AGGREGATE_HOLD_TRANSACTION_SECONDS="300")
        await _wait_for_uncommitted(bootstrap, list(public), before, 300)
        await kill("aggregate")
        mid_transaction += 1
        for _ in range(release_kills):
            procs["aggregate"] = await spawn_service(
                "services.aggregate", {**env["aggregate"], **release}, str(workdir / "aggregate.log")
            )
            # A random point: restoring, waiting for the lease, planning, committing, or after.
            await asyncio.sleep(rng.uniform(0.0, 12.0))
            await kill("aggregate")
        await start("aggregate", **release)
        await _wait_released(ports["aggregate"], release_at, 300)
        published: Published = []
        for topic, canonical in public.items():
            published += [(canonical, k, v) for k, v, _ in await _read_all(bootstrap, topic)]
        published.sort()
        forwarded = await _read_all(bootstrap, topics.accepted)
        dead = await _read_all(bootstrap, topics.dlq)
        got = await read_state(normalize_settings)
        differing = [c for c in normalize_settings.state_topics if got[c] != want.state.get(c, {})]
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
                *topics.all,
                *(s.name for s in normalize_settings.topic_specs()),
                *(s.name for s in aggregate_topic_specs(aggregate_settings)),
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
        aggregate_expected=want_release,
        aggregate_published=published,
        mid_transaction_kills=mid_transaction,
        seconds=time.monotonic() - started,
    )


async def _public_ends(bootstrap: str, topics: list[str]) -> int:
    tps = [tp for found in (await partitions(bootstrap, topics)).values() for tp in found]
    return sum((await high_watermarks(bootstrap, tps)).values())


async def _wait_for_uncommitted(bootstrap: str, topics: list[str], before: int, timeout: float) -> None:
    """Until the public topics hold more than `before` records: the release's publish transaction has
    sent its cells, and the crash-test hook holds it open (a read_committed subscriber sees none)."""
    deadline = time.monotonic() + timeout
    while True:
        if await _public_ends(bootstrap, topics) > before:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no release transaction opened in {timeout:.0f} s")
        await asyncio.sleep(0.2)  # polling the end offsets


async def _wait_released(port: int, at: datetime, timeout: float) -> None:
    """Until aggregate leads and its last release is `at`."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                report = (await client.get(f"http://127.0.0.1:{port}/health", timeout=2.0)).json()
                if report.get("role") == "leader" and report.get("last_release") == at.isoformat():
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"aggregate did not release {at.isoformat()} in {timeout:.0f} s")
            await asyncio.sleep(0.5)  # polling the health endpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs while the feed is processed")
    parser.add_argument(
        "--release-kills", type=int, default=3, help="random SIGKILLs of aggregate during the release"
    )
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
                release_kills=args.release_kills,
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
    print(
        f"aggregate: {len(result.aggregate_published):,} messages published, "
        f"{'equal to' if result.aggregate_equal else 'DIFFERENT from'} the fault-free release's "
        f"{len(result.aggregate_expected):,} ({result.mid_transaction_kills} kill(s) inside the publish "
        "transaction)"
    )


if __name__ == "__main__":
    main()
