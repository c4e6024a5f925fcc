"""`python -m report` against the real broker: its file equals the pure rendering of what a subscriber
reads on the topics (committed records, the latest message per cell), and an aborted transaction's
message (a higher revision that would win if it were read) is not in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from report.render import render_report
from report.view import cell_key
from schemas.exchange.aggregates import TABLES, AnyMessage, dump_message, parse_message, topic_of
from services.kafka_auth import client_options
from tests.report.crafted import crafted, prevalence
from tests.support.kafka import create_topics, read_topic, unique

pytestmark = pytest.mark.broker
ROOT = Path(__file__).resolve().parents[2]


async def _on_topics(bootstrap: str, prefix: str) -> list[AnyMessage]:
    """What a subscriber holds: per topic and key, the last committed value."""
    out: list[AnyMessage] = []
    for table in TABLES:
        latest: dict[bytes, bytes] = {}
        for r in await read_topic(bootstrap, prefix + topic_of(table)):
            if r.key is not None and r.value is not None:
                latest[r.key] = r.value
        out.extend(parse_message(v) for v in latest.values())
    return out


async def test_python_m_report_renders_what_the_topics_hold(bootstrap: str, tmp_path: Path) -> None:
    prefix = unique("report") + "."
    await create_topics(
        bootstrap, [prefix + topic_of(t) for t in TABLES], partitions=3, cleanup_policy="compact"
    )
    messages = crafted()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_options(), enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for m in messages:  # in order: a cell's revision 0 before its revision 1, same key, same partition
            await producer.send_and_wait(
                prefix + topic_of(m.table), dump_message(m), key=cell_key(m).encode()
            )
    finally:
        await producer.stop()
    # an aborted release: a revision 2 that would replace revision 1 if a reader saw it
    aborted = prevalence("ALL", "ALL", "WORKING_HOURS", 200, (1, 1, 1), revision=1).model_copy(
        update={"revision": 2}
    )
    tx = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_options(), transactional_id=unique("report-tx")
    )
    await tx.start()
    try:
        await tx.begin_transaction()
        await tx.send_and_wait(
            prefix + topic_of(aborted.table), dump_message(aborted), key=cell_key(aborted).encode()
        )
        await tx.abort_transaction()
    finally:
        await tx.stop()

    output = tmp_path / "out" / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "report", "--topic-prefix", prefix, "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(output) in done.stdout
    written = output.read_text(encoding="utf-8")
    on_topics = await _on_topics(bootstrap, prefix)
    assert len(on_topics) == len({(m.table, cell_key(m)) for m in messages})
    assert written == render_report(on_topics)
    assert written == render_report(messages)  # the aborted revision 2 is nowhere
    assert 'data-value="200"' not in written
