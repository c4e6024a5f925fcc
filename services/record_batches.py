"""Records handed to the producer as whole record batches, one delivery per batch.

aiokafka's `send()` costs, per record, a partitioner call, an accumulator lookup and a future whose
completion schedules callbacks on the event loop; profiled in normalize, that per-record bookkeeping
(`send`, `MessageBatch.done`, gathering the futures) took about a third of the service's time. Here a
batch of outputs is appended to one `create_batch()` builder per partition and each builder is sent
with `send_batch`: one future per record batch, whatever it holds.

Partitions are those `send()` would have chosen: the producer's own default partitioner (murmur2 of
the key, as the Java client and faust), so a key keeps the partition its earlier records went to.
Records of one partition keep their order: they are appended in order, and a full builder is sent
before the next one is started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from services.transaction import Sends

_KEY_PARTITIONER = DefaultPartitioner()


@dataclass(frozen=True, slots=True)
class Output:
    """One record to produce. `partition` None: the producer's key partitioner (murmur2, as faust's);
    a record without a key then goes to a random partition, as with `send()`."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp_ms: int | None = None
    partition: int | None = None


async def send_as_batches(sends: Sends, outputs: Iterable[Output]) -> None:
    """Every output into record batches of its partition, each sent through `sends` (with its
    producer) when full and the rest at the end; `sends.delivered()` then awaits them all."""
    producer = sends.producer
    partitions: dict[str, list[int]] = {}
    builders: dict[tuple[str, int], Any] = {}
    for out in outputs:
        partition = out.partition
        if partition is None:
            known = partitions.get(out.topic)
            if known is None:
                known = partitions[out.topic] = sorted(await producer.partitions_for(out.topic))
            partition = _KEY_PARTITIONER(out.key, known, known)
        builder = builders.get((out.topic, partition))
        if builder is None:
            builder = builders[(out.topic, partition)] = producer.create_batch()
        if not _append(builder, out):
            await sends.send_batch(builder, out.topic, partition=partition)  # full: sent as it is
            builder = builders[(out.topic, partition)] = producer.create_batch()
            _append(builder, out)  # an empty batch takes any one record, whatever its size
    for (topic, partition), builder in builders.items():
        await sends.send_batch(builder, topic, partition=partition)


def _append(builder: Any, out: Output) -> bool:
    """Whether the record went into the batch (False: the batch is full, and now closed)."""
    # aiokafka's BatchBuilder takes the timestamp in milliseconds, whatever its docstring says.
    meta = builder.append(key=out.key, value=out.value, timestamp=out.timestamp_ms, headers=out.headers)
    return meta is not None
