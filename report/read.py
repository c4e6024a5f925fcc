"""Read the public aggregate topics as a subscriber reads them.

Committed records only (`isolation_level="read_committed"`: an aborted release is never seen), from
the beginning of each partition to the end it has when the read starts, every client authenticated
with `services.kafka_auth.client_options()` (the principal of whoever runs the report: a subscriber
may read the public topics and nothing else). Per key, the last value wins and a tombstone removes the
cell, as compaction would; `report.view.latest_per_cell` then keeps each cell's latest revision.

The reading itself is `services.compacted.read_compacted`, the one reader of a compacted topic.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from schemas.exchange.aggregates import TABLES, AnyMessage, parse_message, topic_of
from services.compacted import read_compacted


async def read_values(bootstrap: str, topics: Iterable[str], timeout_s: float = 300.0) -> list[bytes]:
    """The current value of every key of `topics` (last value per key, tombstones applied), by topic
    and key; a topic that does not exist yet has none."""
    out: list[bytes] = []
    for topic in sorted(set(topics)):
        values = await read_compacted(bootstrap, topic, timeout_s)
        out.extend(values[key] for key in sorted(values))
    return out


async def read_messages(bootstrap: str, prefix: str = "", tables: Iterable[str] = TABLES) -> list[AnyMessage]:
    """The latest message under every key of the tables' public topics (`prefix` + topic: a test's
    private copies). A value that is no valid message is reported on stderr and left out: the report
    prints only what a valid public message holds."""
    out: list[AnyMessage] = []
    for value in await read_values(bootstrap, [prefix + topic_of(t) for t in tables]):
        try:
            out.append(parse_message(value))
        except ValueError as exc:
            print(f"report: skipped a value that is no aggregate message: {exc}", file=sys.stderr)
    return out
