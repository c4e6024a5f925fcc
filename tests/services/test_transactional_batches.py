"""The batch loop's producer settings (the loop's behaviour against a broker is ingest's broker tests')."""

from __future__ import annotations

import logging
from dataclasses import replace
from types import SimpleNamespace

from aiokafka import TopicPartition
from aiokafka.errors import ConcurrentTransactions
from aiokafka.producer.sender import AddPartitionsToTxnHandler

from services.ingest.app import loop_settings
from services.ingest.settings import IngestSettings
from services.transactional_batches import LoopSettings, TransactionalBatches


class _NoBatches:
    def assigned(self, tps: object) -> None: ...
    def revoked(self, tps: object) -> None: ...
    async def process(self, batch: object) -> object: ...
    def reset(self) -> None: ...


SETTINGS = LoopSettings(
    bootstrap_servers="127.0.0.1:9",
    group_id="g",
    topics=("t",),
    transactional_id="tx",
    session_timeout_ms=10_000,
    transaction_timeout_ms=10_000,
    max_records=10,
    max_partition_fetch_bytes=1_000_000,
    fetch_max_bytes=1_000_000,
    max_request_size=1_000_000,
)


async def test_the_transactional_producer_retries_a_refused_request_after_5_ms_not_aiokafkas_100() -> None:
    """A TxnOffsetCommit the group coordinator refuses for now is retried after this wait; at
    aiokafka's default it held a batch over 100 ms (docs/ingest.md, "Latency")."""
    for settings, seconds in ((SETTINGS, 0.005), (replace(SETTINGS, retry_backoff_ms=250), 0.25)):
        producer = TransactionalBatches(settings, _NoBatches(), logging.getLogger("test")).producer()  # type: ignore[arg-type]
        try:
            assert producer._sender._retry_backoff == seconds
        finally:
            await producer.stop()


def test_ingest_passes_its_retry_backoff_to_the_loop() -> None:
    assert loop_settings(IngestSettings()).retry_backoff_ms == 5
    assert loop_settings(IngestSettings(retry_backoff_ms=35)).retry_backoff_ms == 35


async def test_a_new_transaction_refused_while_the_last_one_completes_is_asked_again_after_5_ms() -> None:
    """AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS (the previous transaction's markers not yet
    written) is retried after the loop's retry wait, not aiokafka's fixed 20 ms; a wait set above
    20 ms leaves aiokafka's. Read from aiokafka's own handler, so an aiokafka that stops reading its
    module constant fails here."""
    for retry_backoff_ms, seconds in ((5, 0.005), (250, 0.02), (5, 0.005)):
        settings = replace(SETTINGS, retry_backoff_ms=retry_backoff_ms)
        producer = TransactionalBatches(settings, _NoBatches(), logging.getLogger("test")).producer()  # type: ignore[arg-type]
        try:
            assert not producer._txn_manager.txn_partitions  # a transaction about to add its first
            handler = AddPartitionsToTxnHandler(producer._sender, [TopicPartition("t", 0)])
            refused = SimpleNamespace(errors=[("t", [(0, ConcurrentTransactions.errno)])])
            assert handler.handle_response(refused) == seconds
        finally:
            await producer.stop()
