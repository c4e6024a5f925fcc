"""deploy/kafka/broker.sh against a second, private broker: secured as the suite's (same principals and
password files), it refuses a client that does not sign in, and data survives a restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from services.kafka_auth import client_options
from services.topics import TopicSpec, ensure_topics

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "broker.sh"


def broker(cmd: str, env: dict[str, str], check: bool = True) -> int:
    # Blocking on purpose: nothing else runs on the loop while the broker starts or stops.
    return subprocess.run(["bash", str(SCRIPT), cmd], env=env, check=check, timeout=180).returncode


@pytest.mark.broker
async def test_data_survives_a_broker_restart(tmp_path: Path) -> None:
    # The suite's own principal signs in here too: the private broker takes the same password files.
    password_file = os.environ.get("KAFKA_SASL_PASSWORD_FILE")
    secrets = Path(password_file).parent if password_file else tmp_path / "secrets"
    # Ports below Linux's ephemeral range (32768-60999): a port in it can be held as the local end of
    # any client connection on the machine (the suite's own, to the main broker), and the private
    # broker then fails to bind ("Address already in use"; it happened once in CI with 39092).
    env = {
        **os.environ,
        "SX_KAFKA_HOME": str(tmp_path),
        "SX_KAFKA_PORT": "29092",
        "SX_KAFKA_CONTROLLER_PORT": "29093",
        "SX_KAFKA_SECRETS": str(secrets),
    }
    bootstrap = "127.0.0.1:29092"
    broker("start", env)
    try:
        if client_options():  # secured (the default): a client that does not sign in is refused
            anonymous = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
            with pytest.raises(KafkaConnectionError):
                await anonymous.start()
            await anonymous.stop()
        await ensure_topics(bootstrap, (TopicSpec("restart.check", 1),))
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait("restart.check", b"kept", key=b"k")
        finally:
            await producer.stop()
        broker("stop", env)
        assert broker("status", env, check=False) != 0
        broker("start", env)

        consumer = AIOKafkaConsumer(
            "restart.check",
            bootstrap_servers=bootstrap,
            **client_options(),
            auto_offset_reset="earliest",
            group_id=None,
        )
        await consumer.start()
        values: list[bytes | None] = []
        deadline = asyncio.get_running_loop().time() + 30
        try:
            while not values and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=1_000)
                values += [r.value for records in batch.values() for r in records]
        finally:
            await consumer.stop()
        assert values == [b"kept"]
    finally:
        broker("stop", env)
