"""Shared plumbing for the benchmarks, so every figure is measured the same way.

Benchmarks print numbers for people to compare; they assert nothing about speed. What they share here:
memory read from /proc (the kernel's own accounting, no psutil needed), one percentile definition, one table
layout, throw-away topics, and an input producer that stamps each message with its send time so the reader of
the output can compute end-to-end latency without any coordination with the processor in between.
Running the service under test is `bench.service`'s.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.kafka_auth import client_options
from services.record_batches import Output, deliver_as_batches, send_as_batches
from services.transaction import Sends

SENT_HEADER = "bench_sent_ns"

Header = tuple[str, bytes]


class Rss(NamedTuple):
    current: float
    peak: float


def rss_mib(pid: int | str = "self") -> Rss:
    """Resident memory (VmRSS) and its high-water mark (VmHWM) in MiB, of this process or `pid`.

    The peak matters more than a sample: a processor's memory spikes while a batch is in flight, and
    sampling would miss it. Reading another pid lets a benchmark measure a worker it runs as a child process
    without counting the harness's own buffers.
    """
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0]) / 1024  # the kernel reports kB
    return Rss(current=fields["VmRSS"], peak=fields["VmHWM"])


def cpu_seconds(pid: int | str = "self") -> float:
    """CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat.

    Read at two moments, it says how much of a core a process used in between: whether a stage was
    bound by one process's single core, or the machine's cores were shared out.
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted from 1
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


class MachineCpu(NamedTuple):
    """The machine's CPU seconds since boot, summed over its cores (/proc/stat)."""

    busy: float  # user, nice, system, irq, softirq
    idle: float  # idle, iowait
    steal: float  # time the hypervisor gave this machine's virtual cores to others


