"""deliver's run: fence and read its state, start one worker per endpoint, follow the releases.

The order matters. The ledger's transactional producer starts first (it fences a killed predecessor
and aborts what it left open), then the state is read (so it includes everything that predecessor
committed), then the workers start from it, and only then does the follower hand over releases.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

import httpx

from .assembly import CompleteRelease, ReleaseAssembler
from .endpoints import Endpoint
from .follow import ReleaseFollower
from .ledger import Ledger
from .metrics import DeliverMetrics
from .settings import DeliverSettings
from .worker import EndpointWorker

log = logging.getLogger("sx.deliver")


def floor_of(done: list[datetime | None]) -> datetime | None:
    """The last release done for every endpoint: nothing at or before it need be kept. None (keep
    everything) if an endpoint has had nothing yet, or if there is no endpoint."""
    if not done or None in done:
        return None
    return min(d for d in done if d is not None)


class Deliverer:
    def __init__(
        self, settings: DeliverSettings, endpoints: Sequence[Endpoint], metrics: DeliverMetrics
    ) -> None:
        self.settings = settings
        self.endpoints = tuple(endpoints)
        self.metrics = metrics
        self.ledger = Ledger(settings)
        self.assembler = ReleaseAssembler()
        self.follower = ReleaseFollower(settings, self.assembler, self.offer, metrics)
        self.workers: dict[str, EndpointWorker] = {}
        self.state_loaded = asyncio.Event()

    def offer(self, release: CompleteRelease) -> None:
        for worker in self.workers.values():
            worker.offer(release)

    @property
    def backlog(self) -> int:
        return sum(len(w.queue) for w in self.workers.values())

    async def run(self) -> None:
        await self.ledger.start()
        try:
            state = await self.ledger.load()
            # Redirects are not followed: the signed body would go to a URL nobody registered.
            timeout = self.settings.timeout_seconds
            async with httpx.AsyncClient(follow_redirects=False, timeout=timeout) as client:
                for endpoint in self.endpoints:
                    record = state.get(endpoint.name)
                    self.workers[endpoint.name] = EndpointWorker(
                        endpoint,
                        self.settings,
                        self.ledger,
                        self.metrics,
                        client,
                        None if record is None else record.release_id,
                    )
                done = [w.done_through for w in self.workers.values()]
                self.assembler.floor = floor_of(done)
                self.state_loaded.set()
                log.info("state read: %d of %d endpoints have had a release", len(state), len(self.endpoints))
                async with asyncio.TaskGroup() as group:
                    for worker in self.workers.values():
                        group.create_task(worker.run())
                    group.create_task(self.follower.run())
        finally:
            await self.ledger.stop()
