"""A back-fill through the whole exchange against the real broker, beside the aiokafka pass-through
baseline: the simulator's feed of both platforms over a year, published to the platform topics, through
ingest, normalize and aggregate running as separate processes as in production, until aggregate's
release of every closed period is committed.

The feed is `bench.ingest.feed_messages(--events)`: the first `--events` messages of a year's feed
(both platforms, redeliveries, stale versions and malformed messages included; the one oversized
message left out, as there). The three services are started as in production (`python -m
services.ingest`, `services.normalize` with `NORMALIZE_DEMO_MODE=1`, `services.aggregate`), each in
its own process on topics private to the run (platform and accepted topics of 6 partitions, as
declared in `schemas.topics`; normalize and aggregate create theirs), and the clock starts only once
all three are ready, so start-up and group joining are left out, as they are when a back-fill is
published to a running exchange. Aggregate runs on a manual clock held before the feed, so it
releases nothing while the history flows in; once it holds everything, the clock is moved to
`bench.inprocess.RELEASE_AT` (POST `/clock`), which closes every period of the feed, and the run ends
when `/health` reports that release, i.e. when its transaction is committed.

Each stage's time is measured from the first send, by the services' own `/metrics` (polled every
0.25 s):

- publish: the simulator's producer has every message acknowledged;
- ingest caught up: `sx_ingest_messages_consumed_total` reached the messages published;
- normalize caught up: `sx_normalize_events_consumed_total` reached the envelopes ingest accepts
  (counted in this process);
- aggregate consumed: `sx_aggregate_records_consumed_total` reached what normalize produced on its
  input topics (`sx_normalize_records_produced_total`), and `sx_aggregate_state_records` per kind
  equals the state built in this process;
- release committed: `/health`'s `last_release` is the release time.

Each service's peak RSS (VmHWM, summed over its process and normalize's mapper processes) is read
before it is stopped, and each service's CPU seconds (mappers included) at each stage's end. The
pass-through baseline copies the same message values once (one hop, where the exchange makes three)
in the same invocation.

The check: the same feed is run through ingest's admission, normalize's engine and aggregate's state
and planner in this process (`bench.accepted.admitted`, then `bench.inprocess`'s `normalized`,
`build_state` and `plan`, at `RELEASE_AT`), and the cells published on the public topics (committed
records, read back) must equal that plan's, key for key and byte for byte, and as many; ingest's
accepted and dead-lettered counts must equal admission's. Otherwise the bench fails: a figure from a
run that lost, doubled or changed data would be meaningless. All topics of the run are deleted
afterwards.

    python -m bench.backfill --events 1000000
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from bench import command
from bench.accepted import admitted
from bench.aggregate_service import HOLD_CLOCK_AT, count_committed, ready, release
from bench.harness import (
    Result,
    aligned,
    cpu_seconds,
    machine_cpu_seconds,
    tree_cpu_seconds,
    tree_peak_rss_mib,
    unique_topic_names,
)
from bench.ingest import feed_messages
from bench.ingest_service import IngestTopics
from bench.inprocess import PUBLIC_TOPICS, RELEASE_AT, build_state, demo_normalizer, normalized, plan
from bench.passthrough import run_passthrough
from bench.service import UnderTest, metric_samples, stop, totals, under_test
from services.aggregate.__main__ import topic_specs
from services.aggregate.population import INPUT_KINDS, INPUT_TOPICS
from services.aggregate.settings import AggregateSettings
from services.compacted import read_compacted
from services.kafka_auth import client_options
from services.normalize.engine import Record
from services.normalize.settings import NormalizeSettings
from simulator.message import FeedMessage
from simulator.publish import publish

PARTITIONS = 6  # the platform and accepted topics, as schemas.topics declares them
POLL_S = 0.25  # the services' /metrics, for the stage times
QUIET_S = 2.0  # several of aggregate's fetches (500 ms each) with nothing new
STALL_S = 120.0  # no progress anywhere for this long, before the release: the run has failed
STAGES = ("publish", "ingest caught up", "normalize caught up", "aggregate consumed", "release committed")
TARGET_EVENTS, TARGET_SECONDS = 1_000_000, 300.0  # issue 12: a year of both platforms in 5 minutes

Cell = tuple[str, bytes, bytes]  # canonical public topic, key, value


@dataclass
class Expected:
    """What the exchange must do with the feed, computed in this process."""

    accepted: int = 0  # envelopes ingest forwards
    rejected: int = 0  # messages ingest dead-letters
    unmapped: int = 0  # envelopes normalize dead-letters
    records: int = 0  # records on aggregate's input topics
    state_sizes: dict[str, int] = field(default_factory=dict)  # aggregate's state, per metric kind
    cells: list[Cell] = field(default_factory=list)  # the public messages of the release, sorted
    seconds: float = 0.0


def _records(messages: Sequence[FeedMessage], expected: Expected) -> Iterator[Record]:
    """Normalize's records on aggregate's input topics for `messages` admitted as ingest admits them,
    in feed order; the counts go to `expected` on the way."""
    normalizer = demo_normalizer()
    wanted = frozenset(INPUT_TOPICS)
    for envelope in admitted(messages):
        if envelope is None:
            expected.rejected += 1
            continue
        expected.accepted += 1
        records = normalized(normalizer, envelope.value)
        if records is None:
            expected.unmapped += 1
            continue
        yield from (r for r in records if r.topic in wanted)


def expected_release(messages: Sequence[FeedMessage]) -> Expected:
    """The in-process run of the same feed: admission, normalize's engine, aggregate's state, the plan."""
    started = time.perf_counter()
    expected = Expected()
    state, expected.records = build_state(_records(messages, expected))
    expected.state_sizes = state.sizes()
    p = plan(state)
    expected.cells = sorted((t, k, v) for t, k, v, _ in p.published if t in PUBLIC_TOPICS)
    del state, p
    gc.collect()
    expected.seconds = time.perf_counter() - started
    return expected


@dataclass(frozen=True)
class Backfill:
    events: int
    expected: Expected
    stages: dict[str, float]  # stage -> seconds from the first send
    peak_rss_mib: dict[str, float]  # service -> VmHWM summed over its processes (normalize's mappers)
    cpu: dict[str, dict[str, float]]  # "start" and each stage -> CPU seconds so far (_cpu_now)
    release_metric_seconds: float  # sx_aggregate_release_duration_seconds of this release
    baseline: Result

    @property
    def seconds(self) -> float:
        return self.stages["release committed"]

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class _Exchange:
    ingest: UnderTest
    normalize: UnderTest
    aggregate: UnderTest

    def items(self) -> list[tuple[str, UnderTest]]:
        return [("ingest", self.ingest), ("normalize", self.normalize), ("aggregate", self.aggregate)]


_BY_KIND = ("sx_aggregate_state_records", "sx_normalize_records_produced_total")


def _cpu_now(x: _Exchange) -> dict[str, float]:
    """CPU seconds used so far by each service (mapper processes included), by this process (the
    publisher, the polling) and by the machine (busy and idle, all cores): read at each stage's end,
    they say who used the cores."""
    busy, idle, steal = machine_cpu_seconds()
    return {
        **{name: tree_cpu_seconds(service.worker.pid) for name, service in x.items()},
        "bench": cpu_seconds(),
        "machine busy": busy,
        "machine idle": idle,
        "machine steal": steal,
    }


async def _metrics(client: httpx.AsyncClient, x: _Exchange) -> dict[str, defaultdict[str, float]]:
    """Each service's `/metrics`, summed over labels; aggregate's state sizes and normalize's records
    produced also per kind (`<name>:<kind>`)."""
    out: dict[str, defaultdict[str, float]] = {}
    for name, service in x.items():
        samples = await metric_samples(client, service.port, timeout=60.0)
        out[name] = totals(samples)
        out[name].update({f"{n}:{labels.get('kind')}": v for n, labels, v in samples if n in _BY_KIND})
    return out


def _produced_for_aggregate(normalize: Mapping[str, float]) -> float:
    """What normalize produced on aggregate's input topics: its records counter summed over their kinds."""
    return sum(
        normalize.get(f"sx_normalize_records_produced_total:{kind}", 0.0) for kind in INPUT_KINDS.values()
    )


