"""A lease held through a Kafka consumer group: the member the group coordinator gives the single
partition of a lease topic holds it (nothing is ever written to the topic; the group *is* the
election). When the holder stops, crashes or stalls past the session timeout, the group rebalances and
another member is handed the partition.

Aggregate's release lease (`services/aggregate/lease.py`) and normalize's active/standby lease
(`services/normalize/standby.py`) are this mechanism. What keeps a stalled ex-holder from acting is up
to the service: aggregate fences it with transactions, normalize exits when it loses the lease and a
standby starts only once normalize's consumer group is empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

from services.compacted import partitions_once_created, stop_quietly
from services.kafka_auth import client_options


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, topic: str, on_change: Callable[[bool], None], revocation_ends: bool) -> None:
        self.topic = topic
        self.on_change = on_change
        self.revocation_ends = revocation_ends

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # aiokafka rebalances eagerly: every member's partitions are revoked when any member joins or
        # leaves, and the sticky assignor usually gives them straight back.
        if self.revocation_ends and any(tp.topic == self.topic for tp in revoked):
            self.on_change(False)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # Every assignment says where this member stands, with the lease or without it.
        self.on_change(any(tp.topic == self.topic for tp in assigned))


@dataclass(eq=False)
class GroupLease:
    """Membership of the lease group `group_id` on the one-partition `topic`. `on_change(True)` when
    this member is handed the lease, `on_change(False)` when it loses it (also when `run` ends).

    With `revocation_ends` (aggregate's choice) the lease counts as lost from the start of every
    rebalance, even one that hands it straight back; without it, only when a rebalance ends with the
    partition elsewhere (normalize, which exits when it loses the lease)."""

    bootstrap: str
    topic: str
    group_id: str
    session_timeout_ms: int
    on_change: Callable[[bool], None]
    log: logging.Logger
    what: str = "lease"
    revocation_ends: bool = field(default=True, kw_only=True)
    held: bool = field(default=False, init=False)

    def _changed(self, held: bool) -> None:
        if held != self.held:
            self.log.info("%s %s", self.what, "acquired" if held else "given up")
        self.held = held
        self.on_change(held)

    async def run(self) -> None:
        """Stay in the group until cancelled; polling keeps the membership alive.

        First wait until the broker names the lease topic's partition: a member that subscribes before
        the topic exists (a fresh broker, every service starting at once) is assigned nothing, and its
        consumer would not look again before its next metadata refresh, five minutes by default, with
        no holder meanwhile."""
        await partitions_once_created(self.bootstrap, [self.topic], "services.topics", self.log)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            **client_options(),
            group_id=self.group_id,
            enable_auto_commit=False,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.session_timeout_ms // 3),
            # Sticky: a member joining (a restart, a scale-up) should not take the lease from a healthy
            # holder, which would only cost a hand-over. Not relied on for correctness.
            partition_assignment_strategy=(StickyPartitionAssignor,),
            # A topic deleted and created again (an operator's repair) is seen within seconds too.
            metadata_max_age_ms=10_000,
        )
        await consumer.start()
        try:
            consumer.subscribe(
                [self.topic], listener=_Listener(self.topic, self._changed, self.revocation_ends)
            )
            while True:
                await consumer.getmany(timeout_ms=1000)
        finally:
            self._changed(False)
            await stop_quietly(consumer)
