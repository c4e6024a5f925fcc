"""The aggregate faust app: keep the normalised state current, release on the schedule.

One agent follows normalize's compacted topics into `NormalizedState` (last value per key, so a
redelivery or replay changes nothing). A timer looks at the clock; at each scheduled release time it
plans the release (`runner.plan_release`, closed periods only) and writes it in one Kafka
transaction: release state, public messages and the release marker commit together or not at all. State is rebuilt at start-up from the compacted topics (see
`__main__`), never from faust tables.

The clock is injectable: `AGGREGATE_NOW` fixes it; with `AGGREGATE_MANUAL_CLOCK=true`, POST
`/clock?now=<RFC 3339>` moves it (tests, demos; never in production).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust.web import View

from services.faust_app import make_app, raw_topic
from services.web import install_endpoints, worker_health

from .disclosure import DisclosureParams
from .metrics import AggregateMetrics
from .population import INPUT_KINDS, INPUT_TOPICS, NormalizedState
from .release import ReleaseLog
from .runner import ReleasePlan, plan_release
from .schedule import Clock, ManualClock, due_releases
from .settings import AggregateSettings

log = logging.getLogger("sx.aggregate")


class Releaser:
    """The release side: schedule, plan, transactional write. Shared by the timer and the tests."""

    def __init__(
        self,
        settings: AggregateSettings,
        state: NormalizedState,
        release_log: ReleaseLog,
        last_release: datetime | None,
        clock: Clock,
        metrics: AggregateMetrics,
        params: DisclosureParams,
    ) -> None:
        self.settings = settings
        self.state = state
        self.log = release_log
        self.clock = clock
        self.metrics = metrics
        self.params = params
        self.last_release = last_release
        self._producer: AIOKafkaProducer | None = None
        self._releasing = asyncio.Lock()  # one release at a time, whoever calls

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            transactional_id=f"{self.settings.app_id}-releases",
            enable_idempotence=True,
            acks="all",
            max_request_size=8 * 1024 * 1024,
            # How long a crashed process's open release can block its successor (the broker aborts
            # it then); a release of a year of both platforms takes well under this.
            transaction_timeout_ms=30_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def tick(self) -> ReleasePlan | None:
        if self._producer is None:  # not started yet
            return None
        async with self._releasing:
            due = due_releases(self.last_release, self.clock.now(), self.settings.cadence)
            if not due:
                return None
            # Missed slots (the service was down) collapse into the latest: a release reflects the
            # state at the time it runs, so running the older slots now would only repeat it.
            return await self.release(due[-1])

    async def release(self, at: datetime) -> ReleasePlan:
        started = time.perf_counter()
        # Plan on a snapshot, in a worker thread: a year of both platforms takes a minute to plan, and
        # the event loop must keep following inputs and answering /health meanwhile.
        state = self.state.snapshot()

        def plan_it() -> tuple[ReleaseLog, ReleasePlan]:
            snapshot = self.log.copy()
            plan = plan_release(
                state,
                snapshot,
                self.params,
                at,
                granularity=self.settings.granularity,
                grace=self.settings.grace,
            )
            return snapshot, plan

        snapshot, plan = await asyncio.to_thread(plan_it)
        assert self._producer is not None
        async with self._producer.transaction():
            for topic, key, value, headers in plan.records:
                await self._producer.send(self.settings.topic(topic), value, key=key, headers=headers)
        # Committed: only now does the in-memory view move on.
        self.log = snapshot
        self.last_release = at
        self.metrics.observe_release(plan, time.perf_counter() - started)
        log.info(
            "release %s: %d periods, %d cells sent, %d unchanged, %d held by the revision rule",
            plan.release_id,
            len(plan.periods),
            plan.sent,
            plan.unchanged,
            plan.held,
        )
        return plan


def create_app(
    settings: AggregateSettings,
    releaser: Releaser,
    registry_metrics: AggregateMetrics,
) -> faust.App:
    metrics = registry_metrics
    metrics.set_state_sizes(releaser.state)  # what the restore read, before anything is consumed
    app = make_app(settings)
    canonical = {settings.input_topic(t): t for t in INPUT_TOPICS}
    source = raw_topic(app, *canonical)
    state = releaser.state

    @app.agent(source, name="aggregate-inputs")
    async def follow(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            topic = canonical[message.topic]
            try:
                retracted = state.apply(topic, (message.key or b"").decode(), message.value)
            except Exception:  # a poison record must never stop the service; it is counted
                log.exception(
                    "unreadable record at %s[%d]@%d", message.topic, message.partition, message.offset
                )
                metrics.invalid.labels(INPUT_KINDS[topic]).inc()
                continue
            metrics.consumed.labels(INPUT_KINDS[topic]).inc()
            if retracted:
                metrics.retracted.labels(INPUT_KINDS[topic]).inc()
            metrics.set_state_sizes(state)

    async def schedule() -> None:
        await releaser.tick()

    async def start_releaser() -> None:
        await releaser.start()

    app.task(start_releaser)
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
        return worker_health(app, last_release=None if last is None else last.isoformat())

    install_endpoints(app, metrics.registry, health)
    return app
