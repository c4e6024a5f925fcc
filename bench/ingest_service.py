"""Ingest under test, as `bench.ingest`, `bench.burst`, `bench.hostile` and `bench.chaos` run it: its
five topics private to one run, the settings that point it at them, and waiting until it has read a
number of messages.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from bench.service import Sample, log_tail, metric_samples, totals
from schemas.topics import AMFORI_TOPIC, SEDEX_TOPIC


@dataclass(frozen=True)
class IngestTopics:
    """One run's topics for ingest: the two platforms' inputs, its outputs and its dedup changelog."""

    sedex: str
    amfori: str
    accepted: str
    dlq: str
    seen: str  # ingest's own changelog: it creates it

    @classmethod
    def of(cls, run: str, dlq: str = "dlq") -> IngestTopics:
        """`<run>.sedex`, `<run>.amfori`, `<run>.accepted`, `<run>.<dlq>`, `<run>.seen`."""
        return cls(f"{run}.sedex", f"{run}.amfori", f"{run}.accepted", f"{run}.{dlq}", f"{run}.seen")

    @property
    def platform(self) -> dict[str, str]:
        """The platform topic each input stands for -> its name in this run."""
        return {SEDEX_TOPIC: self.sedex, AMFORI_TOPIC: self.amfori}

    @property
    def created(self) -> list[str]:
        """The topics the run creates before ingest starts."""
        return [self.sedex, self.amfori, self.accepted, self.dlq]

    @property
    def all(self) -> list[str]:
        """Every topic of the run, to delete afterwards."""
        return [*self.created, self.seen]

    def env(self) -> dict[str, str]:
        """Ingest's settings naming them."""
        return {
            "INGEST_SEDEX_TOPIC": self.sedex,
            "INGEST_AMFORI_TOPIC": self.amfori,
            "INGEST_ACCEPTED_TOPIC": self.accepted,
            "INGEST_DLQ_TOPIC": self.dlq,
            "INGEST_SEEN_TOPIC": self.seen,
        }


async def wait_consumed(port: int, worker: asyncio.subprocess.Process, log: str, n: int) -> list[Sample]:
    """Until ingest has read `n` messages (`/metrics`, every 0.5 s, for up to 600 s); its metrics then."""
    deadline = time.monotonic() + 600
    while True:
        async with httpx.AsyncClient() as client:
            samples = await metric_samples(client, port)
        if totals(samples)["sx_ingest_messages_consumed_total"] >= n:
            return samples
        if worker.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"ingest stopped or stalled:\n{log_tail(log)}")
        await asyncio.sleep(0.5)  # polling the service's metrics
