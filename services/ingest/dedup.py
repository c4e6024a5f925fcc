"""The duplicate decision of ingest, pure: what to do with an admitted event, given where it was read
and where its event id was read before (`seen.SeenEvents.positions`, first position first).

* `FIRST`: never seen. Forward it and remember the position.
* `REPLAY`: read again at the position that first carried it. This is not the platform repeating
  itself but our own re-read (faust re-reads after a restart or rebalance, faust-streaming#596); the
  first output may not have reached Kafka, so forward it again: never lost, at worst present twice
  with one `ce_id`, which normalize absorbs.
* `REDELIVERY`: the platform sent the same event again, at a new position. Count it, remember the
  position, forward nothing.
* `REDELIVERY_AGAIN`: a redelivery read again at its own position (our re-read of it). Already
  counted and remembered: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class Delivery(StrEnum):
    FIRST = "first"
    REPLAY = "replay"
    REDELIVERY = "redelivery"
    REDELIVERY_AGAIN = "redelivery_again"

    @property
    def forwards(self) -> bool:
        """Whether the event goes to the accepted topic."""
        return self in (Delivery.FIRST, Delivery.REPLAY)


def classify_delivery(positions: Sequence[str], position: str) -> Delivery:
    """`positions`: where the event id was read so far (the first one forwarded it); `position`:
    `topic/partition/offset` of this read."""
    if not positions:
        return Delivery.FIRST
    if position == positions[0]:
        return Delivery.REPLAY
    if position in positions:
        return Delivery.REDELIVERY_AGAIN
    return Delivery.REDELIVERY
