"""A broker outage in the middle of a feed (issue 14): ingest's /health says so within seconds (503,
"degraded", broker unreachable) and recovers by itself when the broker is back; nothing is lost: every
message published is consumed once the broker returns, and every one ends accepted, dead-lettered or
dropped as a redelivery. Needs the local broker, which this test stops and starts."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.kafka_auth import client_options
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.publish import publish
from tests.support.kafka import create_topics, eventually, unique
from tests.support.service import ServiceProcess, ingest_under_test

ROOT = Path(__file__).resolve().parents[3]


def _owns_the_broker() -> bool:
    """Whether the broker answering is the one this checkout's deploy/kafka/broker.sh started (its pid
    file names a live process): only that one may be stopped and started by this test."""
    pidfile = Path(os.environ.get("SX_KAFKA_HOME", ROOT / ".kafka")) / "broker.pid"
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def _another_broker() -> bool:
    """Whether the tests are pointed at a broker other than the one broker.sh runs (its port is
    SX_KAFKA_PORT, 9092 by default)."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    return bool(given) and given != f"127.0.0.1:{os.environ.get('SX_KAFKA_PORT', '9092')}"


pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        _another_broker() or not _owns_the_broker(),
        reason="stops and starts the local broker, which this checkout's broker.sh must have started",
    ),
]
CONSUMED = "sx_ingest_messages_consumed_total"


def broker(command: str) -> None:
    subprocess.run(
        [str(ROOT / "deploy/kafka/broker.sh"), command], check=True, capture_output=True, timeout=180
    )


def health(service: ServiceProcess) -> tuple[int, dict[str, Any]]:
    response = httpx.get(service.url("/health"), timeout=2.0)
    return response.status_code, response.json()


async def test_health_shows_a_broker_outage_and_nothing_is_lost(bootstrap: str, tmp_path: Path) -> None:
    messages = generate_feed(seed=21, sites_per_platform=8, start=date(2026, 1, 1), months=2).messages
    ingest = ingest_under_test(bootstrap, tmp_path, unique("out"))
    topics, service = ingest.platform_topics, ingest.service
    outputs = [ingest.accepted, ingest.dlq, ingest.seen]
    await create_topics(bootstrap, outputs[:2] + list(topics.values()))
    try:
        half = await ingest.start_on_first_half(bootstrap, messages)

        async def consumed(n: int) -> bool:
            return service.metric_sum(CONSUMED) >= n

        broker("stop")
        try:

            async def degraded() -> bool:
                status, report = health(service)
                return status == 503 and report["status"] == "degraded" and report["broker"] == "unreachable"

            await eventually(degraded, 30, "/health to report the outage")
            assert service.metric_sum("sx_broker_reachable") == 0
        finally:
            broker("start")

        async def recovered() -> bool:
            status, report = health(service)
            return status == 200 and report["broker"] == "reachable"

        await eventually(recovered, 60, "/health to recover by itself")
        await publish(messages[half:], bootstrap, topics=topics, security=client_options())
        await eventually(lambda: consumed(len(messages)), 120, "every message consumed after the outage")
        accounted = (
            service.metric_sum("sx_ingest_messages_accepted_total")
            + service.metric_sum("sx_ingest_messages_dead_lettered_total")
            + service.metric_sum("sx_ingest_duplicates_total")
        )
        assert service.metric_sum(CONSUMED) == len(messages) == accounted, service.log_tail()
        assert "Traceback" not in service.log_tail(10**6)
    finally:
        if service.proc is not None:
            service.stop()
        await delete_topics(bootstrap, [*topics.values(), *outputs])
