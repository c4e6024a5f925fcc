"""What the simulator puts on a platform topic, and the few helpers every message builder shares
(emitter.py for both platforms' events, malformed.py for the broken ones): one module below both, so
neither imports the other."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Final

DAY: Final = 86_400

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode(obj: object) -> bytes:
    """The one encoding of the simulator: compact UTF-8 JSON (non-ASCII kept, as the platforms send it)."""
    return _dumps(obj).encode()


@dataclass(frozen=True, slots=True)
class FeedMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    kind: str
    """The event type (``AuditPublished``, ``site.updated``...); ``<type>/<variant>`` for malformed ones."""
    expect: str
    """``valid``, ``redelivery``, ``stale`` or ``invalid:<reason class>``."""


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (uuid.uuid4 would use the OS and break determinism)."""
    x = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID_CLEAR: Final = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET: Final = (0x4000 << 64) | (0x8000 << 48)
