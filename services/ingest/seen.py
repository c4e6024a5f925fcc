"""Which platform events ingest has forwarded, kept in a compacted topic of its own.

Why not a faust Table: faust 0.15's table recovery resumes stream partitions before seeking them to
their committed offsets, so after every restart with a non-empty changelog some records are
processed twice and, through faust-streaming#606, one can be skipped for good (our acceptance test
lost about one event in three restarts). Without tables faust takes its fixed recovery path. The
state is the same shape a changelog would hold: key `platform:eventId`, value the positions that
carried it, `[first, *redeliveries]`; it is read back in full before the worker starts.

Every ingest process loads all of it (memory: every id within the topic's life, ~100 B per event).
A process does not follow what other processes add after it started, so ingest is run as one process;
with several, a partition moved by a rebalance would miss the ids forwarded since the start.
"""

from __future__ import annotations

import json

from services.compacted import read_compacted


class SeenEvents:
    def __init__(self, entries: dict[str, list[str]] | None = None) -> None:
        self._entries: dict[str, list[str]] = entries or {}

    def __len__(self) -> int:
        return len(self._entries)

    def positions(self, key: str) -> list[str]:
        return self._entries.get(key, [])

    def record(self, key: str, positions: list[str]) -> bytes:
        """Updates memory; returns the value to write to the topic."""
        self._entries[key] = positions
        return json.dumps(positions, separators=(",", ":")).encode()

    @classmethod
    async def load(cls, bootstrap: str, topic: str) -> SeenEvents:
        state = await read_compacted(bootstrap, topic)
        return cls({key: json.loads(value) for key, value in state.items()})
