"""A year-sized cell's release state against the real broker (services/aggregate/cell_state.py).

`python -m bench.backfill --events 1000000` found that the release of a year never committed: a
period's margin holds every site audited in the period, its one release-state record was larger than
the topic's largest message (2 MiB), and the broker refused it in every retry. Here, on a topic
declared as the release-state topic is (compacted, `MAX_MESSAGE_BYTES`) and with the releaser's
producer limits: the cell as one record is refused (the control), and in parts it commits in one
transaction and reads back as the same contributions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.aggregate.cell_state import cell_state_records
from services.aggregate.model import CellKey
from services.aggregate.release import ReleaseLog, build_message
from services.compacted import read_compacted
from services.kafka_auth import client_options
from services.topics import delete_topics
from services.transaction import transaction
from tests.support.kafka import create_topics, read_topic, unique

pytestmark = pytest.mark.broker

COORDS = {"period": "2026-Q1", "country": "ALL", "sector": "ALL", "issue": "WAGES"}
KEY = CellKey.of("issue-prevalence", **COORDS)
WHEN = datetime(2026, 5, 1, tzinfo=UTC)
TRANSACTIONAL_ID = unique("sx-test-cell-state")
CONTRIBUTIONS = {f"k1.psite.{i:064x}": ("MAJOR" if i % 3 else "") for i in range(30_000)}


@asynccontextmanager
async def releaser_producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A transactional producer with the releaser's limits; like the releaser, a new one after a failed
    transaction (aiokafka's idempotent sequence numbers do not survive a refused batch)."""
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=TRANSACTIONAL_ID,
        enable_idempotence=True,
        acks="all",
        max_request_size=8 * 1024 * 1024,
        **client_options(),
    )
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def test_a_year_sized_cell_commits_in_parts_where_one_record_is_refused(bootstrap: str) -> None:
    topic = unique("release-state")
    await create_topics(bootstrap, [topic], partitions=1, cleanup_policy="compact")
    message = build_message("issue-prevalence", COORDS, "suppressed", None, WHEN, WHEN, 0)
    try:
        whole, _ = cell_state_records(KEY, message, CONTRIBUTIONS, None, budget=1 << 40)
        assert len(whole) == 1
        async with releaser_producer(bootstrap) as producer:
            with pytest.raises(KafkaError):
                async with transaction(producer) as tx:
                    await tx.send(topic, whole[0][1], key=whole[0][0])
        assert await read_topic(bootstrap, topic) == []

        parts, count = cell_state_records(KEY, message, CONTRIBUTIONS, None)
        assert count == len(parts) > 1
        async with releaser_producer(bootstrap) as producer, transaction(producer) as tx:
            for key, value in parts:
                await tx.send(topic, value, key=key)
        state = await read_compacted(bootstrap, topic)
        rebuilt = ReleaseLog.from_state({k.encode(): v for k, v in state.items()}).get(KEY)
        assert rebuilt is not None and rebuilt.contributions == CONTRIBUTIONS
    finally:
        await delete_topics(bootstrap, [topic])
