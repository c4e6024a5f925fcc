"""The follower's reading of aggregate's release-state topic: only the marker counts, and an unreadable
one is counted and skipped, never a crash (no broker needed for that part)."""

from __future__ import annotations

from aiokafka import TopicPartition

from schemas.exchange.aggregates import LAST_RELEASE_KEY, PENDING_RELEASE_KEY
from services.aggregate.release import marker_value
from services.deliver.assembly import ReleaseAssembler
from services.deliver.follow import ReleaseFollower
from services.deliver.metrics import DeliverMetrics
from services.deliver.settings import DeliverSettings
from tests.services.deliver.releases import release_time

TP = TopicPartition("exchange.aggregate.releases.v1", 0)


def follower() -> ReleaseFollower:
    return ReleaseFollower(DeliverSettings(), ReleaseAssembler(), lambda release: None, DeliverMetrics())


def test_only_the_release_marker_marks_a_release() -> None:
    f = follower()
    assert f._marker(LAST_RELEASE_KEY, marker_value(release_time(3)), TP, 7) == release_time(3)
    # Recorded but not yet published: not a release anyone may be told about.
    assert f._marker(PENDING_RELEASE_KEY, marker_value(release_time(4)), TP, 8) is None
    assert f._marker(b'{"cell":{},"table":"forced-labour"}', b"{}", TP, 9) is None
    assert f._marker(LAST_RELEASE_KEY, None, TP, 10) is None


def test_an_unreadable_marker_is_counted_and_skipped() -> None:
    f = follower()
    assert f._marker(LAST_RELEASE_KEY, b'{"release_id":"yesterday"}', TP, 7) is None
    assert f.metrics.registry.get_sample_value("sx_deliver_messages_invalid_total") == 1
