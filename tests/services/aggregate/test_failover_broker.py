"""Two aggregate instances against the real broker: a SIGKILL in the middle of a release transaction,
then failover through a consumer-group rebalance of the release lease.

* A leads (it took the lease first); B follows the same inputs as a standby.
* A plans the release and sends its cells but is held before the commit (the crash-test hook
  `AGGREGATE_HOLD_TRANSACTION_SECONDS`): a read_uncommitted reader sees the cells, a read_committed
  subscriber sees nothing. A is SIGKILLed there.
* The lease group rebalances to B after A's session times out. B's producer fences A's transactional
  id, which aborts A's open transaction, and B releases the same slot: subscribers see exactly what an
  uninterrupted release gives, once, and none of A's aborted records.
* A restarts and stays a standby while B leads. B stops gracefully (it leaves the group), A takes the
  lease at once and its next release, with no new input, publishes nothing new.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from schemas.exchange.aggregates import TABLES, topic_of
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.planner import plan_release
from services.aggregate.population import INPUT_TOPICS, NormalizedState
from services.aggregate.release import ReleaseLog
from services.kafka_auth import client_options
from services.topics import delete_topics
from tests.services.normalize.test_engine import accepted_feed, run
from tests.support.kafka import create_topics, eventually, read_topic, send_state, unique
from tests.support.service import ServiceProcess, free_port

pytestmark = pytest.mark.broker

# Release times near the wall clock, as in production: public records carry the release time as their
# timestamp, and records months old make the broker roll and compact their segments at once, which
# would clean away the aborted attempt this test counts.
AT = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
LATER = (AT + timedelta(hours=1)).isoformat()


def health(service: ServiceProcess) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(service.get("/health"))
    return result


def post_clock(service: ServiceProcess, now: str) -> None:
    import httpx

    httpx.post(service.url("/clock"), params={"now": now}, timeout=5.0).raise_for_status()


async def test_a_standby_takes_over_a_release_killed_mid_transaction(bootstrap: str, tmp_path: Path) -> None:
    normalized = run([e for _, e in accepted_feed(seed=5)])
    suffix = unique("fo")
    inputs, released = f"{suffix}.n.", f"{suffix}.a."
    await create_topics(bootstrap, [inputs + t for t in INPUT_TOPICS], partitions=3, cleanup_policy="compact")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
    await producer.start()
    try:
        await send_state(producer, inputs, normalized, INPUT_TOPICS)
    finally:
        await producer.stop()

    def instance(name: str, **extra: str) -> ServiceProcess:
        port = free_port()
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "AGGREGATE_APP_ID": f"aggregate-{suffix}",  # one deployment: same group, same transactional id
            "AGGREGATE_WEB_PORT": str(port),
            "AGGREGATE_DATA_DIR": str(tmp_path / name),
            "AGGREGATE_INPUT_PREFIX": inputs,
            "AGGREGATE_TOPIC_PREFIX": released,
            "AGGREGATE_NOW": "2020-01-01T00:00:00Z",
            "AGGREGATE_MANUAL_CLOCK": "true",
            "AGGREGATE_TICK_SECONDS": "0.2",
            "AGGREGATE_LEASE_SESSION_TIMEOUT_MS": "6000",
            **extra,
        }
        return ServiceProcess("services.aggregate", env, tmp_path / f"{name}.log", port)

    a = instance("a", AGGREGATE_HOLD_TRANSACTION_SECONDS="300")
    b = instance("b")
    public = [f"{released}{topic_of(t)}" for t in TABLES]

    async def committed(stable: bool = False) -> list[tuple[str, bytes | None, bytes | None]]:
        records = []
        for topic in public:
            records += await read_topic(bootstrap, topic, stable=stable)
        return sorted((r.topic, r.key, r.value) for r in records)

    try:
        a.start()
        a.wait_healthy()

        async def a_leads_and_released_the_empty_slot() -> bool:
            report = health(a)
            return bool(report["role"] == "leader" and report["last_release"] == "2020-01-01T00:00:00+00:00")

        await eventually(a_leads_and_released_the_empty_slot, 60, "A to lead and release the 2020 slot")
        b.start()
        b.wait_healthy()
        assert health(b)["role"] == "standby" and b.metric_sum("sx_aggregate_leader") == 0

        post_clock(a, AT.isoformat())
        post_clock(b, AT.isoformat())

        async def cells_sent_uncommitted() -> bool:
            records = await read_topic(bootstrap, public[0], isolation="read_uncommitted")
            return len(records) > 0

        await eventually(cells_sent_uncommitted, 120, "A's release records (uncommitted) on the broker")
        assert await committed(stable=True) == []  # open transaction: subscribers see nothing
        aborted = [len(await read_topic(bootstrap, t, isolation="read_uncommitted")) for t in public]
        a.kill()

        async def b_released() -> bool:
            report = health(b)
            return bool(report["role"] == "leader" and report["last_release"] == AT.isoformat())

        await eventually(b_released, 120, "B to take the lease over and release the slot")
        plan = plan_release(NormalizedState.from_topics(normalized), ReleaseLog(), DisclosureParams(), AT)
        want = sorted(
            (released + t, k, v) for t, k, v, _ in plan.records if t.startswith("exchange.aggregates.")
        )
        got = await committed()
        assert got == want and len(got) == plan.sent > 0
        # A's records are still in the log, marked aborted: read_uncommitted sees both attempts.
        assert [len(await read_topic(bootstrap, t, isolation="read_uncommitted")) for t in public] == [
            n + sum(1 for topic, _, _ in want if topic == t) for n, t in zip(aborted, public, strict=True)
        ]
        assert b.metric_sum("sx_aggregate_leader") == 1

        # A comes back as a standby; B leaves gracefully and A takes over without waiting for a timeout.
        a = instance("a2")
        a.start()
        a.wait_healthy()
        assert health(a)["role"] == "standby" and health(a)["last_release"] is None
        post_clock(a, LATER)
        b.stop()

        async def a_released_later() -> bool:
            report = health(a)
            return bool(report["role"] == "leader" and report["last_release"] == LATER)

        await eventually(a_released_later, 60, "A to lead again and release the next slot")
        assert await committed() == want  # nothing changed, nothing re-sent
    finally:
        for service in (a, b):
            if service.proc is not None:
                service.stop()
        await delete_topics(bootstrap, [inputs + t for t in INPUT_TOPICS])
