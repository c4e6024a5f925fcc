"""How the releaser sends a plan (services/aggregate/releaser.py): cells' release states are encoded a
slice of entries at a time, off the event loop, in the plan's order."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC
from services.aggregate import releaser as releaser_module
from services.aggregate.cell_state import PendingState
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.planner import plan_release
from services.aggregate.population import NormalizedState
from services.aggregate.release import PENDING, Entry, Record, ReleaseLog
from services.aggregate.releaser import Releaser, encoded_slices
from services.aggregate.schedule import ManualClock
from services.aggregate.settings import AggregateSettings
from tests.services.normalize.test_engine import accepted_feed, run

AT = datetime(2026, 6, 1, tzinfo=UTC)


async def _collect(entries: Sequence[Entry], size: int) -> list[list[Record]]:
    return [records async for records in encoded_slices(entries, size)]


def test_the_plans_records_are_sent_in_order_a_slice_at_a_time_and_encoded_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = NormalizedState.from_topics(run([e for _, e in accepted_feed(seed=5)]))
    plan = plan_release(state, ReleaseLog(), DisclosureParams(), AT)
    expected = plan.records
    encoding_threads: set[int] = set()
    encode = PendingState.records

    def watched(self: PendingState) -> list[tuple[bytes, bytes]]:
        encoding_threads.add(threading.get_ident())
        return encode(self)

    monkeypatch.setattr(PendingState, "records", watched)

    async def send() -> tuple[list[list[Record]], int]:
        return await _collect(list(plan.entries), 7), threading.get_ident()

    sent, loop_thread = asyncio.run(send())
    assert [record for records in sent for record in records] == expected
    assert len(sent) == -(-len(plan.entries) // 7)  # one slice per 7 entries
    assert encoding_threads and loop_thread not in encoding_threads
    # a slice of encoded records only (no release state to encode) is passed through as it is
    markers = [e for e in plan.entries if not isinstance(e, PENDING) and e[0] == RELEASE_STATE_TOPIC]
    assert asyncio.run(_collect(markers, 1000)) == [markers]


def test_the_release_plans_with_the_cyclic_collector_paused_and_switches_it_back_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """services/collector.py: a year's plan took a quarter less time with the collector off."""
    enabled_while_planning: list[bool] = []

    def spy(*args: object, **kwargs: object) -> None:
        enabled_while_planning.append(gc.isenabled())
        raise RuntimeError("stop after the plan")

    monkeypatch.setattr(releaser_module, "plan_release", spy)
    at = datetime(2026, 2, 1, tzinfo=UTC)
    releaser = Releaser(
        AggregateSettings(), NormalizedState(), ManualClock(at), AggregateMetrics(), DisclosureParams()
    )
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="stop after the plan"):
        asyncio.run(releaser._release(at))
    assert enabled_while_planning == [False]
    assert gc.isenabled()


def test_the_collector_stays_paused_until_the_release_is_committed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan's objects stay alive while its records are encoded and sent: a collection then walks
    them all (services/collector.py); on again once the release is done, or has failed."""
    enabled_while_committing: list[bool] = []

    async def commit(self: Releaser, entries: Sequence[Entry], at: datetime, *, hold: bool = False) -> None:
        enabled_while_committing.append(gc.isenabled())

    monkeypatch.setattr(Releaser, "_commit", commit)
    at = datetime(2026, 2, 1, tzinfo=UTC)
    releaser = Releaser(
        AggregateSettings(), NormalizedState(), ManualClock(at), AggregateMetrics(), DisclosureParams()
    )
    assert gc.isenabled()
    plan = asyncio.run(releaser._release(at))
    assert plan.release_id and enabled_while_committing == [False, False]  # its state, then its cells
    assert gc.isenabled()
