"""The deliver worker: faust serves /metrics and /health and runs one task, `Deliverer.run`; deliver
reads and writes Kafka itself (`follow.py`, `ledger.py`), so faust's consumer is off
(`services.faust_app.WithoutKafka`)."""

from __future__ import annotations

import logging
from typing import Any

import faust

from services.faust_app import make_app
from services.web import install_endpoints, worker_health

from .metrics import DeliverMetrics
from .service import Deliverer
from .settings import DeliverSettings


def quiet_http_clients() -> None:
    """httpx logs every request with its URL at INFO; a URL may carry a receiver's token."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def create_app(settings: DeliverSettings, deliverer: Deliverer, metrics: DeliverMetrics) -> faust.App:
    app = make_app(settings)
    quiet_http_clients()

    async def deliver() -> None:
        await deliverer.run()

    app.task(deliver)

    def health() -> dict[str, Any]:
        following = deliverer.follower.caught_up.is_set()
        report = worker_health(
            app,
            endpoints=len(deliverer.endpoints),
            releases="following" if following else "restoring",
            backlog_releases=deliverer.backlog,
        )
        if not (following and deliverer.state_loaded.is_set()) and report["status"] == "ok":
            report["status"] = "starting"
        return report

    install_endpoints(app, metrics.registry, health)
    return app
