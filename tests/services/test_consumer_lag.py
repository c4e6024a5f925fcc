"""`sx_consumer_lag_messages`: the lag a scrape reports is the high-water mark minus the position after
the last handled message, summed per topic, and a consumer that cannot answer never breaks `/metrics`."""

from __future__ import annotations

from typing import Any, NamedTuple

import faust
from prometheus_client import CollectorRegistry, generate_latest

from services.consumer_lag import ConsumerLag, lag_by_topic
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from services.web import install_endpoints


class TP(NamedTuple):
    topic: str
    partition: int


class FakeConsumer:
    """The three things the collector reads from a loop's `ReadPositions`, with fixed values."""

    def __init__(self, highwaters: dict[TP, int | None], read: dict[TP, int | None]) -> None:
        self.highwaters = highwaters
        self.read_offsets = read

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters[tp]


def test_lag_is_summed_per_topic_over_the_assigned_partitions() -> None:
    a0, a1, b0 = TP("exchange.platform.sedex", 0), TP("exchange.platform.sedex", 1), TP("other", 0)
    consumer = FakeConsumer({a0: 100, a1: 50, b0: 10}, {a0: 89, a1: 49, b0: 9})
    # a0: 100 - 90 = 10 behind; a1: caught up (next offset 50 is the high-water mark); b0: caught up.
    assert lag_by_topic(consumer) == {"exchange.platform.sedex": 10, "other": 0}


def test_partitions_without_a_highwater_or_a_handled_message_add_nothing() -> None:
    fresh, unread, known = TP("t", 0), TP("t", 1), TP("t", 2)
    consumer = FakeConsumer({fresh: None, unread: 500, known: 7}, {fresh: 3, unread: None, known: 2})
    assert lag_by_topic(consumer) == {"t": 4}


def test_a_consumer_that_raises_gives_no_lag_instead_of_an_error() -> None:
    class Broken:
        def assignment(self) -> Any:
            raise RuntimeError("consumer not started")

    assert lag_by_topic(Broken()) == {}


def test_the_collector_exports_the_gauge_at_each_scrape() -> None:
    tp = TP("exchange.accepted.v1", 0)
    consumer = FakeConsumer({tp: 20}, {tp: 4})
    registry = CollectorRegistry()
    registry.register(ConsumerLag(lambda: consumer))
    text = generate_latest(registry).decode()
    assert 'sx_consumer_lag_messages{topic="exchange.accepted.v1"} 15.0' in text
    consumer.read_offsets[tp] = 19  # the worker caught up: the next scrape says so
    assert registry.get_sample_value("sx_consumer_lag_messages", {"topic": "exchange.accepted.v1"}) == 0


def test_ingest_exports_the_lag_of_its_consumer_and_a_worker_without_one_does_not() -> None:
    """Wired by services.web.install_endpoints: a scrape before the consumer started shows the family
    without samples (nothing assigned), not an error; a worker that gives no lag source (aggregate,
    deliver) exports none."""
    registry = CollectorRegistry()
    create_app(IngestSettings.from_env({}), registry=registry)
    text = generate_latest(registry).decode()
    assert "# TYPE sx_consumer_lag_messages gauge" in text
    assert "\nsx_consumer_lag_messages{" not in text

    without = CollectorRegistry()
    install_endpoints(faust.App("sx-test-no-consumer"), without, lambda: {"status": "ok"})
    assert "sx_consumer_lag_messages" not in generate_latest(without).decode()
