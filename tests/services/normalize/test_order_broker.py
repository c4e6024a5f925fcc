"""Order independence against the real broker: two interleavings of the same accepted events, one
with redeliveries and a normalize restart in between, compact to byte-identical state."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas.exchange.accepted import AcceptedEvent
from services.kafka_auth import client_options
from services.normalize.settings import NormalizeSettings
from services.normalize.topics import NORMALIZE_DLQ_TOPIC, NORMALIZE_QUARANTINE_TOPIC
from services.topics import delete_topics
from tests.services.normalize.test_engine import accepted_feed, interleave
from tests.support.kafka import create_topics, eventually, read_topic, unique
from tests.support.service import ServiceProcess, normalize_under_test

pytestmark = pytest.mark.broker
CONSUMED = "sx_normalize_events_consumed_total"


async def _produce(bootstrap: str, topic: str, events: list[AcceptedEvent]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, **client_options(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for e in events:
            # Ingest's key: the platform message key, i.e. the site (or company) reference.
            key = (e.site_ref or e.company_ref).encode()
            await producer.send(topic, e.model_dump_json(by_alias=True).encode(), key=key)
        await producer.flush()
    finally:
        await producer.stop()


def _service(bootstrap: str, tmp: Path, name: str, accepted: str, prefix: str) -> ServiceProcess:
    return normalize_under_test(
        bootstrap, tmp, name, app_id=f"normalize-{prefix}", accepted=accepted, prefix=prefix
    )


async def _state(bootstrap: str, settings: NormalizeSettings) -> dict[str, dict[bytes, bytes]]:
    out: dict[str, dict[bytes, bytes]] = {}
    for name in settings.state_topics:
        table: dict[bytes, bytes] = {}
        for r in await read_topic(bootstrap, settings.topic(name)):
            if r.value is None:
                table.pop(r.key or b"", None)
            else:
                table[r.key or b""] = r.value
        out[name] = table
    return out


async def test_two_interleavings_with_redeliveries_and_a_restart_compact_identically(
    bootstrap: str, tmp_path: Path
) -> None:
    feed = accepted_feed(seed=21)
    rng = random.Random(4)
    order_a = [e for _, e in feed]
    order_b = interleave(feed, rng)
    # Redeliveries: 5% of the events again, later in the stream (a key's order is kept for the rest).
    for e in rng.sample(order_b, len(order_b) // 20):
        order_b.append(e)

    suffix = unique("o")
    a, b = f"{suffix}-a.", f"{suffix}-b."
    accepted_a, accepted_b = f"accepted-{suffix}-a", f"accepted-{suffix}-b"
    await create_topics(bootstrap, [accepted_a, accepted_b])
    settings_a, settings_b = NormalizeSettings(topic_prefix=a), NormalizeSettings(topic_prefix=b)
    service_a = _service(bootstrap, tmp_path, "a", accepted_a, a)
    service_b = _service(bootstrap, tmp_path, "b", accepted_b, b)
    half = len(order_b) // 2
    try:
        await _produce(bootstrap, accepted_a, order_a)
        await _produce(bootstrap, accepted_b, order_b[:half])
        service_a.start()
        service_b.start()
        service_a.wait_healthy()
        service_b.wait_healthy()

        async def consumed(service: ServiceProcess, n: float) -> bool:
            return service.metric_sum(CONSUMED) >= n

        await eventually(lambda: consumed(service_b, half), 120, "first half of order B")
        first = service_b.metric_sum(CONSUMED)
        assert service_b.stop() == 0, service_b.log_tail()
        await _produce(bootstrap, accepted_b, order_b[half:])
        service_b.start()
        service_b.wait_healthy()
        await eventually(lambda: consumed(service_b, len(order_b) - first), 120, "rest of order B")
        await eventually(lambda: consumed(service_a, len(order_a)), 120, "order A")
    finally:
        for service in (service_a, service_b):
            if service.proc is not None:
                service.stop()

    state_a, state_b = await _state(bootstrap, settings_a), await _state(bootstrap, settings_b)
    names = [*settings_a.state_topics, NORMALIZE_DLQ_TOPIC]
    await delete_topics(
        bootstrap,
        [
            accepted_a,
            accepted_b,
            *(settings_a.topic(n) for n in names),
            *(settings_b.topic(n) for n in names),
        ],
    )
    # Every state topic has records, but the quarantine: no operator set an event aside here.
    filled = [name for name in settings_a.state_topics if name != NORMALIZE_QUARANTINE_TOPIC]
    assert all(state_a[name] for name in filled), {k: len(v) for k, v in state_a.items()}
    for name in settings_a.state_topics:
        assert state_a[name] == state_b[name], name
