"""deliver's memory, kept in Kafka: what is done per endpoint, and the dead letters.

The state topic (`exchange.deliver.state.v1`, compacted, key = endpoint name) holds each endpoint's
`DeliveryRecord`: the last release delivered or dead-lettered for it. A dead letter and the state
that moves past it are written in one transaction, so a crash between the two can neither lose the
dead letter nor write it twice. The producer is transactional for a second reason: starting it
fences a previous deliver with the same app id (a zombie) and aborts a transaction it left open,
before the state is read back.

A release POSTed and acknowledged but not yet recorded when deliver dies is POSTed again after the
restart, with the same `webhook-id` (signing.webhook_id): a receiver that remembers ids sees it as
the repeat it is. That window is the one place a receiver can see a request twice; the state makes
sure it is never more than the release in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, ProducerFenced

from schemas.exchange.deliver import DeliverDeadLetter, DeliveryRecord
from schemas.topics import DELIVER_DLQ_TOPIC, DELIVER_STATE_TOPIC
from services.compacted import read_compacted
from services.kafka_auth import client_options
from services.transaction import transaction

from .backoff import backoff_delay
from .settings import DeliverSettings

log = logging.getLogger("sx.deliver.ledger")


class Ledger:
    def __init__(self, settings: DeliverSettings) -> None:
        self.settings = settings
        self.state_topic = settings.topic(DELIVER_STATE_TOPIC)
        self.dlq_topic = settings.topic(DELIVER_DLQ_TOPIC)
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """A new transactional producer: fences any older deliver with this app id."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            transactional_id=f"{self.settings.app_id}-ledger",
            enable_idempotence=True,
            acks="all",
            transaction_timeout_ms=self.settings.transaction_timeout_ms,
            **client_options(),
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def load(self) -> dict[str, DeliveryRecord]:
        """Endpoint name -> its last done release, from the state topic (committed records only)."""
        state = await read_compacted(self.settings.bootstrap_servers, self.state_topic)
        records = {name: DeliveryRecord.model_validate_json(value) for name, value in state.items()}
        for name, record in records.items():
            if record.endpoint != name:
                raise ValueError(f"state record keyed {name!r} is for endpoint {record.endpoint!r}")
        return records

    async def record(self, done: DeliveryRecord, dead_letter: DeliverDeadLetter | None = None) -> None:
        """Write the state (and the dead letter) in one transaction; retried until it commits, since
        the release is done at the receiver's end already. A fence is fatal: another deliver runs."""
        failures = 0
        while True:
            try:
                async with self._lock:
                    if self._producer is None:
                        await self.start()
                    producer = self._producer
                    assert producer is not None
                    key = done.endpoint.encode()
                    async with transaction(producer) as tx:
                        if dead_letter is not None:
                            await tx.send(
                                self.dlq_topic,
                                dead_letter.model_dump_json().encode(),
                                key=key,
                                headers=[("content-type", b"application/json")],
                            )
                        await tx.send(self.state_topic, done.model_dump_json().encode(), key=key)
                return
            except ProducerFenced:
                log.error("fenced: another deliver with this app id took over; stopping")
                raise
            except KafkaError as exc:
                failures += 1
                log.warning("cannot record a delivery (%s); retrying", type(exc).__name__)
                async with self._lock:
                    await self._drop_producer()
                await asyncio.sleep(backoff_delay(failures, 0.5, 30.0))

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError):
                await producer.stop()
