"""The aggregate worker: follow the whole normalised state, release on the schedule while leading.

`follow.InputFollower` keeps `NormalizedState` current from every partition of normalize's compacted
topics (last value per key, so a redelivery or replay changes nothing); `lease.Lease` says whether
this instance is the one that releases. A timer ticks `releaser.Releaser`, which at each scheduled
release time plans the release (`planner.plan_release`, closed periods only, in a worker thread) and
writes it in Kafka transactions (recorded, then published). This module is wiring: faust provides
the web server, the timer and the tasks, nothing else (`services.faust_app.WithoutKafka`).

The clock is injectable: `AGGREGATE_NOW` fixes it; with `AGGREGATE_MANUAL_CLOCK=true`, POST
`/clock?now=<RFC 3339>` moves it (tests, demos; never in production).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import faust
from faust.web import View

from services.faust_app import make_app
from services.web import install_endpoints, worker_health

from .follow import InputFollower
from .lease import Lease
from .metrics import AggregateMetrics
from .releaser import Fenced, Releaser
from .schedule import ManualClock
from .settings import AggregateSettings

__all__ = ["Fenced", "Releaser", "create_app"]

log = logging.getLogger("sx.aggregate")


def create_app(
    settings: AggregateSettings,
    releaser: Releaser,
    follower: InputFollower,
    lease: Lease,
    metrics: AggregateMetrics,
) -> faust.App:
    """The worker: follow the inputs, hold (or wait for) the lease, tick the schedule, serve HTTP."""
    app = make_app(settings)

    async def follow_inputs() -> None:
        await follower.run()

    async def hold_lease() -> None:
        try:
            await lease.run()
        finally:  # the worker is stopping: leave the group, then give up the producer
            await releaser.stop()

    async def schedule() -> None:
        await releaser.tick()

    app.task(follow_inputs)
    app.task(hold_lease)
    app.timer(interval=settings.tick_seconds)(schedule)

    if settings.manual_clock and isinstance(releaser.clock, ManualClock):
        clock = releaser.clock

        class ClockView(View):
            """GET shows the clock; POST ?now=<RFC 3339> moves it. Only with AGGREGATE_MANUAL_CLOCK."""

            async def get(self, request: Any) -> Any:
                return self.json({"now": clock.now().isoformat()})

            async def post(self, request: Any) -> Any:
                clock.set(datetime.fromisoformat(request.query["now"]))
                return self.json({"now": clock.now().isoformat()})

        app.page("/clock")(ClockView)

    def health() -> dict[str, Any]:
        last = releaser.last_release
        report = worker_health(
            app,
            role="leader" if releaser.leading else "standby",
            inputs="following" if follower.caught_up.is_set() else "restoring",
            last_release=None if last is None else last.isoformat(),
        )
        if not follower.caught_up.is_set() and report["status"] == "ok":
            report["status"] = "starting"
        return report

    metrics.follow_schedule(lambda: releaser.last_release, settings.cadence_seconds)
    install_endpoints(app, metrics.registry, health, consumer_lag=lambda: follower.positions)
    return app
