"""`python -m services.aggregate`: validate the parameters, create topics, restore state, run the worker."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime
from pathlib import Path

import faust

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC, topic_of
from services.compacted import read_compacted
from services.topics import TopicSpec, ensure_topics

from .app import Releaser, create_app
from .disclosure import DisclosureParams, DisclosureParamsError
from .metrics import AggregateMetrics
from .population import INPUT_TOPICS, NormalizedState
from .release import ReleaseLog, last_release_of
from .runner import TABLES
from .schedule import Clock, ManualClock, SystemClock
from .settings import AggregateSettings


def topic_specs(settings: AggregateSettings) -> tuple[TopicSpec, ...]:
    owned = (*(topic_of(t) for t in TABLES), RELEASE_STATE_TOPIC)
    return tuple(TopicSpec(settings.topic(n), settings.partitions, cleanup_policy="compact") for n in owned)


async def restore(settings: AggregateSettings) -> tuple[NormalizedState, ReleaseLog, datetime | None]:
    state = NormalizedState()
    for topic in INPUT_TOPICS:
        for key, value in (
            await read_compacted(settings.bootstrap_servers, settings.input_topic(topic))
        ).items():
            state.apply(topic, key, value)
    releases = await read_compacted(settings.bootstrap_servers, settings.topic(RELEASE_STATE_TOPIC))
    records = {k.encode(): v for k, v in releases.items()}
    return state, ReleaseLog.from_state(records), last_release_of(records)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    settings = AggregateSettings.from_env()
    try:
        params = DisclosureParams(
            k_sites=settings.k_sites,
            k_insider=settings.k_insider,
            outcome_min=settings.outcome_min,
            k_delta=settings.k_delta,
        )
    except DisclosureParamsError as exc:
        print(f"aggregate: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(ensure_topics(settings.bootstrap_servers, topic_specs(settings)))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    state, release_log, last_release = asyncio.run(restore(settings))
    start = settings.start_time()
    clock: Clock = ManualClock(start) if start is not None else SystemClock()
    metrics = AggregateMetrics()
    releaser = Releaser(settings, state, release_log, last_release, clock, metrics, params)
    app = create_app(settings, releaser, metrics)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
