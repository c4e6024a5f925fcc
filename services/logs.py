"""Library logging, tamed: levels set explicitly, and repeated warnings and errors rate-limited.

mode (faust's service framework) leaves the root logger at NOTSET and filters in its handler, so
every `logger.debug(...)` in faust and aiokafka builds a LogRecord that is then thrown away: about a
tenth of ingest's CPU went to that. Setting the libraries' own loggers stops it at the source.

During a broker outage aiokafka logs every failed connection and metadata request, about 80 ERROR
lines a second per service, which buries the one line that matters and fills disks. `RepeatLimiter`
lets the first of each kind through, then one more after 1, 2, 4 ... up to 60 s while it keeps
repeating, saying how many were held back; a kind quiet for a minute starts afresh. A kind is the
logger, the level and the message template (its arguments, e.g. a host and port, are not part of it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

LIBRARIES = ("faust", "mode", "aiokafka", "aiohttp")


@dataclass(slots=True)
class _Kind:
    next_at: float
    interval: float
    last_seen: float
    held: int = 0


class RepeatLimiter(logging.Filter):
    """Let repeated WARNING-and-above records of one kind through at a backing-off rate."""

    def __init__(
        self, first: float = 1.0, longest: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.first, self.longest, self.clock = first, longest, clock
        self._kinds: dict[tuple[str, int, str], _Kind] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = self.clock()
        key = (record.name, record.levelno, str(record.msg))
        kind = self._kinds.get(key)
        if kind is None or now - kind.last_seen > self.longest:  # new, or quiet long enough: afresh
            self._kinds[key] = _Kind(next_at=now + self.first, interval=self.first, last_seen=now)
            return True
        kind.last_seen = now
        if now < kind.next_at:
            kind.held += 1
            return False
        if kind.held:
            record.msg = f"{record.msg} [repeated {kind.held} more times, held back]"
        kind.held = 0
        kind.interval = min(self.longest, kind.interval * 2)
        kind.next_at = now + kind.interval
        return True


_LIMITER = RepeatLimiter()


def limit_repeats(prefixes: tuple[str, ...] = LIBRARIES, limiter: logging.Filter = _LIMITER) -> None:
    """Attach the limiter to every logger of the libraries (a filter on a logger sees only records
    logged on that very logger, so each module's logger gets it; they exist once imported)."""
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in prefixes:
            logger = logging.getLogger(name)
            if limiter not in logger.filters:
                logger.addFilter(limiter)


def quiet_libraries(level: str | int = logging.INFO) -> None:
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    floor = max(int(numeric), logging.INFO)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(floor)
    limit_repeats()
