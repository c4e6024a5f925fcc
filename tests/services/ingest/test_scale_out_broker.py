"""Ingest scaled out (issue 14): instances of one consumer group, with a rebalance mid-run, against the
real broker and the service run as separate processes.

The simulator's feed (with many platform redeliveries, some minutes and some weeks after the first
delivery) is published to 4-partition platform topics in four slices: A and B share the first; A is
SIGKILLed while the second is in flight; B alone takes over A's partitions (third slice); C joins
(fourth). Redeliveries whose first delivery went through another instance must still be dropped, which
needs each instance to load the dedup state of the partitions it is given.

Then one instance alone, fault-free, reads the same platform topics into topics of its own. The
accepted topics' distinct records (key, value: the value names the source position that first carried
the event) must be equal; every input position must be accounted for exactly once, as forwarded,
dead-lettered or a redelivery recorded in the seen topic; the duplicates the at-least-once path
produced are reported.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from services.kafka_auth import client_options
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.message import FeedMessage
from simulator.publish import publish
from tests.support.kafka import (
    Record,
    committed_offsets,
    create_topics,
    end_offsets,
    eventually,
    read_topic,
    unique,
)
from tests.support.service import ServiceProcess, free_port

pytestmark = pytest.mark.broker

PARTITIONS = 4
CONSUMED = "sx_ingest_messages_consumed_total"
OWNED = "sx_ingest_partitions_owned"


@dataclass(frozen=True)
class Group:
    """Ingest instances of one consumer group, on the shared platform topics, writing topics of their own."""

    bootstrap: str
    tmp: Path
    app_id: str
    platform_topics: dict[str, str]
    accepted: str
    dlq: str
    seen: str

    def instance(self, name: str) -> ServiceProcess:
        port = free_port()
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "INGEST_APP_ID": self.app_id,
            "INGEST_WEB_PORT": str(port),
            "INGEST_DATA_DIR": str(self.tmp / name),
            "INGEST_PARTITIONS": str(PARTITIONS),
            "INGEST_SEDEX_TOPIC": self.platform_topics["sedex.changes.v1"],
            "INGEST_AMFORI_TOPIC": self.platform_topics["amfori.changes.v1"],
            "INGEST_ACCEPTED_TOPIC": self.accepted,
            "INGEST_DLQ_TOPIC": self.dlq,
            "INGEST_SEEN_TOPIC": self.seen,
        }
        return ServiceProcess("services.ingest", env, self.tmp / f"{name}.log", port)

    async def all_consumed(self, timeout: float) -> None:
        """Until the group has committed the end of every platform partition."""
        for source in self.platform_topics.values():
            ends = await end_offsets(self.bootstrap, source)

            async def committed(source: str = source, ends: dict[int, int] = ends) -> bool:
                return await committed_offsets(self.bootstrap, self.app_id, source) == ends

            await eventually(committed, timeout, f"{self.app_id} committed the end of {source}")

    def topics(self) -> list[str]:
        return [self.accepted, self.dlq, self.seen]


def group(bootstrap: str, tmp: Path, platform_topics: dict[str, str], name: str) -> Group:
    suffix = unique(name)
    return Group(
        bootstrap,
        tmp,
        f"ingest-{suffix}",
        platform_topics,
        f"accepted-{suffix}",
        f"dlq-{suffix}",
        f"seen-{suffix}",
    )


def source_position(record: Record) -> tuple[str, int, int]:
    if record.header("dlq_source_topic") is not None:
        return (
            (record.header("dlq_source_topic") or b"").decode(),
            int(record.header("dlq_source_partition") or b"-1"),
            int(record.header("dlq_source_offset") or b"-1"),
        )
    source = json.loads(record.value or b"{}")["source"]
    return (source["topic"], source["partition"], source["offset"])


@dataclass(frozen=True)
class Outcome:
    accepted: list[Record]
    dead: list[Record]
    redeliveries: list[tuple[str, int, int]]  # the positions the seen topic records as redeliveries

    def distinct_accepted(self) -> set[tuple[bytes | None, bytes | None]]:
        return {(r.key, r.value) for r in self.accepted}

    def positions(self) -> Counter[tuple[str, int, int]]:
        """Each input position, once per way it was accounted for (forwarded, dead-lettered, redelivery)."""
        out: Counter[tuple[str, int, int]] = Counter()
        out.update({source_position(r) for r in self.accepted})
        out.update({source_position(r) for r in self.dead})
        out.update(self.redeliveries)
        return out


async def outcome(g: Group) -> Outcome:
    seen = await read_topic(g.bootstrap, g.seen)
    latest: dict[bytes | None, Record] = {r.key: r for r in seen}  # compacted: the last value per key
    redeliveries = []
    for record in latest.values():
        for position in json.loads(record.value or b"[]")[1:]:
            topic, partition, offset = position.rsplit("/", 2)
            redeliveries.append((topic, int(partition), int(offset)))
        # The record sits in the partition of the input that carried the event (co-partitioning).
        first = json.loads(record.value or b"[]")[0]
        assert int(first.rsplit("/", 2)[1]) == record.partition, (record.key, first, record.partition)
    return Outcome(
        await read_topic(g.bootstrap, g.accepted), await read_topic(g.bootstrap, g.dlq), redeliveries
    )


async def publish_slice(messages: list[FeedMessage], bootstrap: str, topics: dict[str, str]) -> None:
    await publish(messages, bootstrap, topics=topics, security=client_options())


async def test_two_instances_a_kill_and_a_join_give_a_single_instances_output(
    bootstrap: str, tmp_path: Path
) -> None:
    feed = generate_feed(
        seed=5, sites_per_platform=150, start=date(2026, 1, 1), months=6, redelivery_rate=0.3
    )
    messages = feed.messages
    expects = Counter(m.expect.split(":")[0] for m in messages)
    assert expects["redelivery"] > 100
    suffix = unique("scale")
    platform_topics = {"sedex.changes.v1": f"sedex-{suffix}", "amfori.changes.v1": f"amfori-{suffix}"}
    scaled = group(bootstrap, tmp_path, platform_topics, "scaled")
    single = group(bootstrap, tmp_path, platform_topics, "single")
    await create_topics(bootstrap, platform_topics.values(), partitions=PARTITIONS)
    await create_topics(
        bootstrap, [scaled.accepted, scaled.dlq, single.accepted, single.dlq], partitions=PARTITIONS
    )
    slices = [messages[i * len(messages) // 4 : (i + 1) * len(messages) // 4] for i in range(4)]
    a, b, c = scaled.instance("a"), scaled.instance("b"), scaled.instance("c")
    alone = single.instance("alone")
    running = [a, b, c, alone]
    try:
        a.start()
        b.start()
        a.wait_healthy()
        b.wait_healthy()

        async def shared() -> bool:
            owned = [s.metric_sum(OWNED) for s in (a, b)]
            return min(owned) > 0 and sum(owned) == 2 * PARTITIONS

        await eventually(shared, 60, "A and B sharing the platform partitions")
        await publish_slice(slices[0], bootstrap, platform_topics)
        await scaled.all_consumed(120)
        assert a.metric_sum(CONSUMED) > 0 and b.metric_sum(CONSUMED) > 0  # both took a share
        before = a.metric_sum(CONSUMED)

        await publish_slice(slices[1], bootstrap, platform_topics)

        async def a_at_work() -> bool:
            return a.metric_sum(CONSUMED) > before

        await eventually(a_at_work, 60, "A consuming the second slice")
        assert a.kill() == -9  # SIGKILL mid-slice: its partitions move to B after the session timeout

        await publish_slice(slices[2], bootstrap, platform_topics)
        await scaled.all_consumed(120)  # B alone finished A's partitions too
        b_loads = b.metric_sum("sx_ingest_seen_loads_total")
        assert b_loads >= 2  # its first assignment, and A's partitions after the kill

        c.start()
        c.wait_healthy()

        async def c_assigned() -> bool:
            return c.metric_sum(OWNED) > 0 and b.metric_sum(OWNED) < 2 * PARTITIONS

        await eventually(c_assigned, 60, "C given partitions")
        await publish_slice(slices[3], bootstrap, platform_topics)
        await scaled.all_consumed(120)
        assert c.metric_sum(CONSUMED) > 0
        c_duplicates = c.metric_sum("sx_ingest_duplicates_total")

        alone.start()
        alone.wait_healthy()
        await single.all_consumed(180)
    finally:
        for service in running:
            if service.proc is not None:
                service.stop()

    try:
        got, want = await outcome(scaled), await outcome(single)
    finally:
        await delete_topics(bootstrap, [*platform_topics.values(), *scaled.topics(), *single.topics()])

    # The single instance, fault-free: every message accounted for once, nothing forwarded twice.
    assert len(want.accepted) == len(want.distinct_accepted()) == expects["valid"] + expects["stale"]
    assert len(want.redeliveries) == expects["redelivery"]
    assert sum(want.positions().values()) == len(messages) == len(want.positions())

    # The group, through a kill and a join: the same distinct output, every position accounted once.
    assert got.distinct_accepted() == want.distinct_accepted()
    assert {(r.key, r.value) for r in got.dead} == {(r.key, r.value) for r in want.dead}
    assert got.positions() == want.positions()
    assert sorted(got.redeliveries) == sorted(want.redeliveries)
    forwarded_again = len(got.accepted) - len(got.distinct_accepted())
    dead_again = len(got.dead) - len({source_position(r) for r in got.dead})
    print(
        f"\nscale-out: {len(messages)} messages ({expects['redelivery']} redeliveries); accepted "
        f"{len(got.distinct_accepted())} distinct, {forwarded_again} forwarded again (at-least-once), "
        f"dead-lettered {len(got.dead) - dead_again} + {dead_again} again; C counted {c_duplicates:.0f} "
        "redeliveries"
    )
