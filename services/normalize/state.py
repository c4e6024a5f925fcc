"""normalize's state as it stands on the broker: its compacted topics, read back whole.

What the key rotation proves its replay against, and what an operator's tools compare with (the
service itself restores from its standby's follower, `standby.Follower`)."""

from __future__ import annotations

from services.compacted import partitions, read_compacted_partitions

from .settings import NormalizeSettings


async def read_state(settings: NormalizeSettings) -> dict[str, dict[str, bytes]]:
    """canonical topic -> key -> value, tombstoned keys absent (a missing topic is empty); every
    partition of every topic read by one consumer."""
    canonical = {settings.topic(n): n for n in settings.state_topics}
    found = await partitions(settings.bootstrap_servers, canonical)
    by_partition = await read_compacted_partitions(
        settings.bootstrap_servers, [tp for tps in found.values() for tp in tps]
    )
    state: dict[str, dict[str, bytes]] = {n: {} for n in settings.state_topics}
    for tp, entries in by_partition.items():
        state[canonical[tp.topic]].update(entries)
    return state
