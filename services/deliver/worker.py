"""One endpoint's delivery loop: its queue of owed releases, oldest first, each POSTed until it is
acknowledged or dead-lettered (decisions.py), then recorded (ledger.py) before the next.

Each endpoint has its own worker, so a receiver that is down delays only itself. Nothing here logs
the URL or any part of the request: log lines and metric labels name the endpoint, and httpx's own
request log is silenced in `app.py` (it would print the URL).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from schemas.exchange.aggregates import format_release_time
from schemas.exchange.deliver import DeliverDeadLetter, DeliveryRecord

from .assembly import CompleteRelease
from .backoff import backoff_delay
from .decisions import Answer, DeadLetter, Done, Retry, after_attempt, owed
from .endpoints import Endpoint
from .ledger import Ledger
from .metrics import DeliverMetrics
from .settings import DeliverSettings
from .signing import webhook_headers, webhook_id

log = logging.getLogger("sx.deliver")

USER_AGENT = "sourcing-exchange-deliver/1"


@dataclass(frozen=True)
class Owed:
    release_id: datetime
    body: bytes
    messages: int


class EndpointWorker:
    def __init__(
        self,
        endpoint: Endpoint,
        settings: DeliverSettings,
        ledger: Ledger,
        metrics: DeliverMetrics,
        client: httpx.AsyncClient,
        done_through: datetime | None = None,
        *,
        clock: Callable[[], float] = time.time,
        draw: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.ledger = ledger
        self.metrics = metrics
        self.client = client
        self.done_through = done_through
        self.clock, self.draw, self.sleep = clock, draw, sleep
        self.queue: deque[Owed] = deque()
        self._wake = asyncio.Event()
        self._last_status: int | None = None  # of the last attempt that got an answer, for a dead letter

    def offer(self, release: CompleteRelease) -> None:
        """Queue a complete release if this endpoint is owed it and it changed a subscribed table."""
        if not owed(self.done_through, release.release_id):
            return
        if self.queue and release.release_id <= self.queue[-1].release_id:
            return
        body = release.body_for(self.endpoint.tables)
        if body is None:
            return
        self.queue.append(Owed(release.release_id, body, release.count(self.endpoint.tables)))
        self._set_backlog()
        self._wake.set()

    def _set_backlog(self) -> None:
        self.metrics.backlog.labels(self.endpoint.name).set(len(self.queue))

    async def run(self) -> None:
        while True:
            while not self.queue:
                self._wake.clear()
                await self._wake.wait()
            item = self.queue[0]
            await self.deliver(item)
            self.queue.popleft()
            self.done_through = item.release_id
            self._set_backlog()

    async def deliver(self, item: Owed) -> None:
        """POST until acknowledged or dead-lettered, then record it. Every attempt carries the same
        webhook-id; each has its own timestamp and so its own signature."""
        msg_id = webhook_id(self.endpoint.name, item.release_id)
        name, release = self.endpoint.name, format_release_time(item.release_id)
        attempt = 0
        while True:
            attempt += 1
            step = after_attempt(attempt, await self.attempt(msg_id, item.body), self.settings.max_attempts)
            if isinstance(step, Retry):
                s = self.settings
                delay = backoff_delay(step.attempt, s.backoff_base_seconds, s.backoff_max_seconds, self.draw)
                await self.sleep(delay)
                continue
            if isinstance(step, Done):
                await self.ledger.record(self._record(item, msg_id, "delivered", step.attempts))
                self.metrics.delivered.labels(name).inc()
                log.info("release %s delivered to %s (attempt %d)", release, name, step.attempts)
                return
            assert isinstance(step, DeadLetter)
            letter = DeliverDeadLetter(
                schema_version=1,
                endpoint=name,
                organisation=self.endpoint.organisation,
                release_id=item.release_id,
                tables=list(self.endpoint.tables),  # type: ignore[arg-type]
                webhook_id=msg_id,
                messages=item.messages,
                attempts=step.attempts,
                reason_class=step.reason,
                last_status=self._last_status,
            )
            await self.ledger.record(self._record(item, msg_id, "dead_lettered", step.attempts), letter)
            self.metrics.dead_letters.labels(name).inc()
            log.warning(
                "release %s dead-lettered for %s after %d attempts (%s)",
                release,
                name,
                step.attempts,
                step.reason,
            )
            return

    def _record(self, item: Owed, msg_id: str, outcome: str, attempts: int) -> DeliveryRecord:
        return DeliveryRecord.model_validate(
            {
                "schema_version": 1,
                "endpoint": self.endpoint.name,
                "release_id": format_release_time(item.release_id),
                "webhook_id": msg_id,
                "outcome": outcome,
                "attempts": attempts,
            },
            strict=False,
        )

    async def attempt(self, msg_id: str, body: bytes) -> Answer:
        """One signed POST within the attempt budget; the answer, never an exception."""
        headers = {
            **webhook_headers(self.endpoint.secret, msg_id, int(self.clock()), body),
            "user-agent": USER_AGENT,
        }
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                response = await self.client.post(self.endpoint.url, content=body, headers=headers)
            answer = Answer(status=response.status_code)
        except (TimeoutError, httpx.TimeoutException):
            answer = Answer(error="timeout")
        except httpx.ConnectError:
            answer = Answer(error="connect")
        except httpx.HTTPError:
            answer = Answer(error="transport")
        self.metrics.latency.labels(self.endpoint.name).observe(time.perf_counter() - started)
        self._last_status = answer.status
        name = self.endpoint.name
        self.metrics.attempts.labels(name, "delivered" if answer.delivered else "failed").inc()
        if answer.reason is not None:
            self.metrics.failures.labels(name, answer.reason).inc()
        return answer
