"""The key rotation against Kafka: read, plan (`plan.py`), and write everything in one transaction.

With normalize and aggregate stopped (their groups empty; events may keep arriving through ingest):

1. a transactional producer with aggregate's releaser id starts first: it fences a releaser that is
   still alive, and aborts the open transaction of a rotation that crashed, so what is read next is
   exactly what committed;
2. normalize's state, aggregate's release log, the accepted topic up to its end offsets now, and
   normalize's committed offsets are read; the plan is made in memory;
3. one transaction writes the new state, the old keys' tombstones, the dead letters, the renamed log,
   and moves normalize's group to those end offsets (what the replay read normalize must not read
   again; what arrived after, it reads under the new key).

A crash before the commit leaves everything as it was (the transaction aborts when the next rotation or
releaser starts, or when it times out); running the command again finishes the job. After the commit,
running it again says the state is already under the new key.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, TopicPartition

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC
from services.aggregate.lease import LEASE_GROUP_SUFFIX
from services.aggregate.settings import AggregateSettings
from services.compacted import from_the_start, partitions, read_compacted
from services.groups import committed_offsets, group_is_empty
from services.kafka_auth import client_options
from services.normalize.dead_letter import dead_letter_record
from services.normalize.keycheck import KeyMismatchError, key_ids_in_state
from services.normalize.keys import KeyMaterial
from services.normalize.settings import NormalizeSettings
from services.normalize.state import read_state
from services.transaction import transaction

from .plan import AcceptedRecord, Held, RotationPlan, RotationRefused, plan_rotation

# The broker's default transaction.max.timeout.ms: a rotation of years of history writes a lot.
TRANSACTION_TIMEOUT_MS = 900_000


@dataclass(frozen=True, slots=True)
class Rotated:
    outcome: str  # "rotated", "dry run", "already rotated", "nothing to rotate"
    plan: RotationPlan | None = None
    events: int = 0


async def _read_accepted(
    bootstrap: str, topic: str
) -> tuple[list[AcceptedRecord], dict[TopicPartition, int]]:
    tps = (await partitions(bootstrap, [topic]))[topic]
    if not tps:
        raise RotationRefused(f"the accepted topic {topic} does not exist")
    events: dict[TopicPartition, list[AcceptedRecord]] = {tp: [] for tp in tps}
    async with from_the_start(bootstrap, tps) as (consumer, ends):
        deadline = time.monotonic() + 600
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end offsets")
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).items():
                events[tp].extend(
                    AcceptedRecord(tp.partition, r.offset, r.value) for r in records if r.offset < ends[tp]
                )
    return [e for tp in tps for e in events[tp]], ends


async def rotate(
    normalize: NormalizeSettings,
    aggregate: AggregateSettings,
    old: KeyMaterial,
    new: KeyMaterial,
    *,
    dry_run: bool = False,
    hold_seconds: float = 0.0,  # crash tests only: the records are on the broker, uncommitted
) -> Rotated:
    """Raises `RotationRefused` or `KeyMismatchError`; in both cases nothing was written."""
    bootstrap = normalize.bootstrap_servers
    for who, group in (
        ("normalize", normalize.app_id),
        ("normalize", normalize.lease_group),  # a standby would take over as soon as the active stops
        ("aggregate", aggregate.app_id + LEASE_GROUP_SUFFIX),
    ):
        if not await group_is_empty(bootstrap, group):
            raise RotationRefused(f"{who}'s consumer group {group} has members: stop {who} first")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **client_options(),
        transactional_id=f"{aggregate.app_id}-releases",
        enable_idempotence=True,
        acks="all",
        max_request_size=8 * 1024 * 1024,
        transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
    )
    await producer.start()  # InitProducerId: fences a live releaser, aborts a crashed rotation
    try:
        state = await read_state(normalize)
        held_ids = key_ids_in_state(state)
        if not held_ids:
            return Rotated("nothing to rotate")
        if held_ids == {new.key_id}:
            return Rotated("already rotated")
        if held_ids - {old.key_id}:
            raise KeyMismatchError(held_ids, old.key_id)
        log_topic = aggregate.topic(RELEASE_STATE_TOPIC)
        release_log = {k.encode(): v for k, v in (await read_compacted(bootstrap, log_topic)).items()}
        events, ends = await _read_accepted(bootstrap, normalize.accepted_topic)
        committed = await committed_offsets(bootstrap, normalize.app_id, normalize.accepted_topic)
        held = Held(events, committed, state, release_log)
        plan = await asyncio.to_thread(
            plan_rotation, held, old, new, default_consent=normalize.default_consent
        )
        if dry_run:
            return Rotated("dry run", plan, len(events))
        async with transaction(producer) as tx:
            for r in plan.normalize:
                await tx.send(normalize.topic(r.topic), r.value, key=r.key.encode(), headers=list(r.headers))
            for d in plan.dead_letters:
                letter, headers = dead_letter_record(
                    normalize.accepted_topic, d.partition, d.offset, d.reason_class, d.reason
                )
                await tx.send(normalize.dlq_topic, letter, headers=headers)
            for key, renamed in sorted(plan.release_log.items(), key=lambda kv: kv[1] is None):
                await tx.send(log_topic, renamed, key=key)
            await producer.send_offsets_to_transaction(ends, normalize.app_id)
            if hold_seconds:
                await producer.flush()
                await asyncio.sleep(hold_seconds)
        return Rotated("rotated", plan, len(events))
    finally:
        await producer.stop()
