"""Active and standby: several normalize processes may run, exactly one of them consumes.

Resolution is global (a factory's two platform sites may sit in any partitions of the accepted
topic), so normalize cannot split its input between instances the way ingest does. One instance is
*active*: it holds the lease, the single partition of `exchange.normalize.lease.v1` given by the
consumer group `<app id>-lease` (`settings.lease_group`; `services.lease.GroupLease`, aggregate's
mechanism), and only then joins normalize's own consumer group. The others are *standbys*: they stay
in the lease group and follow normalize's compacted topics as they are written, so that a takeover
reads only what the active wrote in its last moments instead of the whole state.

Taking over, a standby
1. is handed the lease (the active stopped, crashed or stalled past the session timeout);
2. waits until normalize's consumer group has no member left: a stalled ex-active that still holds
   partitions of the accepted topic must be gone before a second resolver starts (normalize does not
   write in transactions, so there is no producer fencing to rely on);
3. reads the followed topics to their end, then restores (`engine.restore`) and starts the worker,
   which resumes from the group's committed offsets: at-least-once, like a restart.

An active instance that loses the lease exits at once (`LEASE_LOST_EXIT`); its supervisor restarts it,
as a standby. One that stops gracefully leaves the lease group on its way out (`release`), so a standby
is handed the lease at once. While standing by, the process serves `/health` (200, role "standby") and
`/metrics` (`sx_normalize_active` 0) on its usual port; the worker takes the port over when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiokafka import TopicPartition
from prometheus_client import generate_latest

from services.compacted import from_the_start, high_watermarks, partitions_once_created
from services.groups import group_is_empty
from services.lease import GroupLease
from services.web import PROMETHEUS_TEXT_FORMAT

from .metrics import NormalizeMetrics
from .settings import NormalizeSettings
from .topics import NORMALIZE_LEASE_TOPIC

log = logging.getLogger("sx.normalize.standby")

LEASE_LOST_EXIT = 4
State = dict[str, dict[str, bytes]]


@dataclass(frozen=True)
class Takeover:
    state: State  # canonical topic -> key -> value, read to the end when the lease came
    seconds: float  # from being handed the lease to having the state


class Follower:
    """normalize's compacted topics, followed from the start (read_committed, no group)."""

    def __init__(self, settings: NormalizeSettings) -> None:
        self.settings = settings
        self.canonical = {settings.topic(n): n for n in settings.state_topics}
        self.state: State = {n: {} for n in settings.state_topics}
        self.records = 0

    def apply(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        self.records += 1
        entries = self.state[self.canonical[topic]]
        if value is None:
            entries.pop(key.decode(), None)
        else:
            entries[key.decode()] = value

    async def run(self, until_end: asyncio.Event) -> None:
        """Follow; once `until_end` is set, read to the high watermarks of that moment and return."""
        bootstrap = self.settings.bootstrap_servers
        tps = await partitions_once_created(bootstrap, list(self.canonical), "normalize", log)
        async with from_the_start(bootstrap, tps) as (consumer, _):
            ends: dict[TopicPartition, int] | None = None
            while True:
                if ends is None and until_end.is_set():
                    ends = await high_watermarks(bootstrap, tps)
                if ends is not None and all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                    return
                for records in (await consumer.getmany(timeout_ms=200, max_records=10_000)).values():
                    for r in records:
                        self.apply(r.topic, r.key, r.value)


class Standby:
    """Runs in a thread of its own (its event loop outlives the hand-over to the faust worker, which
    runs its own): the lease, the follower and, until the takeover, the standby's HTTP endpoints."""

    def __init__(self, settings: NormalizeSettings) -> None:
        self.settings = settings
        self.metrics = NormalizeMetrics()
        self.metrics.active.set(0)
        self.follower = Follower(settings)
        self._takeover: Future[Takeover] = Future()
        self._thread = threading.Thread(target=self._run, name="normalize-lease", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holding: asyncio.Task[None] | None = None
        self._releasing = False

    def start(self) -> None:
        self._thread.start()

    def wait_active(self) -> Takeover:
        """Block until this process is the active normalize; the state to restore from."""
        return self._takeover.result()

    def release(self, timeout: float = 5.0) -> None:
        """Leave the lease group now (a graceful stop), so that a standby is handed the lease at once
        instead of after the session timeout."""
        loop, holding = self._loop, self._holding
        if loop is None or holding is None or loop.is_closed():
            return
        self._releasing = True

        async def leave() -> None:
            holding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holding

        try:
            asyncio.run_coroutine_threadsafe(leave(), loop).result(timeout)
            log.info("left the lease group")
        except Exception:  # the process is stopping anyway; the lease then ends with the session
            log.warning("could not leave the lease group; a standby takes over after the session timeout")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # the lease is this process's right to run: without it, stop
            log.exception("the lease thread failed")
            if not self._takeover.done():
                self._takeover.set_exception(exc)
            else:
                self._exit("the lease thread failed")

    def _exit(self, why: str) -> None:
        log.error("%s: exiting, to be restarted as a standby", why)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(LEASE_LOST_EXIT)

    async def _main(self) -> None:
        settings = self.settings
        acquired, until_end = asyncio.Event(), asyncio.Event()

        def changed(held: bool) -> None:
            if held:
                acquired.set()
            elif acquired.is_set() and not self._releasing:
                self._exit("normalize lost its lease")

        lease = GroupLease(
            settings.bootstrap_servers,
            settings.topic(NORMALIZE_LEASE_TOPIC),
            settings.lease_group,
            int(settings.session_timeout_seconds * 1000),
            changed,
            log,
            "normalize lease",
            revocation_ends=False,  # a rebalance that hands the lease straight back changes nothing
        )
        runner = await self._serve()
        follow = asyncio.create_task(self.follower.run(until_end))
        holding = asyncio.create_task(lease.run())
        self._loop, self._holding = asyncio.get_running_loop(), holding
        log.info("standing by: following normalize's state, waiting for the lease")
        await _first(acquired.wait(), holding, follow)
        started = time.monotonic()
        log.info("handed the lease; waiting until normalize's consumer group %s is empty", settings.app_id)
        while not await group_is_empty(settings.bootstrap_servers, settings.app_id):
            await _first(asyncio.sleep(0.5), holding)  # polling the group coordinator
        until_end.set()
        await _first(follow, holding)  # the follower returns once it has read to the end
        await runner.cleanup()  # the worker serves the port from now on
        seconds = time.monotonic() - started
        log.info(
            "taking over: %d records followed, state read to its end %.1f s after the lease came",
            self.follower.records,
            seconds,
        )
        self._takeover.set_result(Takeover(self.follower.state, seconds))
        with contextlib.suppress(asyncio.CancelledError):
            await holding  # hold the lease for the life of the process, or until `release`

    async def _serve(self) -> web.AppRunner:
        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok", "role": "standby", "followed": self.follower.records})

        async def metrics(request: web.Request) -> web.Response:
            body = generate_latest(self.metrics.registry)
            return web.Response(body=body, headers={"Content-Type": PROMETHEUS_TEXT_FORMAT})

        app = web.Application()
        app.router.add_get("/health", health)
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.settings.web_host, self.settings.web_port, reuse_address=True).start()
        return runner


async def _first(wanted: Any, *guards: asyncio.Task[Any]) -> None:
    """Await `wanted`; if a guard task (the lease, the follower) ends first, raise its failure."""
    task = asyncio.ensure_future(wanted)
    done, _ = await asyncio.wait({task, *guards}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
        return
    task.cancel()
    for guard in done:
        guard.result()
    raise RuntimeError("the lease or the follower stopped")
