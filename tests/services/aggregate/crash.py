"""A releaser that dies half-way through publishing: the crash hook of the release broker tests."""

from __future__ import annotations

from typing import Any

from services.aggregate.releaser import Releaser


class Crash(RuntimeError):
    pass


def crash_on_send(releaser: Releaser, n: int, *, public_only: bool = True) -> None:
    """Make the releaser die once it has handed `n` records (to a public topic, unless `public_only` is
    off) to its producer: the record batch that reaches `n` raises `Crash` instead of being sent, after
    what was sent before it is flushed, so the aborted attempt's records are on the broker for a
    read_uncommitted reader to see. The releaser sends record batches (`record_batches`), so this is
    the seam: a crash can only fall between two of them."""
    producer = releaser._producer
    assert producer is not None, "establish the releaser first"
    real_send_batch, sent = producer.send_batch, 0

    async def failing_send_batch(batch: Any, topic: str, *, partition: int) -> Any:
        nonlocal sent
        if not public_only or ".aggregates." in topic:
            sent += batch.record_count()
        if sent >= n:
            await producer.flush()
            raise Crash("the process dies here")
        return await real_send_batch(batch, topic, partition=partition)

    producer.send_batch = failing_send_batch


def crash_on_public_send(releaser: Releaser, n: int) -> None:
    """`crash_on_send` counting public records only: the releaser dies half-way through publishing."""
    crash_on_send(releaser, n)
