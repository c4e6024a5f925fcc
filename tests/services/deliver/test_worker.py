"""One endpoint's worker without Kafka or a network: an httpx MockTransport as the receiver, a ledger
that remembers what it was told. Retries keep the webhook-id and re-sign; the state decides what is
owed; the metrics carry the endpoint's name and never the URL."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest

from schemas.exchange.aggregates import FORCED_LABOUR, ISSUE_PREVALENCE
from schemas.exchange.deliver import DeliverDeadLetter, DeliveryRecord, ReleaseWebhook
from services.aggregate.release import encode_message
from services.deliver import worker as worker_module
from services.deliver.assembly import CompleteRelease, ReleaseAssembler
from services.deliver.endpoints import Endpoint, Secret
from services.deliver.ledger import Ledger
from services.deliver.metrics import DeliverMetrics
from services.deliver.settings import DeliverSettings
from services.deliver.worker import EndpointWorker
from tests.services.deliver.releases import new_secret, release_messages, release_time
from tests.services.deliver.verifier import verify

SECRET = new_secret(3)
URL = "https://hooks.example/sx?token=do-not-leak"


class RecordingLedger(Ledger):
    def __init__(self) -> None:
        super().__init__(DeliverSettings())
        self.records: list[tuple[DeliveryRecord, DeliverDeadLetter | None]] = []

    async def record(self, done: DeliveryRecord, dead_letter: DeliverDeadLetter | None = None) -> None:
        self.records.append((done, dead_letter))


def complete(n: int) -> CompleteRelease:
    assembler = ReleaseAssembler()
    for message in release_messages(n):
        key, value, _ = encode_message(message)
        assembler.add(message.table, key, value)
    release = assembler.complete(release_time(n))
    assert release is not None
    return release


class Receiver:
    """Answers with the next status of `script` (then 200), verifying each request like a receiver."""

    def __init__(self, *script: int | type[httpx.TransportError]) -> None:
        self.script: list[int | type[httpx.TransportError]] = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        verify(SECRET, dict(request.headers), request.content, time.time())
        step = self.script.pop(0) if self.script else 200
        if isinstance(step, type):
            raise step("scripted", request=request)
        return httpx.Response(step)


def make_worker(receiver: Receiver, done: datetime | None = None, **settings: Any) -> EndpointWorker:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    endpoint = Endpoint("sedex-main", "sedex", URL, Secret.parse(SECRET), (ISSUE_PREVALENCE, FORCED_LABOUR))
    worker = EndpointWorker(
        endpoint,
        DeliverSettings(max_attempts=4, backoff_base_seconds=2.0, **settings),
        RecordingLedger(),
        DeliverMetrics(endpoints=["sedex-main"]),
        httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
        done,
        draw=lambda: 0.0,
        sleep=sleep,
    )
    worker.sleeps = sleeps  # type: ignore[attr-defined]
    return worker


async def test_retries_keep_the_webhook_id_and_back_off_until_acknowledged() -> None:
    receiver = Receiver(500, 503, httpx.ConnectError)
    worker = make_worker(receiver)
    worker.offer(complete(0))
    await worker.deliver(worker.queue[0])
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 4 and len(ids) == 1
    assert worker.sleeps == [1.0, 2.0, 4.0]  # type: ignore[attr-defined]
    ledger = worker.ledger
    assert isinstance(ledger, RecordingLedger)
    ((record, letter),) = ledger.records
    assert (record.outcome, record.attempts, record.webhook_id, letter) == ("delivered", 4, ids.pop(), None)
    body = ReleaseWebhook.model_validate_json(receiver.requests[-1].content)
    assert body.data.release_id == release_time(0) and len(body.data.messages) == 5
    metrics = generate_latest(worker.metrics.registry).decode()
    assert 'sx_deliver_attempts_total{endpoint="sedex-main",outcome="failed"} 3.0' in metrics
    assert 'sx_deliver_failures_total{endpoint="sedex-main",reason="connect"} 1.0' in metrics
    assert "hooks.example" not in metrics and "do-not-leak" not in metrics


async def test_after_the_last_attempt_the_release_is_dead_lettered_as_a_pointer() -> None:
    receiver = Receiver(401, 401, 401, 401)
    worker = make_worker(receiver)
    worker.offer(complete(0))
    await worker.deliver(worker.queue[0])
    assert len(receiver.requests) == 4
    ledger = worker.ledger
    assert isinstance(ledger, RecordingLedger)
    ((record, letter),) = ledger.records
    assert record.outcome == "dead_lettered" and letter is not None
    assert (letter.reason_class, letter.last_status, letter.attempts, letter.messages) == (
        "http_4xx",
        401,
        4,
        5,
    )
    text = letter.model_dump_json()
    assert "hooks.example" not in text and SECRET[6:] not in text and "audited_sites" not in text
    assert (
        'sx_deliver_dead_letters_total{endpoint="sedex-main"} 1.0'
        in generate_latest(worker.metrics.registry).decode()
    )


async def test_a_slow_receiver_times_out_and_is_retried() -> None:
    calls = 0

    async def slow_then_fast(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200)

    worker = make_worker(Receiver())
    worker.client = httpx.AsyncClient(transport=httpx.MockTransport(slow_then_fast))
    worker.offer(complete(0))
    await worker.deliver(worker.queue[0])
    assert calls == 2
    assert 'reason="timeout"} 1.0' in generate_latest(worker.metrics.registry).decode()


def test_a_release_done_is_never_offered_again_nor_one_older_than_the_queue() -> None:
    worker = make_worker(Receiver(), done=release_time(1))
    for n in (0, 1, 2, 2, 3):
        worker.offer(complete(n))
    assert [o.release_id for o in worker.queue] == [release_time(2), release_time(3)]
    assert (
        'sx_deliver_backlog_releases{endpoint="sedex-main"} 2.0'
        in generate_latest(worker.metrics.registry).decode()
    )


def test_the_idempotency_check_is_what_stops_the_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """The protection switched off: with `owed` saying yes to everything, the release the state says
    is done is queued (and would be POSTed) again, so the test above would fail."""
    monkeypatch.setattr(worker_module, "owed", lambda done, release: True)
    worker = make_worker(Receiver(), done=release_time(1))
    worker.offer(complete(1))
    assert [o.release_id for o in worker.queue] == [release_time(1)]
