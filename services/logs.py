"""Library log levels, set explicitly.

mode (faust's service framework) leaves the root logger at NOTSET and filters in its handler, so
every `logger.debug(...)` in faust and aiokafka builds a LogRecord that is then thrown away: about a
tenth of ingest's CPU went to that. Setting the libraries' own loggers stops it at the source.
"""

from __future__ import annotations

import logging

LIBRARIES = ("faust", "mode", "aiokafka", "aiohttp")


def quiet_libraries(level: str | int = logging.INFO) -> None:
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    floor = max(int(numeric), logging.INFO)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(floor)