def machine_cpu_seconds() -> MachineCpu:
    """The machine's CPU seconds so far. Steal is apart: on a shared host it is time no process of the
    machine got, which would otherwise pass for another process's work."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return MachineCpu((user + nice + system + irq + softirq) / tick, (idle + iowait) / tick, steal / tick)


def descendants(pid: int) -> list[int]:
    """The live processes started by `pid` and by them (normalize's mapper processes), from
    /proc/<pid>/task/<tid>/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = [int(c) for c in task.read_text().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        for child in children:
            found.append(child)
            found.extend(descendants(child))
    return found


def tree_peak_rss_mib(pid: int) -> float:
    """A service's peak memory: the sum of the VmHWM of its process and its live descendants (an upper
    bound of what they held at once; their peaks need not coincide)."""
    return sum(rss_mib(p).peak for p in (pid, *descendants(pid)))


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its live descendants (a live child's time is not in its
    parent's counts until the parent waits for it)."""
    return sum(cpu_seconds(p) for p in (pid, *descendants(pid)))


def percentiles(samples: Sequence[float], ps: Sequence[float] = (50, 99)) -> tuple[float, ...]:
    """Linearly interpolated percentiles (numpy's default method), so figures match a notebook's.

    An empty sample raises: a benchmark that measured nothing must not print a plausible-looking zero.
    """
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    last = len(ordered) - 1
    out: list[float] = []
    for p in ps:
        if not 0 <= p <= 100:
            raise ValueError(f"percentile out of range: {p}")
        rank = last * p / 100
        lo = math.floor(rank)
        hi = min(lo + 1, last)
        out.append(ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo))
    return tuple(out)


# A paced run's first seconds: connections, metadata, the first transactions and the state a service
# loads before its first batch; the backlog they leave is drained at the service's maximum rate.
# Latency under a sustainable load is read after them (docs/performance.md, "Latency after the
# warm-up"); the p99 with them is printed beside it.
WARMUP_S = 2.0


def warmup_of(rate_per_s: float | None) -> float:
    """`WARMUP_S` for a paced run; none for an unthrottled one, whose latency is its backlog throughout."""
    return 0.0 if rate_per_s is None else WARMUP_S


class Latencies:
    """Each output record's end-to-end latency (ms), with the send time (ns) of the input behind it, in
    arrival order: the send time says which records were sent during a warm-up."""

    def __init__(self) -> None:
        self.sent_ns: list[int] = []
        self.ms: list[float] = []

    def __len__(self) -> int:
        return len(self.ms)

    def add(self, sent_ns: int, arrived_ns: int) -> None:
        self.sent_ns.append(sent_ns)
        self.ms.append((arrived_ns - sent_ns) / 1e6)

    def after(self, warmup_s: float) -> list[float]:
        """The latencies of the records whose input was sent `warmup_s` or more after the first input."""
        if not self.ms or warmup_s <= 0:
            return list(self.ms)
        start = min(self.sent_ns) + int(warmup_s * 1e9)
        return [ms for sent, ms in zip(self.sent_ns, self.ms, strict=True) if sent >= start]


@dataclass(frozen=True)
class Result:
    name: str
    events: int
    seconds: float
    events_per_s: float
    p50_ms: float  # after the warm-up, if any was left out
    p99_ms: float
    rss_mib: float
    p99_with_warmup_ms: float | None = None  # every record's, when a warm-up was left out above

    @classmethod
    def measure(
        cls,
        name: str,
        events: int,
        seconds: float,
        latencies: Latencies | Sequence[float],
        rss_mib: float,
        warmup_s: float = 0.0,
    ) -> Result:
        """Builds a Result from raw samples so every benchmark derives rate and percentiles identically.

        With `warmup_s` (a paced run: `Latencies` needed) the percentiles are those of the records sent
        after the warm-up, and the p99 of every record is kept beside them.
        """
        if isinstance(latencies, Latencies):
            every, steady = latencies.ms, latencies.after(warmup_s)
        elif warmup_s > 0:
            raise ValueError("leaving out a warm-up needs each latency's send time (Latencies)")
        else:
            every = steady = list(latencies)
        p50, p99 = percentiles(steady, (50, 99))
        with_warmup = percentiles(every, (99,))[0] if warmup_s > 0 else None
        rate = events / seconds if seconds > 0 else float("inf")
        return cls(name, events, seconds, rate, p50, p99, rss_mib, with_warmup)


_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (heading, Result attribute, format)
    ("benchmark", "name", "s"),
    ("events", "events", ",d"),
    ("seconds", "seconds", ".2f"),
    ("events/s", "events_per_s", ",.0f"),
    ("p50 ms", "p50_ms", ".1f"),
    ("p99 ms", "p99_ms", ".1f"),
    ("peak RSS MiB", "rss_mib", ".1f"),
    ("p99 with warm-up ms", "p99_with_warmup_ms", ".1f"),
)


def format_table(results: Iterable[Result]) -> str:
    """Results as an `aligned` table."""
    return aligned(
        [h for h, _, _ in _COLUMNS],
        [[_cell(getattr(r, attr), fmt) for _, attr, fmt in _COLUMNS] for r in results],
    )


def _cell(value: object, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def aligned(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Aligned plain-text rows (names left, numbers right) that survive being pasted into a commit
    or issue."""
    grid = [list(headings), *(list(r) for r in rows)]
    widths = [max(len(row[i]) for row in grid) for i in range(len(headings))]
    lines = []
    for row in grid:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def unique_topic_names(prefix: str, *roles: str) -> list[str]:
    """One run's topics share a random tag, so concurrent or crashed runs never read each other's data."""
    tag = uuid.uuid4().hex[:10]
    return [f"bench.{prefix}.{tag}.{role}" for role in roles]


async def create_temp_topics(bootstrap: str, names: Sequence[str], partitions: int) -> None:
    """Creates single-replica topics; needed because the broker refuses to auto-create them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def produce_values(
    bootstrap: str,
    topic: str,
    values: Sequence[tuple[bytes | None, bytes]],
    headers_fn: Callable[[int], Sequence[Header]] | None = None,
    *,
    rate_per_s: float | None = None,
    producer_options: dict[str, Any] | None = None,
) -> float:
    """Sends (key, value) pairs, each stamped with `bench_sent_ns`; returns the seconds spent sending.

    The stamp is taken when the message is handed to the client, so the latency a reader computes
    includes client batching and any backlog in front of the processor: the delay a user of the output
    would see. Unthrottled (rate_per_s None) this measures a saturated pipeline, whose latency is mostly
    queueing; pass a rate below the processor's throughput to measure latency under a sustainable load.
    Either way the messages go as record batches (the services' own writer), so the harness's CPU stays
    small beside the processor's on a machine they share. `headers_fn(i)` adds headers for message i.
    """
    options: dict[str, Any] = {"acks": "all", "max_batch_size": 256 * 1024}  # closed batches: no linger
    options.update(producer_options or {})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(), **options)
    await producer.start()
    started = time.perf_counter()
    try:
        if rate_per_s is None:
            for start in range(0, len(values), 10_000):
                await deliver_as_batches(producer, _stamped(topic, values, headers_fn, start, 10_000))
        else:
            await _produce_paced(producer, topic, values, headers_fn, rate_per_s)
        return time.perf_counter() - started
    finally:
        await producer.stop()


PACING_TICK_S = 0.005


async def _produce_paced(
    producer: AIOKafkaProducer,
    topic: str,
    values: Sequence[tuple[bytes | None, bytes]],
    headers_fn: Callable[[int], Sequence[Header]] | None,
    rate_per_s: float,
) -> None:
    """At `rate_per_s`: every `PACING_TICK_S` the messages due by then are stamped and handed over as
    record batches, their deliveries awaited about once a second (bounding what is held, and
    surfacing a refusal). One send per message cost the harness half a core at 8,000 messages/s, CPU
    the processor under test then lacked (docs/performance.md, "Latency after the warm-up")."""
    sends = Sends(producer)
    started = time.perf_counter()
    sent = 0
    while sent < len(values):
        due = min(len(values), int((time.perf_counter() - started) * rate_per_s) + 1)
        if due > sent:
            await send_as_batches(sends, _stamped(topic, values, headers_fn, sent, due - sent))
            sent = due
            if len(sends) >= 1_000:
                await sends.delivered()
        # Until the next message is due, but a tick at least: messages go in groups, not one by one.
        ahead = started + sent / rate_per_s - time.perf_counter()
        await asyncio.sleep(max(ahead, PACING_TICK_S))  # pacing the load, not waiting for Kafka
    await sends.delivered()


def _stamped(
    topic: str,
    values: Sequence[tuple[bytes | None, bytes]],
    headers_fn: Callable[[int], Sequence[Header]] | None,
    start: int,
    count: int,
) -> list[Output]:
    """Messages start..start+count as outputs, each stamped now with `bench_sent_ns`."""
    outputs = []
    for i in range(start, min(start + count, len(values))):
        key, value = values[i]
        headers = [(SENT_HEADER, str(time.time_ns()).encode())]
        if headers_fn is not None:
            headers.extend(headers_fn(i))
        outputs.append(Output(topic, key, value, headers))
    return outputs


def sent_ns(headers: Iterable[Header]) -> int | None:
    """The `bench_sent_ns` stamp of a received message, or None when a processor dropped the header."""
    for key, value in headers:
        if key == SENT_HEADER:
            return int(value)
    return None
