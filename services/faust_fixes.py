"""A correction to faust-streaming's offset commit, applied by every service.

faust 0.15.x commits past a message that sits at the committed offset while later ones are acked
(faust-streaming/faust#606; the open pull request #707 proposes the same rule): after a restart or a
rebalance, faust's recovery can drop fetched messages from its queues (#596) and then commit over
the first of them, which is then never processed. With tables, faust's recovery resumes stream
partitions before seeking them (which is why ingest keeps its state outside faust tables, see
services/ingest/seen.py); concurrency > 1 triggers it too (#606). The rule restored here is at-least-once's
own invariant: never
commit beyond an offset that was neither processed nor is a known gap in the partition (compaction,
transaction markers: faust records those in `_gap`).

Remove when faust ships the fix; `tests/services/test_faust_fixes.py` fails once it is redundant.
"""

from __future__ import annotations

from typing import Any

from faust.transport.consumer import Consumer

_original_new_offset = Consumer._new_offset


def _new_offset(self: Any, tp: Any) -> int | None:
    acked = self._acked[tp]
    committed = self._committed_offset[tp]
    if acked and committed is not None and min(acked) > committed and not self._gap[tp].overlaps(committed):
        return None  # the message at `committed` is still in flight, or was dropped and will be re-read
    result: int | None = _original_new_offset(self, tp)
    return result


def apply() -> None:
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
