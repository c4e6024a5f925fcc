"""What a key rotation costs, in-process (no broker): the plan of `services.rotation` beside a baseline
measured in the same run, one replay of the same accepted events under the old key (what rebuilding
normalize's state from scratch costs, and so the least a rotation by replay can cost).

The rotation replays twice (old and new key, the old one to prove the history reproduces the state),
renames and compares the states, and renames aggregate's release log (here: empty; the log is small
beside normalize's state). Printed: events/s and seconds for each row, the records the transaction
would write, and the process's peak RSS after each row. The Kafka side (reading the topics, one
transaction) is measured by the broker tests' timings, not here.

    python -m bench.rotation --events 100000
"""

from __future__ import annotations

import argparse
import time
import zlib

from bench.accepted import accepted_envelopes
from bench.harness import rss_mib
from services.normalize.engine import Normalizer
from services.normalize.keys import KeyMaterial
from services.normalize.mapping import MappingContext
from services.normalize.replay import Replay
from services.rotation.plan import AcceptedRecord, Held, plan_rotation

PARTITIONS = 6
OLD = KeyMaterial("k1", bytes(range(32)))
NEW = KeyMaterial("k2", bytes(range(100, 132)))


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.rotation")
    p.add_argument("--events", type=int, default=100_000)
    args = p.parse_args()

    offsets = dict.fromkeys(range(PARTITIONS), 0)
    records = []
    for envelope in accepted_envelopes(args.events):
        partition = zlib.crc32(envelope.key) % PARTITIONS
        records.append(AcceptedRecord(partition, offsets[partition], envelope.value))
        offsets[partition] += 1
    records.sort(key=lambda r: (r.partition, r.offset))

    started = time.perf_counter()
    replay = Replay(Normalizer.fresh(MappingContext.from_keys(OLD)))
    for r in records:
        replay.feed(r.value)
    state = replay.values()
    baseline = time.perf_counter() - started
    rss_baseline = rss_mib().peak

    started = time.perf_counter()
    plan = plan_rotation(Held(records, offsets, state, {}), OLD, NEW)
    rotation = time.perf_counter() - started

    n = len(records)
    print(f"{'row':<34} {'events/s':>10} {'seconds':>8} {'peak RSS MiB':>13}")
    rows = (
        ("replay under the old key (baseline)", baseline, rss_baseline),
        ("rotation plan (two replays, checks)", rotation, rss_mib().peak),
    )
    for name, seconds, rss in rows:
        print(f"{name:<34} {n / seconds:>10,.0f} {seconds:>8.1f} {rss:>13.0f}")
    print(
        f"{n} accepted events; the transaction would write {len(plan.normalize) - plan.tombstones} records "
        f"and {plan.tombstones} tombstones ({rotation / baseline:.1f}x the baseline's time)"
    )


if __name__ == "__main__":
    main()
