"""How soon a SIGKILLed ingest processes again after it restarts (issue 14, defect 5).

A killed consumer never leaves its group: the coordinator keeps its partitions until its session
times out, and the restarted process (a new member) gets them only then. faust's default session is
60 s; the services use `WorkerSettings.session_timeout_seconds` (10 s, the broker's minimum is 6 s),
so a restart processes again within that and a rebalance. The measured time is printed; the test
fails only if processing has not resumed within the session timeout plus a margin for the rebalance
and start-up."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from services.config import WorkerSettings
from services.kafka_auth import client_options
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.publish import publish
from tests.support.kafka import create_topics, eventually, unique
from tests.support.service import ingest_under_test

pytestmark = pytest.mark.broker
CONSUMED = "sx_ingest_messages_consumed_total"


async def test_a_killed_ingest_processes_again_soon_after_its_restart(bootstrap: str, tmp_path: Path) -> None:
    messages = [
        m for m in generate_feed(seed=3, sites_per_platform=5, start=date(2026, 1, 1), months=2).messages
    ]
    ingest = ingest_under_test(bootstrap, tmp_path, unique("rs"))
    topics, service = ingest.platform_topics, ingest.service
    outputs = [ingest.accepted, ingest.dlq]
    await create_topics(bootstrap, [*topics.values(), *outputs])
    try:
        half = await ingest.start_on_first_half(bootstrap, messages)
        service.kill()
        await publish(messages[half:], bootstrap, topics=topics, security=client_options())
        started = time.monotonic()
        service.start()

        async def processing() -> bool:
            try:
                return service.metric_sum(CONSUMED) > 0
            except Exception:  # not serving metrics yet
                return False

        limit = WorkerSettings.model_fields["session_timeout_seconds"].default + 30
        await eventually(processing, limit, "the restarted ingest to process again")
        print(f"restart to first record: {time.monotonic() - started:.1f} s")
    finally:
        if service.proc is not None:
            service.stop()
        await delete_topics(bootstrap, [*topics.values(), *outputs, ingest.seen])
