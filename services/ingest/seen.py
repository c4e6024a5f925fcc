"""Which platform events ingest has forwarded, kept per input partition in a compacted topic of its own.

Why not a faust Table: faust 0.15's table recovery resumes stream partitions before seeking them to
their committed offsets, so after every restart with a non-empty changelog some records are
processed twice and, through faust-streaming#606, one can be skipped for good (our acceptance test
lost about one event in three restarts). Without tables faust takes its fixed recovery path. The
state is the same shape a changelog would hold: key `platform:eventId`, value the positions that
carried it, `[first, *redeliveries]`.

**Co-partitioned with the input**, so that ingest can run as several instances of one consumer group:
the seen record of an event read from input partition p (of either platform topic) is written to
partition p of the seen topic, whose partition count is at least the input topics' (ingest refuses to
start otherwise). The instance that owns input partition p is then the only writer of the entries of
p, and it loads them (seen partition p, the entries of that platform) before it handles the first
event of p after an assignment; a revocation drops them, since another instance may add to them
while it owns the partition. Memory is per owned partition: ~100 B per event forwarded from it.

This relies on the contract: a redelivery has the same id and content (platform-events.md), and the
message key is derived from that content (the site or company reference; a key that does not match
is dead-lettered), so under the platforms' default partitioner a redelivery lands on the partition
that carried the first delivery. A redelivery on another partition would be met by an instance that
does not know the id: it is forwarded again, with the same `ce_id` and the same entity version, and
normalize absorbs it as stale (docs/ingest.md, "Several instances").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Final

from aiokafka import TopicPartition

from services.compacted import read_compacted_partitions

log = logging.getLogger("sx.ingest")

InputPartition = tuple[str, int]  # (platform topic, partition)
# Reads seen partitions from the start: partition -> key -> value.
Loader = Callable[[list[int]], Awaitable[dict[int, dict[str, bytes]]]]


def topic_loader(bootstrap: str, seen_topic: str) -> Loader:
    async def load(partitions: list[int]) -> dict[int, dict[str, bytes]]:
        tps = [TopicPartition(seen_topic, p) for p in partitions]
        states = await read_compacted_partitions(bootstrap, tps)
        return {tp.partition: state for tp, state in states.items()}

    return load


class SeenEvents:
    """The positions each event id was read at, for the input partitions this instance owns.

    `platforms`: platform topic -> platform name (the prefix of the dedup keys read from it).
    """

    def __init__(self, platforms: Mapping[str, str], loader: Loader) -> None:
        self._platforms = dict(platforms)
        self._load = loader
        self._entries: dict[InputPartition, dict[str, Sequence[str]]] = {}
        self._pending: set[InputPartition] = set()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def owned(self) -> set[InputPartition]:
        """The input partitions assigned to this instance: their entries held, or to be loaded."""
        return set(self._entries) | self._pending

    def assigned(self, tps: Iterable[tuple[str, int]]) -> None:
        """A rebalance gave this instance `tps` (the whole assignment): those not held are loaded
        together, before the first event of any of them is handled; any other held one is dropped."""
        mine = {(topic, partition) for topic, partition in tps if topic in self._platforms}
        for gone in set(self._entries) - mine:
            del self._entries[gone]
        self._pending = mine - set(self._entries)

    def revoked(self, tps: Iterable[tuple[str, int]]) -> None:
        """Another instance may own these now and add to their entries: forget them."""
        for tp in tps:
            self._entries.pop((tp[0], tp[1]), None)
            self._pending.discard((tp[0], tp[1]))

    def forget(self) -> None:
        """A batch failed and its transaction was aborted: entries it added may be in memory and not in
        the seen topic, so nothing held is trusted; the next assignment loads its partitions again."""
        self._entries.clear()
        self._pending.clear()

    async def ensure(self, topic: str, partition: int) -> bool:
        """Load the entries of (`topic`, `partition`) unless held, with every other pending one;
        whether it read the seen topic."""
        if (topic, partition) in self._entries:
            return False
        wanted = {*self._pending, (topic, partition)}
        states = await self._load(sorted({p for _, p in wanted}))
        for t, p in wanted:
            prefix = f"{self._platforms[t]}:"
            self._entries[(t, p)] = {
                key: json.loads(value) for key, value in states.get(p, {}).items() if key.startswith(prefix)
            }
        self._pending -= wanted
        log.info(
            "loaded the seen events of %s",
            ", ".join(f"{t}[{p}] ({len(self._entries[(t, p)])})" for t, p in sorted(wanted)),
        )
        return True

    def positions(self, topic: str, partition: int, key: str) -> Sequence[str]:
        """Where `key` was read so far in this input partition; `ensure` it first."""
        return self._entries[(topic, partition)].get(key, _NOWHERE)

    def record(self, topic: str, partition: int, key: str, positions: Sequence[str]) -> bytes:
        """Updates memory; returns the value to write to partition `partition` of the seen topic."""
        self._entries[(topic, partition)][key] = positions
        # json.dumps(positions, separators=(",", ":")) without its cost: a position is
        # `topic/partition/offset`, and a Kafka topic name is [a-zA-Z0-9._-], nothing JSON escapes.
        return ('["' + '","'.join(positions) + '"]').encode()


_NOWHERE: Final[tuple[str, ...]] = ()  # an id never read: no list made for each new event
