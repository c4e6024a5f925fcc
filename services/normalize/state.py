"""normalize's state as it stands on the broker: its compacted topics, read back whole.

What a restart rebuilds from (`engine.restore`), what the key check reads, and what the key rotation
proves its replay against."""

from __future__ import annotations

import asyncio

from services.compacted import read_compacted

from .settings import NormalizeSettings


async def read_state(settings: NormalizeSettings) -> dict[str, dict[str, bytes]]:
    """canonical topic -> key -> value, tombstoned keys absent; the topics are read at once."""
    names = settings.state_topics
    values = await asyncio.gather(
        *(read_compacted(settings.bootstrap_servers, settings.topic(n)) for n in names)
    )
    return dict(zip(names, values, strict=True))
