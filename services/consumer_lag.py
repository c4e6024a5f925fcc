"""`sx_consumer_lag_messages`: how far a service's consumer is behind the end of the topics it reads.

A service that falls behind looks healthy on every other metric: `/health` is 200, nothing fails, the
rates just stay below the platforms' rate. Lag is the one number that says so, and its trend (growing
for minutes) is what the `SxConsumerLagGrowing` alert reads (deploy/prometheus/alerts.yml).

The gauge is computed at scrape time from what the consumer already knows, with no request to the
broker: for each assigned partition, the high-water mark from the last fetch response minus the position
after the last message the worker handled. A transactional topic's commit markers occupy offsets too,
so the lag of a caught-up reader of such a topic can read 1 or 2 instead of 0: the alert looks at
growth and at a threshold far above that. A partition with no high-water mark yet (no fetch answered)
or no message handled since its assignment contributes nothing rather than a guess.

Labels are bounded: one `topic` per topic the service subscribes to (a fixed set); partitions are summed,
as the alert and the dashboard look at a topic, and partitions would multiply the series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

NAME = "sx_consumer_lag_messages"
HELP = (
    "Messages between the end of each subscribed topic (high-water mark, summed over the assigned "
    "partitions) and the position after the last message this worker handled."
)


class ReadPositions:
    """What `lag_by_topic` reads, kept by a batch loop with its own aiokafka consumer (ingest's
    `services.transactional_batches`, normalize's `batches`): the consumer's assignment and the
    high-water marks of its last fetch, and the offset of the last record the loop handled and
    committed per partition (`read_offsets`, which the loop sets)."""

    def __init__(self) -> None:
        self.consumer: AIOKafkaConsumer | None = None
        self.read_offsets: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return set(self.consumer.assignment()) if self.consumer is not None else set()

    def highwater(self, tp: TopicPartition) -> int | None:
        if self.consumer is None:
            return None
        mark: int | None = self.consumer.highwater(tp)
        return mark


def lag_by_topic(consumer: Any) -> dict[str, int]:
    """Lag per topic of a consumer (a `ReadPositions`), from its assignment, high-water marks and read
    offsets. Any error reading the consumer yields no lag rather than a failed scrape: `/metrics` must
    keep answering."""
    lags: dict[str, int] = defaultdict(int)
    try:
        assignment = consumer.assignment()
        read_offsets: Mapping[Any, int | None] = getattr(consumer, "read_offsets", {})
    except Exception:
        return {}
    for tp in assignment:
        try:
            highwater = consumer.highwater(tp)
        except Exception:
            continue
        read = read_offsets.get(tp)
        if highwater is None or read is None:
            continue
        lags[tp.topic] += max(0, int(highwater) - (int(read) + 1))
    return dict(lags)


class ConsumerLag(Collector):
    """A collector for a registry: asks `consumer()` at each scrape, so it follows rebalances and a
    consumer created after the registry (each loop creates its consumer when it starts)."""

    def __init__(self, consumer: Callable[[], Any]) -> None:
        self._consumer = consumer

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe() the registry would call collect() at registration, before faust started.
        yield GaugeMetricFamily(NAME, HELP, labels=["topic"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(NAME, HELP, labels=["topic"])
        for topic, lag in sorted(lag_by_topic(self._consumer()).items()):
            family.add_metric([topic], lag)
        yield family
