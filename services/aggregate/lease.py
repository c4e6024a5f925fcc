"""Who releases: the instance the consumer group gives the lease topic's single partition.

Several aggregate instances may run (each holds the whole state, `follow.py`); exactly one of them,
the *leader*, plans and writes releases. Leadership is a Kafka consumer-group assignment: every
instance joins the group `<app id>-lease` on the one-partition topic `exchange.aggregate.lease.v1`
(nothing is ever written to it), and the group coordinator gives the partition to one member. When
the leader stops, crashes or stalls past the session timeout, the group rebalances and a standby is
handed the partition. A rebalance therefore moves the *right to release*, never state.

The lease alone cannot stop a stalled ex-leader that has not noticed yet. Kafka's transactions do:
every instance uses the same transactional id, so the new leader's producer fences the old one (and
aborts its open transaction) before the new leader reads the release history. Whatever the old one
still tries to commit fails (`Releaser` steps down on that error).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

from services.compacted import partitions, stop_quietly
from services.kafka_auth import client_options

from .settings import AggregateSettings

log = logging.getLogger("sx.aggregate.lease")

LEASE_TOPIC = "exchange.aggregate.lease.v1"
LEASE_GROUP_SUFFIX = "-lease"  # the lease group is `<app id>-lease`


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, topic: str, on_change: Callable[[bool], None]) -> None:
        self.topic = topic
        self.on_change = on_change

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if any(tp.topic == self.topic for tp in revoked):
            self.on_change(False)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # Every assignment says where this member stands, with the lease or without it.
        self.on_change(any(tp.topic == self.topic for tp in assigned))


class Lease:
    """Membership of the lease group. `on_change(True)` when this instance becomes the leader,
    `on_change(False)` when it stops being one (also when the lease ends because the process stops)."""

    def __init__(self, settings: AggregateSettings, on_change: Callable[[bool], None]) -> None:
        self.settings = settings
        self.topic = settings.topic(LEASE_TOPIC)
        self.on_change = on_change
        self.held = False

    def _changed(self, held: bool) -> None:
        if held != self.held:
            log.info("release lease %s", "acquired: this instance releases" if held else "given up")
        self.held = held
        self.on_change(held)

    async def _topic_exists(self) -> None:
        """Wait until the broker names the lease topic's partition. A member that subscribes before the
        topic exists (a fresh broker, every service starting at once) is assigned nothing, and its
        consumer would not look again before its next metadata refresh: five minutes by default, with
        no leader meanwhile."""
        waited = False
        while not (await partitions(self.settings.bootstrap_servers, [self.topic]))[self.topic]:
            if not waited:
                log.info("waiting for the lease topic %s", self.topic)
                waited = True
            await asyncio.sleep(0.5)  # polling the broker's metadata, with the lease nobody's meanwhile

    async def run(self) -> None:
        """Stay in the group until cancelled; polling keeps the membership alive."""
        await self._topic_exists()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            **client_options(),
            group_id=self.settings.app_id + LEASE_GROUP_SUFFIX,
            enable_auto_commit=False,
            session_timeout_ms=self.settings.lease_session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.settings.lease_session_timeout_ms // 3),
            # Sticky: an instance joining (a restart, a scale-up) should not take the lease from a
            # healthy leader, which would only cost a re-establishment. Not relied on for correctness:
            # whoever is handed the lease fences the previous holder before releasing.
            partition_assignment_strategy=(StickyPartitionAssignor,),
            # A topic deleted and created again (an operator's repair) is seen within seconds too.
            metadata_max_age_ms=10_000,
        )
        await consumer.start()
        try:
            consumer.subscribe([self.topic], listener=_Listener(self.topic, self._changed))
            while True:
                await consumer.getmany(timeout_ms=1000)
        finally:
            self._changed(False)
            await stop_quietly(consumer)
