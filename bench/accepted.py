"""What ingest writes to the accepted topic for the simulator's feed, computed in this process: the
input of `bench.normalize`, and through `bench.inprocess` of aggregate's benches, `bench.chaos`'s
expectations, `bench.forecast` and `bench.rotation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bench.harness import Header
from schemas.topics import AMFORI_TOPIC, SEDEX_TOPIC
from services.ingest.admit import AMFORI, SEDEX, Admitted, admit
from services.ingest.envelopes import accepted_record
from simulator.feed import generate_feed
from simulator.message import FeedMessage

ACCEPTED_PER_SITE_YEAR = 14  # roughly what ingest accepts per platform site and year, both platforms
FORMATS = {SEDEX_TOPIC: SEDEX, AMFORI_TOPIC: AMFORI}


@dataclass(frozen=True)
class Accepted:
    key: bytes
    value: bytes
    headers: list[Header]


def admitted(messages: Iterable[FeedMessage]) -> Iterator[Accepted | None]:
    """Each message as ingest treats it: its accepted envelope (source position = its index among the
    envelopes), None for a rejected message; platform redeliveries are dropped as ingest drops them."""
    seen: set[tuple[str, str]] = set()
    for m in messages:
        result = admit(FORMATS[m.topic], m.key, m.value)
        if not isinstance(result, Admitted):
            yield None
            continue
        if (result.platform, result.event.event_id) in seen:
            continue
        value, headers = accepted_record(result.platform, result.event, m.topic, 0, len(seen))
        seen.add((result.platform, result.event.event_id))
        yield Accepted(m.key or b"", value, list(headers))


def accepted_envelopes(events: int, seed: int = 42) -> list[Accepted]:
    """`events` accepted envelopes, as ingest would forward the simulator's feed (a year, both platforms).

    Rejected messages and redeliveries are dropped as ingest drops them; stale versions stay. The
    source position is the envelope's index, which normalize only carries through.
    """
    sites = max(20, events // ACCEPTED_PER_SITE_YEAR)
    while True:
        out: list[Accepted] = []
        for envelope in admitted(generate_feed(seed, sites, months=12).messages):
            if envelope is None:
                continue
            out.append(envelope)
            if len(out) == events:
                return out
        sites = int(sites * 1.5 * events / max(1, len(out))) + 1
