"""A normalize run for the takeover tests (a standby taking over, a SIGKILL with a batch in flight): a
feed's accepted envelopes on a private accepted topic, normalize's settings for private topics, the
fault-free in-process result to compare with, and the instances as processes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.chaos import Expected, expected
from bench.harness import produce_values
from bench.normalize import admitted
from services.compacted import read_compacted
from services.normalize.settings import NormalizeSettings
from services.topics import delete_topics
from simulator.feed import generate_feed
from tests.support.kafka import create_topics, unique
from tests.support.service import ServiceProcess, normalize_under_test


@dataclass(frozen=True)
class Takeover:
    bootstrap: str
    envelopes: Sequence[tuple[bytes | None, bytes]]  # (key, value) of every accepted envelope, in order
    want: Expected  # the fault-free in-process run of the same feed
    accepted: str
    settings: NormalizeSettings

    @property
    def app_id(self) -> str:
        return self.settings.app_id

    def instance(self, tmp_path: Path, name: str) -> ServiceProcess:
        return normalize_under_test(
            self.bootstrap,
            tmp_path,
            name,
            app_id=self.app_id,
            accepted=self.accepted,
            prefix=self.settings.topic_prefix,
        )

    async def publish(self, start: int = 0, stop: int | None = None) -> None:
        """The envelopes [start:stop] onto the accepted topic."""
        await produce_values(self.bootstrap, self.accepted, self.envelopes[start:stop])

    async def differing(self) -> list[str]:
        """normalize's compacted topics that differ from the fault-free run."""
        s = self.settings
        return [
            name
            for name in s.state_topics
            if await read_compacted(self.bootstrap, s.topic(name)) != self.want.state.get(name, {})
        ]

    async def delete(self) -> None:
        await delete_topics(self.bootstrap, [self.accepted, *(t.name for t in self.settings.topic_specs())])

    async def differing_then_delete(self) -> list[str]:
        """`differing`, then the run's topics deleted whatever it found."""
        try:
            return await self.differing()
        finally:
            await self.delete()


def stop_running(*services: ServiceProcess) -> None:
    """Stop every instance of a test that is still running (cleanup after a failed assertion too)."""
    for service in services:
        if service.proc is not None and service.proc.poll() is None:
            service.stop()


async def takeover(bootstrap: str, name: str, seed: int, sites_per_platform: int) -> Takeover:
    """Six months of the simulator's feed from 2026-01-01 on a fresh 3-partition accepted topic."""
    messages = generate_feed(
        seed=seed, sites_per_platform=sites_per_platform, start=date(2026, 1, 1), months=6
    ).messages
    envelopes = [(e.key, e.value) for e in admitted(messages) if e is not None]
    suffix = unique(name)
    accepted = f"accepted-{suffix}"
    settings = NormalizeSettings(
        app_id=f"normalize-{suffix}", topic_prefix=f"{suffix}.", accepted_topic=accepted
    )
    await create_topics(bootstrap, [accepted], partitions=3)
    return Takeover(bootstrap, envelopes, expected(messages), accepted, settings)
