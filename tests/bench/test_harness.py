"""The harness's arithmetic and the baseline's correctness; speed is reported by the benchmarks,
not tested."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from bench.harness import (
    WARMUP_S,
    Latencies,
    Result,
    cpu_seconds,
    create_temp_topics,
    descendants,
    format_table,
    machine_cpu_seconds,
    percentiles,
    produce_values,
    rss_mib,
    sent_ns,
    tree_cpu_seconds,
    tree_peak_rss_mib,
    unique_topic_names,
    warmup_of,
)
from bench.output import read_output, send_and_read
from bench.passthrough import default_value, run_passthrough
from services.topics import delete_topics


def test_percentiles_interpolate_like_numpy() -> None:
    samples = [float(x) for x in range(1, 101)]  # 1..100
    p50, p99 = percentiles(samples, (50, 99))
    assert p50 == pytest.approx(50.5)
    assert p99 == pytest.approx(99.01)
    assert percentiles([3.0, 1.0, 2.0], (0, 100)) == (1.0, 3.0)
    assert percentiles([7.0]) == (7.0, 7.0)


def test_percentiles_refuse_empty_or_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentiles([])
    with pytest.raises(ValueError):
        percentiles([1.0], (101,))


def test_result_measure_derives_rate_and_percentiles() -> None:
    r = Result.measure("x", 1000, 2.0, [1.0, 2.0, 3.0], 42.0)
    assert r.events_per_s == 500.0
    assert r.p50_ms == 2.0
    assert math.isclose(r.p99_ms, 2.98)


def test_a_warm_up_is_left_out_of_the_percentiles_and_kept_beside_them() -> None:
    """Records whose input was sent in the first `warmup_s` are not in p50/p99; the p99 of every
    record is printed beside them, so the start-up is never hidden."""
    latencies = Latencies()
    second = 1_000_000_000
    for i in range(100):  # sent over 10 s; the first 2 s slow
        sent = 5 * second + i * second // 10
        latencies.add(sent, sent + (500 if i < 20 else 10) * 1_000_000)
    assert latencies.after(0) == latencies.ms
    assert latencies.after(2.0) == [10.0] * 80
    r = Result.measure("x", 100, 10.0, latencies, 1.0, warmup_s=2.0)
    assert r.p50_ms == r.p99_ms == 10.0
    assert r.p99_with_warmup_ms == 500.0
    unpaced = Result.measure("x", 100, 10.0, latencies, 1.0)
    assert unpaced.p99_ms == 500.0 and unpaced.p99_with_warmup_ms is None
    with pytest.raises(ValueError):
        Result.measure("x", 3, 1.0, [1.0, 2.0, 3.0], 1.0, warmup_s=2.0)  # no send times to go by
    assert warmup_of(None) == 0.0 and warmup_of(8000.0) == WARMUP_S > 0


async def test_the_harness_collector_is_paused_while_a_run_is_timed() -> None:
    """The harness holds its inputs. In one ingest run its paced sends stopped 172 ms mid-run, which
    did not recur once the collector was paused."""
    seen: list[bool] = []

    async def send() -> None:
        seen.append(gc.isenabled())

    async def read() -> tuple[Latencies, float]:
        seen.append(gc.isenabled())
        return Latencies(), time.perf_counter()

    assert gc.isenabled()
    await send_and_read(read(), send())
    assert seen == [False, False]
    assert gc.isenabled()


def test_format_table_aligns_columns() -> None:
    results = [
        Result("short", 1000, 1.5, 666.67, 1.25, 9.5, 50.0),
        Result("a much longer name", 200000, 12.345, 16200.5, 100.0, 2500.25, 123.4),
    ]
    lines = format_table(results).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("benchmark")
    assert "200,000" in lines[2] and "16,200" in lines[2] and "2500.2" in lines[2]
    # right-aligned numeric columns: every row ends at the same column
    assert len({len(line) for line in lines}) == 1
    assert lines[1].startswith("short ")


def test_rss_of_self_and_of_a_pid() -> None:
    mine = rss_mib()
    assert 0 < mine.current <= mine.peak
    assert rss_mib(os.getpid()).peak >= mine.current


def _burn(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_cpu_seconds_follow_the_process_and_the_machine() -> None:
    """The kernel's counts agree with Python's own clock for this process, and the machine's busy time
    grows by at least what this process burnt (a wrong field of /proc would give zero or idle time)."""
    busy_before = machine_cpu_seconds().busy
    mine_before = cpu_seconds()
    _burn(0.3)
    mine_after = cpu_seconds(os.getpid())
    busy_after, idle_after, steal = machine_cpu_seconds()
    assert 0.25 <= mine_after - mine_before <= 0.5
    assert abs(mine_after - time.process_time()) < 0.1
    assert busy_after - busy_before >= 0.25
    assert idle_after > 0 and steal >= 0


def test_cpu_seconds_of_a_sleeping_child_stay_small() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert 0 <= cpu_seconds(child.pid) < 2.0
    finally:
        child.kill()
        child.wait()


def test_sent_ns_finds_the_stamp() -> None:
    assert sent_ns([("a", b"1"), ("bench_sent_ns", b"123")]) == 123
    assert sent_ns([("a", b"1")]) is None


@pytest.mark.broker
async def test_passthrough_delivers_every_message_exactly_once(bootstrap: str) -> None:
    n = 2000
    received: list[bytes] = []
    result = await run_passthrough(bootstrap, n, default_value, received=received, timeout_s=120)
    assert result.events == n
    assert len(received) == n
    assert set(received) == {default_value(i) for i in range(n)}


def test_a_process_tree_counts_its_children() -> None:
    """A child burning CPU shows in its parent's tree, not in the parent's own counts."""
    burner = (
        "import time\n"
        "until = time.process_time() + 0.5\n"
        "while time.process_time() < until: pass\n"
        "time.sleep(30)"
    )
    spawner = (
        f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {burner!r}])\ntime.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", spawner])
    try:
        deadline = time.monotonic() + 30
        while tree_cpu_seconds(parent.pid) - cpu_seconds(parent.pid) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling /proc until the child has burnt its CPU, with a deadline
        assert len(descendants(parent.pid)) == 1
        assert tree_cpu_seconds(parent.pid) - cpu_seconds(parent.pid) >= 0.4
        assert cpu_seconds(parent.pid) < 0.4
        assert tree_peak_rss_mib(parent.pid) > rss_mib(parent.pid).peak
    finally:
        for child in descendants(parent.pid):
            os.kill(child, 9)
        parent.kill()
        parent.wait()


@pytest.mark.broker
async def test_paced_sends_deliver_every_message_once_stamped_with_its_headers(bootstrap: str) -> None:
    """The paced producer hands messages over a tick at a time as record batches: each still arrives
    once, with its own send stamp and the headers `headers_fn` gave it."""
    (topic,) = unique_topic_names("paced", "in")
    n = 600
    values = [(b"k%d" % (i % 7), default_value(i)) for i in range(n)]
    indices: list[bytes] = []

    def stamp(record: Any) -> int | None:
        indices.extend(v for k, v in record.headers if k == "i")
        return sent_ns(record.headers)

    await create_temp_topics(bootstrap, [topic], 3)
    try:
        received: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + 120
        latencies, _ = await send_and_read(
            read_output(bootstrap, topic, 3, n, deadline, received=received, stamp_ns=stamp),
            produce_values(bootstrap, topic, values, lambda i: [("i", b"%d" % i)], rate_per_s=3_000.0),
        )
        assert sorted(received) == sorted(v for _, v in values)
        assert sorted(indices) == sorted(b"%d" % i for i in range(n))
        assert len(latencies) == n and all(ms >= 0 for ms in latencies.ms)
        assert len(set(latencies.sent_ns)) > 1  # stamped as handed over, not once for the run
    finally:
        await delete_topics(bootstrap, [topic])