async def _follow(
    client: httpx.AsyncClient,
    x: _Exchange,
    events: int,
    expected: Expected,
    started: float,
    publisher: asyncio.Task[float],
    cpu: dict[str, dict[str, float]],
) -> dict[str, float]:
    """Polls the services until aggregate holds everything; each stage's seconds from `started`, and
    its CPU figures into `cpu`. Raises if a service exits, the publisher fails, or nothing moves for
    STALL_S."""
    stages: dict[str, float] = {}
    progress: tuple[float, ...] = ()
    moved = time.monotonic()
    while "aggregate consumed" not in stages:
        for name, service in x.items():
            if service.worker.returncode is not None:
                raise RuntimeError(f"{name} exited with {service.worker.returncode}")
        if publisher.done():
            stages.setdefault("publish", publisher.result() - started)
        m = await _metrics(client, x)
        now = time.perf_counter() - started
        ingested = m["ingest"]["sx_ingest_messages_consumed_total"]
        normalized_in = m["normalize"]["sx_normalize_events_consumed_total"]
        produced = _produced_for_aggregate(m["normalize"])
        held = (
            m["aggregate"]["sx_aggregate_records_consumed_total"]
            + m["aggregate"]["sx_aggregate_records_invalid_total"]
        )
        sizes = {
            kind: int(m["aggregate"].get(f"sx_aggregate_state_records:{kind}", 0))
            for kind in expected.state_sizes
        }
        if "publish" in stages and ingested >= events:
            stages.setdefault("ingest caught up", now)
        if "ingest caught up" in stages and normalized_in >= expected.accepted:
            stages.setdefault("normalize caught up", now)
        # Read everything normalize produced, or nothing left to read: a record superseded on a
        # compacted input before aggregate read it may be gone (the cleaner), so the count alone need
        # never be reached (services/aggregate/follow.py). Its lag says so once nothing has moved for
        # a few of its fetches (the lag is from the last fetch's high-water mark).
        lag = m["aggregate"].get("sx_consumer_lag_messages")
        quiet = (ingested, normalized_in, produced, held) == progress and time.monotonic() - moved >= QUIET_S
        read_all = held >= produced or (lag == 0 and quiet)
        if "normalize caught up" in stages and read_all and sizes == expected.state_sizes:
            stages["aggregate consumed"] = now
        for stage in stages.keys() - cpu.keys():
            cpu[stage] = _cpu_now(x)
        if (ingested, normalized_in, produced, held) != progress:
            progress, moved = (ingested, normalized_in, produced, held), time.monotonic()
        elif time.monotonic() - moved > STALL_S:
            raise RuntimeError(
                f"no progress for {STALL_S:.0f} s: ingest read {ingested:.0f} of {events}, normalize "
                f"{normalized_in:.0f} of {expected.accepted} envelopes and produced {produced:.0f} "
                f"records for aggregate, which read {held:.0f}; aggregate's state {sizes}, in-process "
                f"{expected.state_sizes}"
            )
        await asyncio.sleep(POLL_S)  # polling the services' metrics
    await publisher
    return stages


