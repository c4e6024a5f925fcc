"""A releaser that dies half-way through publishing: the crash hook of the release broker tests."""

from __future__ import annotations

from typing import Any

from services.aggregate.releaser import Releaser


class Crash(RuntimeError):
    pass


def crash_on_public_send(releaser: Releaser, n: int) -> None:
    """Make the releaser's `n`-th send to a public topic raise `Crash`, after flushing what it sent,
    so the aborted attempt's records are on the broker for a read_uncommitted reader to see."""
    producer = releaser._producer
    assert producer is not None, "establish the releaser first"
    real_send, sent = producer.send, 0

    async def failing_send(*args: Any, **kwargs: Any) -> Any:
        nonlocal sent
        sent += ".aggregates." in args[0]
        if sent == n:
            await producer.flush()
            raise Crash("the process dies here")
        return await real_send(*args, **kwargs)

    producer.send = failing_send
