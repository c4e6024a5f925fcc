"""`python -m services.deliver`: read the endpoints (refusing to start on a bad one), create deliver's
own topics, run the worker."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import faust
from pydantic import ValidationError

from schemas.topics import DELIVER_DLQ_TOPIC, DELIVER_STATE_TOPIC
from services.topics import TopicSpec, ensure_topics

from .app import create_app
from .endpoints import EndpointsError, load_endpoints
from .metrics import DeliverMetrics
from .service import Deliverer
from .settings import DeliverSettings


def topic_specs(settings: DeliverSettings) -> tuple[TopicSpec, ...]:
    return (
        TopicSpec(settings.topic(DELIVER_STATE_TOPIC), 1, cleanup_policy="compact"),
        TopicSpec(settings.topic(DELIVER_DLQ_TOPIC), 1),
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    settings = DeliverSettings.from_env()
    if not settings.endpoints_file:
        print("deliver: refusing to start: DELIVER_ENDPOINTS_FILE is not set", file=sys.stderr)
        raise SystemExit(2)
    try:
        endpoints = load_endpoints(settings.endpoints_file)
    except (EndpointsError, ValidationError) as exc:
        print(f"deliver: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not endpoints:
        logging.getLogger("sx.deliver").warning("no endpoint is registered: nothing will be delivered")
    asyncio.run(ensure_topics(settings.bootstrap_servers, topic_specs(settings)))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    metrics = DeliverMetrics(endpoints=[e.name for e in endpoints])
    app = create_app(settings, Deliverer(settings, endpoints, metrics), metrics)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