async def _published(bootstrap: str, settings: AggregateSettings) -> tuple[list[Cell], int]:
    """The public topics' cells (each key's committed value), and how many records they hold."""
    cells = [
        (t, k.encode(), v)
        for t in PUBLIC_TOPICS
        for k, v in (await read_compacted(bootstrap, settings.topic(t))).items()
    ]
    committed = sum([await count_committed(bootstrap, settings.topic(t)) for t in PUBLIC_TOPICS])
    return sorted(cells), committed


def check_release(
    expected: Expected, published: list[Cell], committed: int, m: Mapping[str, Mapping[str, float]]
) -> None:
    """Raises unless the exchange did what the in-process run says it must."""
    wrong: list[str] = []
    ingest = m["ingest"]
    for what, metric, want in (
        ("accepted", "sx_ingest_messages_accepted_total", expected.accepted),
        ("dead-lettered", "sx_ingest_messages_dead_lettered_total", expected.rejected),
    ):
        if int(ingest[metric]) != want:
            wrong.append(f"ingest {what} {ingest[metric]:.0f} messages, admission {want}")
    if published != expected.cells:
        planned, got = set(expected.cells), set(published)
        wrong.append(
            f"published cells differ from the in-process plan: {len(got)} published, {len(planned)} "
            f"planned, {len(planned - got)} planned ones missing or different, {len(got - planned)} "
            f"published ones not planned (e.g. {sorted(got ^ planned)[:2]})"
        )
    if committed != len(expected.cells):
        wrong.append(f"the public topics hold {committed} records for {len(expected.cells)} planned cells")
    if wrong:
        raise RuntimeError("the back-fill differs from the in-process run: " + "; ".join(wrong))


