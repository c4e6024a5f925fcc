"""The duplicate decision (platform-events.md: a redelivery is counted, not forwarded; our own re-read
after a crash is forwarded again, never lost)."""

from __future__ import annotations

from services.ingest.dedup import Delivery, classify_delivery

A, B, C = "sedex.changes.v1/0/10", "sedex.changes.v1/3/77", "sedex.changes.v1/1/5"


def test_a_new_event_is_forwarded() -> None:
    assert classify_delivery([], A) is Delivery.FIRST and Delivery.FIRST.forwards


def test_our_reread_of_the_first_position_is_forwarded_again() -> None:
    assert classify_delivery([A], A) is Delivery.REPLAY and Delivery.REPLAY.forwards
    assert classify_delivery([A, B], A) is Delivery.REPLAY  # even after a redelivery was seen


def test_a_platform_redelivery_is_dropped_and_counted_once() -> None:
    assert classify_delivery([A], B) is Delivery.REDELIVERY and not Delivery.REDELIVERY.forwards
    assert classify_delivery([A, B], C) is Delivery.REDELIVERY  # a second redelivery elsewhere
    # our re-read of the redelivery's own position: already counted and remembered
    assert classify_delivery([A, B], B) is Delivery.REDELIVERY_AGAIN
    assert not Delivery.REDELIVERY_AGAIN.forwards
