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

import logging
from collections.abc import Callable

from schemas.topics import AGGREGATE_LEASE_TOPIC
from services.lease import GroupLease

from .settings import AggregateSettings

log = logging.getLogger("sx.aggregate.lease")

LEASE_GROUP_SUFFIX = "-lease"  # the lease group is `<app id>-lease`


class Lease(GroupLease):
    """Membership of the lease group (`services.lease.GroupLease`). `on_change(True)` when this
    instance becomes the leader, `on_change(False)` when it stops being one (also when the lease ends
    because the process stops)."""

    def __init__(self, settings: AggregateSettings, on_change: Callable[[bool], None]) -> None:
        super().__init__(
            settings.bootstrap_servers,
            settings.topic(AGGREGATE_LEASE_TOPIC),
            settings.app_id + LEASE_GROUP_SUFFIX,
            settings.lease_session_timeout_ms,
            on_change,
            log,
            "release lease",
        )
