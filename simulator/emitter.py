"""How the simulator sends an event, shared by both platforms' builders and by the life of a site.

`Emitter` holds the one random stream of a feed, the id sequence and the list of messages, and its
`emit` is where a valid event may gain a late redelivery and a stale re-send of its previous version.
Beside it the few helpers every builder draws or formats with. Everything here draws from
``Emitter.rng`` in the order it is called: the builders' call order is the feed's byte-for-byte
determinism.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

from simulator.message import DAY, FeedMessage, encode, random_uuid
from simulator.sites import PlatformSite
from simulator.vocabulary import AUDITOR_FIRST, AUDITOR_LAST, MONTHS
from simulator.world import World

EXPECT_VALID: Final = "valid"
EXPECT_REDELIVERY: Final = "redelivery"
EXPECT_STALE: Final = "stale"

HOUR: Final = 3_600


def ri(rng: random.Random, a: int, b: int) -> int:
    """randint without its argument checking, which costs more than the draw; same determinism."""
    return a + int(rng.random() * (b - a + 1))


def iso_time(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def iso_day(t: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def midnight(t: int) -> int:
    return t - t % DAY


class Emitter:
    """The output side of the generator: one random stream, one id sequence, the messages so far."""

    SAMPLE_KINDS: Final = frozenset(
        {
            "SiteUpserted",
            "AuditPublished",
            "CorrectiveActionUpdated",
            "ConsentChanged",
            "TrainingCompleted",
            "site.updated",
            "monitoring.completed",
            "remediation.updated",
            "consent.updated",
            "academy.completion",
        }
    )

    def __init__(
        self,
        world: World,
        seed: int,
        start: int,
        end: int,
        redelivery: float,
        stale: float,
        headers: Mapping[str, Sequence[tuple[str, bytes]]],
    ) -> None:
        self.world = world
        self.rng = random.Random(seed * 1_000_003 + 12_345)
        self.start, self.end = start, end
        self.redelivery, self.stale = redelivery, stale
        self.recs: list[tuple[int, int, FeedMessage]] = []
        self.seq = 0
        self.valid = 0
        self.samples: dict[str, list[tuple[int, FeedMessage]]] = {k: [] for k in self.SAMPLE_KINDS}
        self.seen: Counter[str] = Counter()
        self.counter = 0
        self.auditors: dict[str, list[tuple[str, str]]] = {}
        # One list per topic, shared by its messages: they are never mutated, and this is the hot path.
        self.headers = {topic: list(h) for topic, h in headers.items()}

    def uuid(self) -> str:
        return random_uuid(self.rng)

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def push(self, t: int, msg: FeedMessage) -> None:
        self.seq += 1
        self.recs.append((t, self.seq, msg))

    def emit(
        self,
        t: int,
        topic: str,
        key: str,
        obj: dict[str, Any],
        kind: str,
        previous: dict[str, Any] | None = None,
    ) -> None:
        """Send a valid event; maybe also a late redelivery of it, and a stale re-send of ``previous``."""
        rng = self.rng
        headers = self.headers[topic]
        kb = key.encode()
        msg = FeedMessage(topic, kb, encode(obj), headers, kind, EXPECT_VALID)
        self.push(t, msg)
        self.valid += 1
        if kind in self.SAMPLE_KINDS:
            seen = self.seen[kind] = self.seen[kind] + 1
            pool = self.samples[kind]
            if len(pool) < 64:
                pool.append((t, msg))
            else:
                j = rng.randrange(seen)
                if j < 64:
                    pool[j] = (t, msg)
        if rng.random() < self.redelivery:
            delay = ri(rng, 1, 600) if rng.random() < 0.5 else ri(rng, HOUR, 60 * DAY)
            self.push(t + delay, FeedMessage(topic, kb, msg.value, headers, kind, EXPECT_REDELIVERY))
        if previous is not None and rng.random() < self.stale:
            old = dict(previous)
            old["eventId" if "eventId" in old else "id"] = self.uuid()
            delay = ri(rng, 60, 30 * DAY)
            self.push(
                t + delay,
                FeedMessage(
                    topic,
                    kb,
                    encode(old),
                    headers,
                    str(old.get("eventType") or old.get("type")),
                    EXPECT_STALE,
                ),
            )

    def text(self, template: str, site: PlatformSite) -> str:
        """A finding's free text: ``template`` filled with numbers, a month and a name of the country."""
        rng = self.rng
        return template.format(
            n=ri(rng, 2, 60),
            d=ri(rng, 2, 9),
            h=ri(rng, 62, 84),
            pct=ri(rng, 5, 60),
            name=rng.choice(site.physical.country.people),
            month=rng.choice(MONTHS),
        )

    def auditor(self, firm_id: str) -> tuple[str, str]:
        """One of the firm's twelve auditors (name, APSCA number); the pool is drawn per firm."""
        pool = self.auditors.get(firm_id)
        if pool is None:
            rng = random.Random(f"{self.world.seed}:{firm_id}")
            pool = self.auditors[firm_id] = [
                (
                    f"{rng.choice(AUDITOR_FIRST)} {rng.choice(AUDITOR_LAST)}",
                    f"{rng.choice(('CSCA', 'ASCA', 'RA'))}-{ri(rng, 21_000_000, 21_999_999)}",
                )
                for _ in range(12)
            ]
        return self.rng.choice(pool)
