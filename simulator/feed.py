"""The simulated change feed of both platforms, as an ordered list of Kafka messages: `generate_feed`
and the `Feed` it returns are the simulator's front door.

Everything the exchange must survive is in the feed on purpose and labelled with what a correct
consumer does with it (``expect``): redeliveries, stale versions delivered late, audits before their
site, removals, consent withdrawals and re-grants, and (see malformed.py) one or more messages of every
rejection class. Tests and the demo compare the exchange's behaviour against these labels.

How it is made: world.py builds the companies and sites, generator.py walks each site's life,
sedex.py and amfori.py write its events in their platform's words, emitter.py sends them (adding the
redeliveries and stale re-sends), malformed.py breaks copies of a sample of them, and `generate_feed`
sorts everything into delivery order. Training completions come in two kinds: occasional ones drawn
with everything else, and capacity-building campaigns (`Generator.campaign`) drawn from a generator
of their own, so that the campaigns could be added without changing any other event of the feed.

Speed matters (the same generator is the load generator), so events are built as plain dicts and
encoded once with compact ``json.dumps``; pydantic never runs here. Time comes only from ``start`` and
the seed: the same arguments give a byte-identical feed.
"""

from __future__ import annotations

import calendar
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from simulator import amfori, sedex
from simulator.generator import Generator
from simulator.malformed import generate_malformed
from simulator.message import FeedMessage
from simulator.world import World, build_world

SEDEX_TOPIC: Final = sedex.TOPIC
AMFORI_TOPIC: Final = amfori.TOPIC


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1) if d.day > 28 else date(d.year + y, m + 1, d.day)


# --- the feed -----------------------------------------------------------------------------------------


_CONFIDENTIAL_KEYS: Final = frozenset(
    {
        "siteName",
        "localName",
        "street",
        "city",
        "postalCode",
        "zip",
        "description",
        "comment",
        "apscaNumber",
        "companyRef",
        "siteRef",
        "auditRef",
        "findingRef",
        "trainingRef",
        "legalEntityAmforiId",
        "siteAmforiId",
        "monitoringId",
        "findingId",
        "completionId",
        "amforiId",
        "lei",
        "osId",
        "eventId",
        "id",
    }
)
_PUBLIC_NAME_PARENTS: Final = frozenset({"auditCompany", "auditingCompany", "country"})


@dataclass
class Feed:
    seed: int
    sites_per_platform: int
    start: date
    months: int
    world: World
    messages: list[FeedMessage]
    counts: Counter[str] = field(default_factory=Counter)
    """Messages per ``expect``."""

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = Counter(m.expect for m in self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[FeedMessage]:
        return iter(self.messages)

    def counts_by_topic(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for m in self.messages:
            out.setdefault(m.topic, Counter())[m.expect] += 1
        return out

    def summary(self) -> dict[str, Any]:
        by_topic = self.counts_by_topic()
        invalid = Counter(m.expect for m in self.messages if m.expect.startswith("invalid:"))
        return {
            "seed": self.seed,
            "sites_per_platform": self.sites_per_platform,
            "start": self.start.isoformat(),
            "months": self.months,
            "messages": len(self.messages),
            "bytes": sum(len(m.value) for m in self.messages),
            "by_expect": dict(sorted(self._by_expect_class().items())),
            "by_topic": {t: dict(sorted(c.items())) for t, c in sorted(by_topic.items())},
            "invalid": dict(sorted(invalid.items())),
        }

    def _by_expect_class(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for expect, n in self.counts.items():
            out["invalid" if expect.startswith("invalid:") else expect] += n
        return out

    def confidential_strings(self) -> set[str]:
        """Every confidential value the feed carries, for privacy scans of what leaves the exchange.

        Read back from the messages themselves (not from the world) so that whatever the generator
        put on the wire, including in malformed messages that still parse, is covered.
        """
        out: set[str] = set()
        for m in self.messages:
            if m.key:
                out.add(m.key.decode("utf-8", "replace"))
            try:
                obj = json.loads(m.value)
            except ValueError:
                continue
            _collect(obj, "", out)
        out.discard("")
        return out


def _collect(obj: Any, key: str, out: set[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str):
                if k in _CONFIDENTIAL_KEYS or (k == "name" and key not in _PUBLIC_NAME_PARENTS):
                    out.add(v)
            else:
                _collect(v, k, out)
    elif isinstance(obj, list):
        for v in obj:
            _collect(v, key, out)


def generate_feed(
    seed: int,
    sites_per_platform: int,
    start: date = date(2025, 1, 1),
    months: int = 12,
    *,
    malformed: bool = True,
    malformed_rate: float = 0.003,
    redelivery_rate: float = 0.02,
    stale_rate: float = 0.05,
    removal_rate: float = 0.03,
    overlap: float = 0.25,
    world: World | None = None,
) -> Feed:
    """The feed of both platforms over ``months`` months from ``start``, in delivery order.

    ``stale_rate`` is per entity revision (the chance that an older version is re-sent late);
    ``malformed_rate`` is relative to the valid events, with at least one message of every variant.
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    world = world or build_world(seed, sites_per_platform, overlap=overlap)
    start_ts = calendar.timegm(start.timetuple())
    end_ts = calendar.timegm(_add_months(start, months).timetuple())
    gen = Generator(world, seed, start_ts, end_ts, redelivery_rate, stale_rate, removal_rate)
    gen.run()
    if malformed:
        n = max(1, round(malformed_rate * gen.valid))
        for t, msg in generate_malformed(gen.rng, gen.samples, n, world):
            gen.push(t, msg)
    gen.recs.sort(key=lambda r: (r[0], r[1]))
    return Feed(seed, sites_per_platform, start, months, world, [r[2] for r in gen.recs])
