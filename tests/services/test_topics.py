from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.kafka_auth import client_options
from services.topics import TOPICS, TopicSpec, ensure_topics
from tests.support.kafka import eventually


@pytest.mark.broker
async def test_ensure_topics_is_idempotent_and_applies_declared_config(bootstrap: str) -> None:
    name = f"test.topics.{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(name, 6, cleanup_policy="compact")
    assert await ensure_topics(bootstrap, (spec,)) == [name]
    assert await ensure_topics(bootstrap, (spec,)) == []

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        # A topic created a moment ago may not name its partitions in the metadata yet (a fresh broker
        # in CI showed 0): wait for them, then count.
        async def described() -> bool:
            return bool((await admin.describe_topics([name]))[0]["partitions"])

        await eventually(described, 30, "the new topic's partitions in the metadata")
        assert len((await admin.describe_topics([name]))[0]["partitions"]) == 6
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = {e[0]: e[1] for e in configs[0].resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
        assert entries["max.message.bytes"] == str(2 * 1024 * 1024)
    finally:
        await admin.close()


def test_platform_topics_have_six_partitions() -> None:
    by_name = {t.name: t for t in TOPICS}
    assert by_name["sedex.changes.v1"].partitions == 6
    assert by_name["amfori.changes.v1"].partitions == 6


@pytest.mark.broker
async def test_a_topic_the_broker_refuses_is_an_error_not_a_silent_skip(bootstrap: str) -> None:
    spec = TopicSpec(f"test.topics.{uuid.uuid4().hex[:8]}", 1, configs={"cleanup.policy": "no-such-policy"})
    with pytest.raises(RuntimeError, match="cannot create topic"):
        await ensure_topics(bootstrap, (spec,))
