"""normalize when the broker refuses one of its records, against the real broker (issue 12).

A batch's input offsets are committed only once every record it produced was acknowledged
(`services/normalize/batches.py`). Here the broker refuses records: normalize's versions topic is
altered to take record batches of at most 128 bytes, so the first batch's delivery to it fails
(MESSAGE_TOO_LARGE). The batch loop must then stop the process (`app.crash`: a supervisor restarts
it) with nothing of that batch committed, rather than carry on or commit past records that were
never written. Once the topic takes records again, a new process replays from the committed offsets,
and normalize's compacted topics end equal, key for key and byte for byte, to an independent
in-process run of the engine over the same feed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import MAX_MESSAGE_BYTES
from services.kafka_auth import client_options
from services.normalize.topics import NORMALIZE_VERSIONS_TOPIC
from services.topics import ensure_topics
from tests.services.normalize.takeover import stop_running, takeover
from tests.support.kafka import committed_offsets, end_offsets, eventually

pytestmark = pytest.mark.broker


async def _max_message_bytes(bootstrap: str, topic: str, value: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(value)})
        await admin.alter_configs([resource])
    finally:
        await admin.close()


async def test_a_refused_record_stops_normalize_with_its_batch_uncommitted(
    bootstrap: str, tmp_path: Path
) -> None:
    run = await takeover(bootstrap, "refused", seed=9, sites_per_platform=40)
    settings, accepted, app_id = run.settings, run.accepted, run.app_id
    versions = settings.topic(NORMALIZE_VERSIONS_TOPIC)
    await ensure_topics(bootstrap, settings.topic_specs())
    await _max_message_bytes(bootstrap, versions, 128)
    a = run.instance(tmp_path, "a")
    b = run.instance(tmp_path, "b")
    try:
        a.start()
        a.wait_healthy()
        await run.publish()
        ends = await end_offsets(bootstrap, accepted)

        async def a_stopped() -> bool:
            return a.proc is not None and a.proc.poll() is not None

        await eventually(a_stopped, 120, "normalize stopping on the refused delivery")
        assert a.proc is not None and a.proc.returncode != 0
        assert "the batch loop failed" in a.log_path.read_text(errors="replace")
        # Nothing was committed past what was acknowledged: the first batch failed, so nothing at all
        # (-1: no committed offset).
        committed = await committed_offsets(bootstrap, app_id, accepted)
        assert set(committed.values()) <= {-1, 0}, committed

        await _max_message_bytes(bootstrap, versions, MAX_MESSAGE_BYTES)
        b.start()
        b.wait_healthy(120)

        async def b_through() -> bool:
            return await committed_offsets(bootstrap, app_id, accepted) == ends

        await eventually(b_through, 120, "the restarted normalize through the accepted topic")
        assert b.stop() == 0
    finally:
        stop_running(a, b)
    differing = await run.differing_then_delete()
    assert run.want.state and differing == [], differing
