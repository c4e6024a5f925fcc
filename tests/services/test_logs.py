"""Repeated library errors are rate-limited (issue 14, defect 4: ~80 ERROR lines a second per service
during a broker outage)."""

from __future__ import annotations

import logging

from services.logs import RepeatLimiter, limit_repeats
from tests.support.clock import FakeClock


def record(
    msg: str, *args: object, level: int = logging.ERROR, name: str = "aiokafka.conn"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_an_outage_of_two_minutes_logs_a_handful_of_lines_not_ten_thousand() -> None:
    clock = FakeClock()
    limiter = RepeatLimiter(clock=clock)
    passed = []
    for i in range(80 * 120):  # 80 a second for two minutes
        clock.now = i / 80
        r = record("Unable connect to %s:%s", "127.0.0.1", 9092)
        if limiter.filter(r):
            passed.append(r)
    assert 5 <= len(passed) <= 10  # the first, then after 1, 2, 4, 8, 16, 32, 60 s
    assert "repeated" not in passed[0].getMessage()
    assert "held back" in passed[-1].getMessage() and "127.0.0.1:9092" in passed[-1].getMessage()
    held = sum(int(p.getMessage().split("repeated ")[1].split(" ")[0]) for p in passed[1:])
    # Every line is accounted for: the ones since the last line shown are counted in the next one.
    assert 0 <= 80 * 120 - held - len(passed) <= 80 * 60


def test_other_kinds_and_info_lines_pass_and_a_quiet_kind_starts_afresh() -> None:
    clock = FakeClock()
    limiter = RepeatLimiter(clock=clock)
    assert limiter.filter(record("broker down"))
    assert not limiter.filter(record("broker down"))
    assert limiter.filter(record("metadata failed"))  # another template
    assert limiter.filter(record("broker down", name="aiokafka.cluster"))  # another logger
    assert all(limiter.filter(record("info line", level=logging.INFO)) for _ in range(10))
    clock.now = 120.0
    assert limiter.filter(record("broker down"))  # quiet for longer than the longest interval
    r = record("broker down")
    assert not limiter.filter(r)


def test_the_libraries_loggers_get_the_limiter() -> None:
    import aiokafka.conn  # noqa: F401  (its module logger must exist)

    limiter = RepeatLimiter()
    limit_repeats(("aiokafka",), limiter)
    assert limiter in logging.getLogger("aiokafka.conn").filters
    logging.getLogger("aiokafka.conn").removeFilter(limiter)
