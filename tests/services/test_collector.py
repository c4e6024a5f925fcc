"""The collector's pause (services/collector.py): off while any pause is open, back on after the last,
never switched on by a pause that found it off; and the reason pausing costs no memory, that a plan of
a release leaves nothing for the cyclic collector to free."""

from __future__ import annotations

import gc
import importlib
import inspect
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.aggregate.disclosure import DisclosureParams
from services.aggregate.planner import plan_release
from services.aggregate.release import ReleaseLog
from services.collector import collector_paused, tune_for_streaming
from tests.services.aggregate.release_setup import feed_state


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_after_even_when_the_block_fails() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the plan failed")
    assert gc.isenabled()


def test_overlapping_pauses_end_with_the_last_one() -> None:
    first_open, second_open, first_done = threading.Event(), threading.Event(), threading.Event()
    states: dict[str, bool] = {}

    def first() -> None:
        with collector_paused():
            first_open.set()
            second_open.wait(10)
        states["after the first"] = gc.isenabled()
        first_done.set()

    worker = threading.Thread(target=first)
    worker.start()
    assert first_open.wait(10)
    with collector_paused():
        second_open.set()
        assert first_done.wait(10)
        states["second still open"] = gc.isenabled()
    worker.join(10)
    assert states == {"after the first": False, "second still open": False}
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_a_plan_makes_no_cyclic_garbage() -> None:
    state = feed_state()
    at = datetime(2026, 6, 1, tzinfo=UTC)
    gc.collect()
    gc.disable()
    try:
        plan = plan_release(state, ReleaseLog(), DisclosureParams(), at)
        del plan
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0


@pytest.fixture
def collector_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector_restored")
def test_tuned_the_young_generation_waits_for_a_batch_and_the_start_up_is_never_walked() -> None:
    gc.set_threshold(700, 10, 10)  # CPython's default
    gc.unfreeze()
    held_at_start = [object() for _ in range(10)], {"state": [1, 2]}
    tune_for_streaming()
    young, older, oldest = gc.get_threshold()
    assert young >= 10_000  # hundreds of thousands of a batch's objects, not every 700
    assert (older, oldest) >= (10, 10)
    assert gc.get_freeze_count() > 0
    assert not any(held_at_start[1] is o for generation in range(3) for o in gc.get_objects(generation))
    # cycles are still collected, only later
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


@pytest.mark.parametrize(
    ("module", "function", "before"),
    [
        ("services.ingest.__main__", "main", "execute_from_commandline"),
        ("services.normalize.__main__", "main", "execute_from_commandline"),
        ("services.normalize.mappers", "_start", None),
    ],
)
def test_the_streaming_processes_tune_their_collector_once_started(
    module: str, function: str, before: str | None
) -> None:
    """Ingest, normalize and normalize's mapper processes call it when their start-up is done (read from
    the source: running them needs a broker, a key and a parent to die with)."""
    source = inspect.getsource(getattr(importlib.import_module(module), function))
    assert "tune_for_streaming()" in source
    if before is not None:
        assert source.index("tune_for_streaming()") < source.index(before)
