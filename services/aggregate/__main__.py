"""`python -m services.aggregate`: validate the parameters, create topics, run the worker (which restores
the state by following the inputs from the start, `follow.py`)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import faust

from schemas.exchange.aggregates import FORECASTS_TOPIC, RELEASE_STATE_TOPIC, TABLES, topic_of
from schemas.topics import AGGREGATE_LEASE_TOPIC
from services.topics import TopicSpec, ensure_topics

from .app import Releaser, create_app
from .disclosure import DisclosureParamsError
from .follow import InputFollower
from .lease import Lease
from .metrics import AggregateMetrics
from .noise import NoiseParamsError
from .population import NormalizedState
from .schedule import Clock, ManualClock, SystemClock
from .settings import AggregateSettings


def topic_specs(settings: AggregateSettings) -> tuple[TopicSpec, ...]:
    owned = (*(topic_of(t) for t in TABLES), FORECASTS_TOPIC, RELEASE_STATE_TOPIC)
    specs = tuple(TopicSpec(settings.topic(n), settings.partitions, cleanup_policy="compact") for n in owned)
    # One partition: whoever the lease group gives it to is the leader. Nothing is written to it.
    return (*specs, TopicSpec(settings.topic(AGGREGATE_LEASE_TOPIC), 1))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    settings = AggregateSettings.from_env()
    try:
        params = settings.disclosure_params()
        noise = settings.noise_params()
    except (DisclosureParamsError, NoiseParamsError) as exc:
        print(f"aggregate: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(ensure_topics(settings.bootstrap_servers, topic_specs(settings)))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    start = settings.start_time()
    clock: Clock = ManualClock(start) if start is not None else SystemClock()
    metrics = AggregateMetrics()
    state = NormalizedState()
    follower = InputFollower(settings, state, metrics)
    releaser = Releaser(settings, state, clock, metrics, params, ready=follower.caught_up.is_set, noise=noise)
    lease = Lease(settings, releaser.lead)
    app = create_app(settings, releaser, follower, lease, metrics)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
