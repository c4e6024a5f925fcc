"""normalize SIGKILLed with a batch in flight, against the real broker (issue 12).

normalize reads, maps and writes in batches (`services/normalize/batches.py`) and commits a batch's
input offsets only once all its records are acknowledged. Its test-only fault hook holds one batch
half-way: the first half of the batch's records delivered, none of its offsets committed. The process
is SIGKILLed there and a new one started: it takes over, replays the batch from the committed offsets,
and normalize's compacted topics end equal, key for key and byte for byte, to an independent
in-process run of the engine over the same feed; every event normalize rejects is dead-lettered, and
no dead letter points anywhere else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.inprocess import demo_normalizer
from services.normalize.engine import Rejected, step
from tests.services.normalize.takeover import stop_running, takeover
from tests.support.kafka import committed_offsets, end_offsets, eventually, read_topic
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.broker

HOLDING = "fault hook: holding a batch half-way"


async def test_a_sigkill_with_a_batch_in_flight_loses_and_doubles_nothing(
    bootstrap: str, tmp_path: Path
) -> None:
    run = await takeover(bootstrap, "crash", seed=5, sites_per_platform=60)
    envelopes, want, accepted, settings, app_id = (
        run.envelopes,
        run.want,
        run.accepted,
        run.settings,
        run.app_id,
    )
    held_after = len(envelopes) // 3

    def instance(name: str, **env: str) -> ServiceProcess:
        service = run.instance(tmp_path, name)
        service.env.update({"NORMALIZE_MAX_BATCH": "300", **env})
        return service

    a = instance("a", NORMALIZE_HOLD_BATCH_SECONDS="600", NORMALIZE_HOLD_AFTER_EVENTS=str(held_after))
    b = instance("b")
    try:
        await run.publish()
        ends = await end_offsets(bootstrap, accepted)
        a.start()
        a.wait_healthy()

        async def a_holds_a_batch() -> bool:
            return HOLDING in a.log_path.read_text(errors="replace")

        await eventually(a_holds_a_batch, 120, "A holding a batch half-way")
        committed = await committed_offsets(bootstrap, app_id, accepted)
        assert held_after <= sum(committed.values()) < sum(ends.values())
        assert a.kill() == -9

        b.start()
        b.wait_healthy(120)  # B is active once A's lease and group membership have run out

        async def b_through() -> bool:
            return await committed_offsets(bootstrap, app_id, accepted) == ends

        await eventually(b_through, 120, "B through the accepted topic")
        replayed = b.metric_sum("sx_normalize_replays_total")
        assert b.stop() == 0
    finally:
        stop_running(a, b)

    try:
        differing = await run.differing()
        inputs = await read_topic(bootstrap, accepted, until=lambda got: len(got) >= len(envelopes))
        dead = await read_topic(bootstrap, settings.dlq_topic, timeout=10)
    finally:
        await run.delete()
    assert want.state and differing == [], differing
    # The batch held half-way was delivered in part before the kill: B produced those events again.
    assert replayed > 0
    # Dead letters: one pointer for each input the engine rejects, in an independent run over what the
    # accepted topic holds, and nothing else (a replayed batch may repeat a pointer, never add one).
    normalizer = demo_normalizer()
    rejected = {
        (r.topic, r.partition, r.offset)
        for r in sorted(inputs, key=lambda r: (r.partition, r.offset))
        if isinstance(step(normalizer, r.value).result, Rejected)
    }
    pointers = {
        (d["source_topic"], d["source_partition"], d["source_offset"])
        for d in (json.loads(r.value or b"{}") for r in dead)
    }
    assert pointers == rejected
