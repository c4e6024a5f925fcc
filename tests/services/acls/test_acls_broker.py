"""The ACL matrix against the secured broker, every pair (issue 13).

A private copy of the declared matrix is granted (every resource name under a unique prefix, for the
real principals), then each principal signs in with its own password and tries, on every topic of
the exchange, to read and to write; on every consumer group of the matrix, to use it; on aggregate's
transactional id, to initialise it. Each attempt must succeed exactly when the declared table allows
it. The expectation is computed from the table; the outcome is the broker's answer. Finally one grant
too many is created and the same check must report it: the test fails when the protection is off.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
from aiokafka.structs import OffsetAndMetadata

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC, TABLES, topic_of
from schemas.shared.models import SHARED_TOPICS
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC
from schemas.topics import (
    ACCEPTED_TOPIC,
    AMFORI_TOPIC,
    DELIVER_DLQ_TOPIC,
    DELIVER_STATE_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    NORMALIZE_DLQ_TOPIC,
    NORMALIZE_QUARANTINE_TOPIC,
    NORMALIZE_VERSIONS_TOPIC,
    SEDEX_TOPIC,
)
from schemas.topics import AGGREGATE_LEASE_TOPIC as LEASE_TOPIC
from services.acls.apply import create_acls, delete_acls
from services.acls.matrix import PRINCIPALS, Grant, Kind, Op, Resource, allowed, grants
from services.kafka_auth import client_options
from services.topics import delete_topics
from tests.support.kafka import create_topics, unique

pytestmark = pytest.mark.broker

TOPICS = [
    SEDEX_TOPIC,
    AMFORI_TOPIC,
    ACCEPTED_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    NORMALIZE_DLQ_TOPIC,
    NORMALIZE_VERSIONS_TOPIC,
    NORMALIZE_QUARANTINE_TOPIC,
    *sorted(SHARED_TOPICS),
    SITE_RESOLUTION_TOPIC,
    RESOLVED_SITES_TOPIC,
    RELEASE_STATE_TOPIC,
    LEASE_TOPIC,
    *(topic_of(t) for t in TABLES),
    DELIVER_STATE_TOPIC,
    DELIVER_DLQ_TOPIC,
]
GROUPS = [
    "sedex.subscriber",
    "amfori.subscriber",
    "sx-ingest",
    "sx-normalize",
    "sx-aggregate-lease",
    "sx-deliver",
]
TRANSACTIONAL_IDS = ["sx-aggregate-releases", "sx-deliver-ledger", "sx-ingest-host-6066"]
Check = tuple[str, Op, Kind, str]  # principal, operation, resource kind, name (unprefixed)


class Principal:
    """One principal signed in with its own password: a producer and a consumer kept for its checks."""

    def __init__(self, bootstrap: str, name: str, secrets: Path, group: str) -> None:
        self.bootstrap, self.name = bootstrap, name
        signed_in = {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_USERNAME": name,
            "KAFKA_SASL_PASSWORD_FILE": str(secrets / f"{name}.password"),
        }
        self.auth: dict[str, Any] = {**client_options(signed_in), "request_timeout_ms": 10_000}
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, **self.auth)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **self.auth
        )

    async def __aenter__(self) -> Principal:
        await self.producer.start()
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.producer.stop()

    async def write(self, topic: str) -> None:
        await self.producer.send_and_wait(topic, b"acl probe")

    async def read(self, topic: str) -> None:
        """Reading is checked with an offset commit in the principal's own group: the broker authorizes
        it with the same READ on the topic as a fetch (aiokafka logs and retries a refused fetch for
        ever instead of raising, so a fetch cannot be the probe)."""
        tp = TopicPartition(topic, 0)
        self.consumer.assign([tp])
        await self.consumer.commit({tp: OffsetAndMetadata(0, "")})

    async def join(self, group: str, topic: str) -> None:
        member = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False, **self.auth
        )
        await member.start()
        try:
            await member.committed(TopicPartition(topic, 0))
        finally:
            await member.stop()

    async def transact(self, transactional_id: str) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, transactional_id=transactional_id, **self.auth
        )
        try:
            await producer.start()
        finally:
            await producer.stop()


async def allowed_by_broker(attempt: Awaitable[object]) -> bool:
    """Whether the broker allowed it: an authorization error means no; anything else is a test error."""
    try:
        await attempt
    except (TopicAuthorizationFailedError, GroupAuthorizationFailedError, TransactionalIdAuthorizationFailed):
        return False
    return True


async def outcomes(
    bootstrap: str, prefix: str, secrets: Path, table: tuple[Grant, ...], checks: list[Check]
) -> dict[Check, bool]:
    out: dict[Check, bool] = {}
    for name in sorted({c[0] for c in checks}):
        own = next(prefix + g for g in GROUPS if allowed(table, name, Op.READ, Kind.GROUP, prefix + g))
        async with Principal(bootstrap, name, secrets, own) as who:
            for check in (c for c in checks if c[0] == name):
                _, op, kind, resource = check
                full = prefix + resource
                if kind is Kind.TOPIC:
                    out[check] = await allowed_by_broker(
                        who.write(full) if op is Op.WRITE else who.read(full)
                    )
                elif kind is Kind.GROUP:
                    # A group is used with a topic the principal may read, so only the group is in question.
                    topic = next(
                        prefix + t for t in TOPICS if allowed(table, name, Op.READ, Kind.TOPIC, prefix + t)
                    )
                    out[check] = await allowed_by_broker(who.join(full, topic))
                else:
                    out[check] = await allowed_by_broker(who.transact(full))
    return out


async def test_every_pair_of_the_matrix_is_allowed_or_denied_as_declared(bootstrap: str) -> None:
    if os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") == "PLAINTEXT":
        pytest.skip("the broker is not secured (deploy/kafka/broker.sh start secures it by default)")
    secrets = Path(os.environ.get("SX_KAFKA_SECRETS", ".kafka/secrets"))
    assert all((secrets / f"{p}.password").exists() for p in PRINCIPALS), f"no password files in {secrets}"
    prefix = f"{unique('acl')}."
    table = grants(prefix)
    extra = (
        Grant("sedex", Resource(Kind.TOPIC, prefix + ACCEPTED_TOPIC), frozenset({Op.READ}), "a mistake"),
    )
    await create_topics(bootstrap, [prefix + t for t in TOPICS], partitions=1)
    await create_acls(bootstrap, table)
    try:
        checks: list[Check] = [
            *((p, op, Kind.TOPIC, t) for p in PRINCIPALS for t in TOPICS for op in (Op.READ, Op.WRITE)),
            *((p, Op.READ, Kind.GROUP, g) for p in PRINCIPALS for g in GROUPS),
            *((p, Op.WRITE, Kind.TRANSACTIONAL_ID, t) for p in PRINCIPALS for t in TRANSACTIONAL_IDS),
        ]
        got = await outcomes(bootstrap, prefix, secrets, table, checks)
        expected = {c: allowed(table, c[0], c[1], c[2], prefix + c[3]) for c in checks}
        wrong = sorted(
            f"{c[0]} {c[1]} {c[2]} {c[3]}: broker {got[c]}, matrix {expected[c]}"
            for c in checks
            if got[c] != expected[c]
        )
        assert not wrong, "\n".join(wrong)
        assert sum(expected.values()) > 40 and sum(not v for v in expected.values()) > 200

        # One grant too many (sedex reading the accepted events): the same check must catch it.
        await create_acls(bootstrap, extra)
        probe: Check = ("sedex", Op.READ, Kind.TOPIC, ACCEPTED_TOPIC)
        assert (await outcomes(bootstrap, prefix, secrets, table, [probe]))[probe] != expected[probe]
    finally:
        await delete_acls(bootstrap, (*table, *extra))
        await delete_topics(bootstrap, [prefix + t for t in TOPICS])
