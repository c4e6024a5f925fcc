"""Against the real broker: a normalize started with a key its state was not written under exits with
its own code (3, not a crash's 1) and one line naming both key ids, and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from aiokafka import AIOKafkaProducer

from services.kafka_auth import client_options
from services.normalize.keycheck import KEY_MISMATCH_EXIT
from services.normalize.settings import NormalizeSettings
from services.normalize.topics import NORMALIZE_VERSIONS_TOPIC
from services.topics import delete_topics
from tests.support.kafka import create_topics, end_offsets, unique

pytestmark = pytest.mark.broker


async def test_normalize_refuses_a_key_its_state_was_not_written_under(
    bootstrap: str, tmp_path: object
) -> None:
    prefix = f"{unique('kc')}."
    versions = prefix + NORMALIZE_VERSIONS_TOPIC
    await create_topics(bootstrap, [versions], partitions=1, cleanup_policy="compact")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            versions, b'{"version":1,"event":"k1.event.00"}', key=b"k1.audit.0123456789abcdef0123456789abcdef"
        )
    finally:
        await producer.stop()
    before = await end_offsets(bootstrap, versions)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NORMALIZE_TOPIC_PREFIX": prefix,
        "NORMALIZE_APP_ID": unique("norm"),
        "NORMALIZE_DATA_DIR": str(tmp_path),
        "NORMALIZE_PSEUDONYM_KEY": "ab" * 32,
        "NORMALIZE_PSEUDONYM_KEY_ID": "k2",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "services.normalize"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == KEY_MISMATCH_EXIT, done.stderr.decode()[-2000:]
        refusals = [
            line for line in done.stderr.decode().splitlines() if line.startswith("normalize: refusing")
        ]
        assert len(refusals) == 1 and "k1" in refusals[0] and "k2" in refusals[0]
        assert "Traceback" not in done.stderr.decode()
        assert await end_offsets(bootstrap, versions) == before  # nothing written
    finally:
        # normalize created its other topics (under the prefix) before it read its state and refused
        await delete_topics(bootstrap, [s.name for s in NormalizeSettings(topic_prefix=prefix).topic_specs()])
