"""deploy/kafka/compose-broker.sh run for real (no Docker): the compose broker's security holds.

The script is docker-compose.yml's broker entrypoint; here it runs on private free ports with the Kafka
jars that broker.sh fetched (the broker tests start broker.sh first), with throwaway secrets. Checked:
the admin (a super user) can create and write a topic; a service principal logs in but, without an ACL,
may do neither; a wrong password and a client without SASL are refused, on both client listeners.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "kafka" / "compose-broker.sh"
PRINCIPALS = ("sx-admin", "sx-ingest", "sx-normalize", "sx-aggregate", "sx-deliver", "sedex", "amfori")


def kafka_libs() -> Path:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(REPO / "deploy" / "kafka" / "pom.xml").getroot().find("m:properties/m:kafka.version", ns)
    assert node is not None and node.text
    base = os.environ.get("SX_KAFKA_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sourcing-exchange"
    )
    return Path(base) / f"kafka-{node.text.strip()}" / "libs"


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture
def compose_broker(tmp_path: Path) -> Iterator[tuple[dict[str, int], dict[str, str]]]:
    libs = kafka_libs()
    if not (libs / ".complete").is_file():  # cached by broker.sh; fetched here if the broker is external
        fetch = ["bash", str(REPO / "deploy" / "kafka" / "broker.sh"), "fetch"]
        subprocess.run(fetch, check=True, timeout=600)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The image's two tools, as the same classes broker.sh runs.
    for tool, main in (
        ("kafka-storage.sh", "kafka.tools.StorageTool"),
        ("kafka-server-start.sh", "kafka.Kafka"),
    ):
        (bin_dir / tool).write_text(f'#!/bin/sh\nexec java -Xmx512m -cp "{libs}/*" {main} "$@"\n')
        (bin_dir / tool).chmod(0o755)
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    passwords = {p: secrets.token_hex(16) for p in PRINCIPALS}
    for principal, password in passwords.items():
        (secret_dir / principal).write_text(password + "\n")
    port, cport, host_port = free_ports(3)
    env = {
        **os.environ,
        "CLUSTER_ID": "c291cmNpbmctZXhjaG5nZQ",
        "SX_SECRETS_DIR": str(secret_dir),
        "SX_KAFKA_BIN": str(bin_dir),
        "SX_KAFKA_DATA": str(tmp_path / "data"),
        "SX_KAFKA_CONF": str(tmp_path / "conf"),
        "SX_BIND_HOST": "127.0.0.1",
        "SX_ADVERTISED_HOST": "127.0.0.1",
        "SX_PORT": str(port),
        "SX_CONTROLLER_PORT": str(cport),
        "SX_HOST_PORT": str(host_port),
    }
    log = (tmp_path / "broker.log").open("w")
    proc = subprocess.Popen(
        ["sh", str(SCRIPT)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield {"client": port, "host": host_port}, passwords
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


def sasl(user: str, password: str) -> dict[str, Any]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }


async def create_topic(port: int, name: str, **auth: Any) -> int:
    """The error code of creating a topic (0: created), or -1 when the client cannot even connect."""
    admin = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=10_000, **auth)
    try:
        await admin.start()
    except Exception:
        return -1
    try:
        response = await admin.create_topics([NewTopic(name, 1, 1)])
        ((_, code, *_),) = response.topic_errors
        return int(code)
    finally:
        await admin.close()


async def wait_until_serving(port: int, password: str) -> None:
    deadline = asyncio.get_running_loop().time() + 120
    while asyncio.get_running_loop().time() < deadline:
        if await create_topic(port, "ready.check", **sasl("sx-admin", password)) in (0, 36):  # 36: exists
            return
        await asyncio.sleep(1)
    pytest.fail("the compose broker did not serve the admin within 120 s")


@pytest.mark.broker
async def test_the_compose_broker_authenticates_and_authorizes(
    compose_broker: tuple[dict[str, int], dict[str, str]],
) -> None:
    ports, passwords = compose_broker
    await wait_until_serving(ports["client"], passwords["sx-admin"])
    for listener, port in ports.items():
        admin = sasl("sx-admin", passwords["sx-admin"])
        assert await create_topic(port, f"admin.{listener}", **admin) == 0
        producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{port}", **admin)
        await producer.start()
        try:
            await producer.send_and_wait(f"admin.{listener}", b"x")
        finally:
            await producer.stop()
        # Logged in, but no ACL yet: TOPIC_AUTHORIZATION_FAILED (29), for a service and a platform.
        for principal in ("sx-ingest", "sedex"):
            assert (
                await create_topic(port, f"{principal}.{listener}", **sasl(principal, passwords[principal]))
                == 29
            )
        # Refused before any request: a wrong password, and a client that does not speak SASL.
        assert await create_topic(port, "wrong.password", **sasl("sx-ingest", "not-the-password")) == -1
        assert await create_topic(port, "no.sasl") == -1
