"""The broker probe: one log line per change of state, and a TCP check that tells a listening broker
from a refused one."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.broker_probe import BrokerProbe
from tests.support.clock import FakeClock


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    probe = BrokerProbe("127.0.0.1:1", clock=clock)
    caplog.set_level(logging.INFO, logger="sx.broker")
    for t in range(10):
        clock.now = float(t)
        probe.observe(t < 2 or t >= 7)  # down from t=2 to t=6
        if t == 4:
            assert probe.report() == {"broker": "unreachable", "broker_down_seconds": 2.0}
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert "after 5 s" in caplog.records[1].getMessage()
    assert probe.reachable and probe.report() == {"broker": "reachable"}


async def test_the_check_connects_or_is_refused() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await BrokerProbe(f"127.0.0.1:{port}").check()
    finally:
        server.close()
        await server.wait_closed()
    assert not await BrokerProbe(f"127.0.0.1:{port}").check()  # nothing listens there any more
    assert await BrokerProbe(f"127.0.0.1:1,127.0.0.1:{port}").check() is False