async def run_backfill(bootstrap: str, messages: Sequence[FeedMessage], expected: Expected) -> Backfill:
    """The feed through the three services on fresh topics, deleted afterwards; raises unless the
    release equals `expected`'s."""
    values = [m.value for m in messages]
    baseline = await run_passthrough(bootstrap, len(values), values.__getitem__)
    del values
    (run,) = unique_topic_names("backfill", "x")
    run = run.removesuffix(".x")
    topics = IngestTopics.of(run)
    tag = run.rsplit(".", 1)[-1]
    ids = {name: f"bench-backfill-{name}-{tag}" for name in ("ingest", "normalize", "aggregate")}
    normalize = NormalizeSettings(topic_prefix=f"{run}.n.")
    aggregate = AggregateSettings(
        bootstrap_servers=bootstrap, input_prefix=normalize.topic_prefix, topic_prefix=f"{run}.a."
    )
    assignors = [f"{ids[name]}-__assignor-__leader" for name in ("ingest", "normalize")]
    async with (
        under_test(
            "ingest",
            bootstrap,
            ids["ingest"],
            {**topics.env(), "INGEST_LOG_LEVEL": "warning"},
            lambda r: r.get("assigned_partitions", 0) >= 2 * PARTITIONS,
            create=topics.created,
            partitions=PARTITIONS,
            delete=[*topics.all, *assignors],
        ) as ingest,
        under_test(
            "normalize",
            bootstrap,
            ids["normalize"],
            {
                "NORMALIZE_ACCEPTED_TOPIC": topics.accepted,
                "NORMALIZE_TOPIC_PREFIX": normalize.topic_prefix,
                "NORMALIZE_DEMO_MODE": "1",
                "NORMALIZE_LOG_LEVEL": "warning",
            },
            lambda r: r.get("assigned_partitions", 0) >= PARTITIONS,
            create=[],
            partitions=PARTITIONS,
            delete=[spec.name for spec in normalize.topic_specs()],
        ) as normalizer,
        under_test(
            "aggregate",
            bootstrap,
            ids["aggregate"],
            {
                "AGGREGATE_INPUT_PREFIX": aggregate.input_prefix,
                "AGGREGATE_TOPIC_PREFIX": aggregate.topic_prefix,
                "AGGREGATE_NOW": HOLD_CLOCK_AT,
                "AGGREGATE_MANUAL_CLOCK": "true",
                "AGGREGATE_TICK_SECONDS": "0.1",
                "AGGREGATE_LOG_LEVEL": "warning",
            },
            ready,
            create=[],
            partitions=PARTITIONS,
            delete=[spec.name for spec in topic_specs(aggregate)],
        ) as aggregator,
    ):
        x = _Exchange(ingest, normalizer, aggregator)
        async with httpx.AsyncClient() as client:
            cpu = {"start": _cpu_now(x)}
            started = time.perf_counter()
            publisher = asyncio.create_task(_publish(bootstrap, messages, topics.platform))
            try:
                stages = await _follow(client, x, len(messages), expected, started, publisher, cpu)
            finally:
                publisher.cancel()
                await asyncio.gather(publisher, return_exceptions=True)
            _, release_metric, _ = await release(client, aggregator.port, aggregator.worker)
            stages["release committed"] = time.perf_counter() - started
            cpu["release committed"] = _cpu_now(x)
            peaks = {name: tree_peak_rss_mib(service.worker.pid) for name, service in x.items()}
            m = await _metrics(client, x)
        for name, service in reversed(x.items()):
            await stop(service.worker, name)
        published, committed = await _published(bootstrap, aggregate)
        check_release(expected, published, committed, m)
    return Backfill(len(messages), expected, stages, peaks, cpu, release_metric, baseline)


