"""A hot standby for normalize (issue 14), against the real broker with both instances as processes.

A is active, B stands by (it consumes nothing, follows normalize's compacted topics, and says so on
/health and /metrics). A is SIGKILLed while it works through the accepted events (in the middle of a
batch, held there by its fault hook); B is handed the lease, waits for A to leave normalize's consumer
group, reads the followed state to its end and takes over. normalize's compacted topics end equal, key
for key and byte for byte, to the fault-free in-process run of the same feed; the takeover time is
printed. Then A comes back as a standby and B stops gracefully: it leaves the lease group as it exits,
and A takes over.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.kafka_auth import client_options
from tests.services.normalize.takeover import takeover
from tests.support.kafka import committed_offsets, end_offsets, eventually
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.broker

CONSUMED = "sx_normalize_events_consumed_total"
ACTIVE = "sx_normalize_active"


def role(service: ServiceProcess) -> str | None:
    try:
        role: str | None = httpx.get(service.url("/health"), timeout=2.0).json().get("role")
    except httpx.HTTPError:
        return None  # between the standby's endpoints and the worker's, or gone
    return role


async def test_the_standby_takes_over_from_a_killed_active_and_the_state_is_unchanged(
    bootstrap: str, tmp_path: Path
) -> None:
    run = await takeover(bootstrap, "standby", seed=9, sites_per_platform=150)
    envelopes, accepted, settings, app_id = run.envelopes, run.accepted, run.settings, run.app_id

    def instance(name: str) -> ServiceProcess:
        return run.instance(tmp_path, name)

    a, b = instance("a"), instance("b")
    half = len(envelopes) // 2
    # Batches are fast: A would finish the second half before the kill. Its fault hook holds the first
    # batch that starts past the middle, half-delivered and uncommitted, so the kill leaves B work.
    a.env.update(
        {
            "NORMALIZE_MAX_BATCH": "300",
            "NORMALIZE_HOLD_BATCH_SECONDS": "600",
            "NORMALIZE_HOLD_AFTER_EVENTS": str(half + 1),
        }
    )

    try:
        a.start()
        a.wait_healthy()  # active
        b.ready_roles = {"standby"}
        b.start()
        b.wait_healthy()
        await run.publish(stop=half)

        async def a_consumed_first_half() -> bool:
            return a.metric_sum(CONSUMED) >= half

        await eventually(a_consumed_first_half, 120, "A through the first half")
        # B stood by all along: it consumed nothing, and it followed what A wrote.
        assert role(b) == "standby" and b.metric_sum(ACTIVE) == 0 and a.metric_sum(ACTIVE) == 1
        assert b.metric_sum(CONSUMED) == 0

        async def b_followed() -> bool:
            followed: int = httpx.get(b.url("/health"), timeout=2.0).json().get("followed", 0)
            return followed > 0

        await eventually(b_followed, 60, "B following A's output")

        await run.publish(start=half)

        async def a_in_second_half() -> bool:
            return a.metric_sum(CONSUMED) > half

        await eventually(a_in_second_half, 60, "A into the second half")

        async def a_holds_a_batch() -> bool:
            return "fault hook: holding a batch half-way" in a.log_path.read_text(errors="replace")

        await eventually(a_holds_a_batch, 60, "A holding a batch of the second half")
        assert a.kill() == -9
        killed = time.monotonic()

        async def b_active() -> bool:
            return role(b) == "active"

        await eventually(b_active, 90, "B active")
        active_after = time.monotonic() - killed

        async def b_consuming() -> bool:
            return b.metric_sum(CONSUMED) > 0

        await eventually(b_consuming, 60, "B consuming")
        consuming_after = time.monotonic() - killed
        takeover_seconds = b.metric_sum("sx_normalize_takeover_seconds")
        ends = await end_offsets(bootstrap, accepted)

        async def all_committed() -> bool:
            return await committed_offsets(bootstrap, app_id, accepted) == ends

        await eventually(all_committed, 120, "B through the rest")
        assert a.proc is not None and b.proc is not None and b.proc.poll() is None

        # A comes back, as a standby; B stops gracefully and hands the lease over on its way out.
        a = instance("a2")
        a.ready_roles = {"standby"}
        a.start()
        a.wait_healthy()

        # A standby answers its health check before its lease consumer has joined the group.
        async def both_in_the_lease_group() -> bool:
            return await lease_members(bootstrap, settings.lease_group) == 2

        await eventually(both_in_the_lease_group, 30, "A's standby in the lease group")
        assert b.stop() == 0
        stopped = time.monotonic()
        # B left the lease group as it exited: without that, its membership would last the session.
        assert await lease_members(bootstrap, settings.lease_group) == 1

        async def a_active() -> bool:
            return role(a) == "active"

        await eventually(a_active, 90, "A active again")
        handover = time.monotonic() - stopped
    finally:
        for service in (a, b):
            if service.proc is not None:
                service.stop()

    differing = await run.differing_then_delete()
    assert run.want.state and differing == [], differing
    print(
        f"\nnormalize takeover: {len(envelopes)} accepted events; B active {active_after:.1f} s after A's "
        f"SIGKILL (of which {takeover_seconds:.1f} s from the lease to the restored state), consuming "
        f"after {consuming_after:.1f} s; after a graceful stop, the standby was active {handover:.1f} s later"
    )


async def lease_members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    return sum(len(members) for _e, _g, _s, _pt, _p, members, *_ in response.groups)
