"""Consumer groups as operator commands see them: whether a service is running, where it stands.

Commands that rewrite a service's state (normalize's `repair-entity`, the key rotation) must not run
beside the service: a running normalize would overwrite the state from memory. A group with members, or
one still rebalancing, is a service running."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.kafka_auth import client_options


async def group_is_empty(bootstrap: str, group_id: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    for response in responses:
        for _error, found, state, _protocol_type, _protocol, members, *_ in response.groups:
            if found == group_id and (members or state not in ("Empty", "Dead")):
                return False
    return True


async def committed_offsets(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    """partition -> the group's committed offset on `topic` (the next record it would read); a partition
    the group never committed is absent."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        offsets: dict[TopicPartition, object] = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    out: dict[int, int] = {}
    for tp, meta in offsets.items():
        offset = getattr(meta, "offset", -1)
        if tp.topic == topic and offset >= 0:
            out[tp.partition] = offset
    return out
