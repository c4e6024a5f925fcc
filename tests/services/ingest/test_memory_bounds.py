"""Defect 6 of issue 14: what a burst of ~1 MB messages may hold in ingest is bounded by configuration
(docs/reliability.md, "Memory after bursts of large messages", has the arithmetic and the measured
figures of `python -m bench.burst`). These tests check that the bounds are configured, not RSS."""

from __future__ import annotations

from typing import Any

import pytest

from services import faust_app
from services.ingest.app import _PRODUCER_MAX_REQUEST_BYTES, create_app
from services.ingest.settings import IngestSettings
from services.memory import M_MMAP_THRESHOLD, fix_mmap_threshold
from services.topics import MAX_MESSAGE_BYTES


class FakeLibc:
    def __init__(self, answer: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


async def test_ingest_bounds_its_read_ahead_and_its_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed: list[int] = []

    def fix(threshold_bytes: int) -> bool:
        fixed.append(threshold_bytes)
        return True

    monkeypatch.setattr(faust_app, "fix_mmap_threshold", fix)
    settings = IngestSettings()
    app = create_app(settings)
    loop: Any = app.sx_batches  # type: ignore[attr-defined]
    consumer, producer = loop.consumer(), loop.producer()
    # Read ahead of the loop: at most 16 MiB over every partition, one maximal message per partition
    # (2 MiB plus framing) still fetched whole; at most 6,000 messages per batch.
    assert consumer._fetch_max_bytes == settings.fetch_max_bytes == 16 * 1024 * 1024
    assert consumer._max_partition_fetch_bytes == _PRODUCER_MAX_REQUEST_BYTES
    assert _PRODUCER_MAX_REQUEST_BYTES == MAX_MESSAGE_BYTES + 256 * 1024
    assert loop.settings.max_records == settings.batch_max_records == 6000
    assert producer._max_request_size == _PRODUCER_MAX_REQUEST_BYTES
    # Message-sized buffers are mapped on their own and given back when freed.
    assert fixed == [256 * 1024]


def test_the_threshold_is_set_with_mallopt_and_zero_leaves_glibc_alone() -> None:
    libc = FakeLibc()
    assert fix_mmap_threshold(256 * 1024, libc)
    assert libc.calls == [(M_MMAP_THRESHOLD, 256 * 1024)]
    assert not fix_mmap_threshold(0, libc) and len(libc.calls) == 1
    assert not fix_mmap_threshold(256 * 1024, FakeLibc(answer=0))  # refused: reported, not raised


def test_this_glibc_takes_the_threshold() -> None:
    assert fix_mmap_threshold(256 * 1024)  # the real allocator (the services run on glibc)