async def _publish(bootstrap: str, messages: Sequence[FeedMessage], topics: dict[str, str]) -> float:
    """The simulator's publisher on the run's platform topics; when it had every message acknowledged."""
    await publish(messages, bootstrap, topics=topics, security=client_options())
    return time.perf_counter()


CPU_COLUMNS = ("ingest", "normalize", "aggregate", "bench")


def cpu_rows(b: Backfill) -> list[tuple[str, ...]]:
    """Per stage, the cores each process used on average (CPU seconds over the stage's wall seconds);
    "other" is the machine's busy time no process of the run accounts for (the broker, mostly), "steal"
    what the host gave to other machines."""
    rows = []
    before, at_before = b.cpu["start"], 0.0
    for stage in STAGES:
        after, at = b.cpu[stage], b.stages[stage]
        wall = at - at_before
        if wall <= 0:  # a stage reached in the same poll as the one before
            continue
        used = {k: after[k] - before[k] for k in after}
        other = used["machine busy"] - sum(used[k] for k in CPU_COLUMNS)
        rest = [other, used["machine idle"], used["machine steal"]]
        cores = [used[k] / wall for k in CPU_COLUMNS] + [c / wall for c in rest]
        rows.append((stage, f"{wall:.2f}", *(f"{c:.2f}" for c in cores)))
        before, at_before = after, at
    return rows


def report(b: Backfill) -> str:
    e = b.expected
    base = b.baseline
    stage_rows = []
    previous = 0.0
    for stage in STAGES:
        at = b.stages[stage]
        stage_rows.append((stage, f"{at:.2f}", f"{at - previous:.2f}", f"{b.events / at:,.0f}"))
        previous = at
    target_rate = TARGET_EVENTS / TARGET_SECONDS
    lines = [
        f"feed: {b.events:,} platform messages (a year of both platforms) -> {e.accepted:,} accepted, "
        f"{e.rejected:,} dead-lettered by ingest -> {e.records:,} records on aggregate's inputs -> "
        f"{len(e.cells):,} public cells released at {RELEASE_AT.date()}",
        "",
        aligned(
            ("benchmark", "events", "seconds", "events/s", "peak RSS MiB"),
            [
                (
                    base.name + " (one hop)",
                    f"{base.events:,d}",
                    f"{base.seconds:.2f}",
                    f"{base.events_per_s:,.0f}",
                    f"{base.rss_mib:.1f}",
                ),
                (
                    "back-fill (3 services; largest RSS)",
                    f"{b.events:,d}",
                    f"{b.seconds:.2f}",
                    f"{b.events_per_s:,.0f}",
                    f"{max(b.peak_rss_mib.values()):.1f}",
                ),
            ],
        ),
        "",
        aligned(("stage", "at s", "stage s", "events/s to here"), stage_rows),
        f"(aggregate's own release duration metric: {b.release_metric_seconds:.2f} s)",
        "",
        aligned(("process", "peak RSS MiB"), [(n, f"{v:.1f}") for n, v in b.peak_rss_mib.items()]),
        "",
        "cores used during each stage (CPU seconds / stage seconds; 'other' is the broker and the rest "
        f"of the machine, 'steal' the host's other guests; {os.cpu_count()} cores in all):",
        aligned(("stage", "stage s", *CPU_COLUMNS, "other", "idle", "steal"), cpu_rows(b)),
        "",
        f"the back-fill runs at {b.events_per_s / base.events_per_s:.0%} of the pass-through rate "
        f"and {b.events_per_s / target_rate:.0%} of the target ({TARGET_EVENTS:,} events in "
        f"{TARGET_SECONDS:.0f} s, {target_rate:,.0f} events/s)",
        f"check: the published cells equal the in-process plan ({len(e.cells):,} cells; in-process run "
        f"{e.seconds:.1f} s)",
        f"(python {sys.version.split()[0]}, pid {os.getpid()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = command.parser("python -m bench.backfill", __doc__)
    p.add_argument("--events", type=int, default=TARGET_EVENTS, help="platform messages to publish")
    command.add_bootstrap(p)
    args = p.parse_args(argv)
    messages = feed_messages(args.events)
    expected = expected_release(messages)
    print(report(asyncio.run(run_backfill(command.bootstrap(args), messages, expected))))


if __name__ == "__main__":
    main()
