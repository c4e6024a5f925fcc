"""Whether the broker can be reached, for `/health`, a metric and one log line per change.

During an outage the Kafka clients retry on their own and resume by themselves (tested), but nothing
said so: `/health` stayed 200 while the service could neither read nor write, and the clients' errors
were the only sign (now rate-limited, `services/logs.py`). The probe opens a TCP connection to a
bootstrap server every `interval` seconds: a refused or timed-out connection means unreachable. That is
a liveness signal of the broker's listener, not a proof that every request would succeed, and it is
what an operator needs to tell "the broker is down" from "the service is stuck".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

log = logging.getLogger("sx.broker")


def _servers(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if host and port.isdigit():
            out.append((host.strip("[]"), int(port)))
    return out


@dataclass(slots=True)
class BrokerProbe:
    bootstrap: str
    interval: float = 2.0
    timeout: float = 2.0
    clock: Callable[[], float] = time.monotonic
    reachable: bool = True  # optimistic until the first probe says otherwise
    down_since: float | None = None

    async def check(self) -> bool:
        """One probe: can any bootstrap server be connected to?"""
        for host, port in _servers(self.bootstrap):
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), self.timeout)
            except (OSError, TimeoutError):
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return True
        return False

    def observe(self, reachable: bool) -> None:
        """Record a probe's result; logs a change of state once."""
        now = self.clock()
        if reachable and not self.reachable:
            down = 0.0 if self.down_since is None else now - self.down_since
            log.info("broker reachable again after %.0f s", down)
            self.down_since = None
        elif not reachable and self.reachable:
            log.warning("broker unreachable (%s); the Kafka clients keep retrying", self.bootstrap)
            self.down_since = now
        self.reachable = reachable

    async def run(self) -> None:
        while True:
            self.observe(await self.check())
            await asyncio.sleep(self.interval)  # the probe's period, not a wait for Kafka

    def report(self) -> dict[str, object]:
        if self.reachable:
            return {"broker": "reachable"}
        down = 0.0 if self.down_since is None else self.clock() - self.down_since
        return {"broker": "unreachable", "broker_down_seconds": round(down, 1)}


_PROBES: WeakKeyDictionary[Any, BrokerProbe] = WeakKeyDictionary()


def attach(app: Any, probe: BrokerProbe) -> None:
    """Give an app its probe (`make_app`); `/health` and `/metrics` find it with `probe_of`."""
    _PROBES[app] = probe


def probe_of(app: Any) -> BrokerProbe | None:
    return _PROBES.get(app)
