"""The HTTP surface every service shares: Prometheus metrics and health, nothing else.

faust's own web views (tables, router, graph, stats) are switched off in `FAUST_WEB_SETTINGS`: the
table views would serve state keyed by raw platform identifiers to anyone who can reach the port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import faust
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from services.broker_probe import probe_of
from services.consumer_lag import ConsumerLag

# prometheus_client's CONTENT_TYPE_LATEST carries "; charset=utf-8", which aiohttp refuses in
# content_type; the text format is UTF-8 by definition, so the bare media type is equivalent.
PROMETHEUS_TEXT_FORMAT: Final = "text/plain; version=0.0.4"

FAUST_WEB_SETTINGS: Final[dict[str, Any]] = {
    "web_enabled": True,
    "web_tables_enabled": False,
    "web_router_enabled": False,
    "web_graph_enabled": False,
    "web_stats_enabled": False,
    "web_metrics_enabled": False,
}


def install_endpoints(
    app: faust.App,
    registry: CollectorRegistry,
    health: Callable[[], dict[str, Any]],
    *,
    consumer_lag: Callable[[], Any] | None = None,
) -> None:
    """`/metrics` in the Prometheus text format; `/health` is 200 while `health()` says ok, else 503.
    With a broker probe on the app (`services.faust_app.make_app`), also `sx_broker_reachable`; with
    `consumer_lag` (what a batch loop reads: `services.consumer_lag.ReadPositions`), also
    `sx_consumer_lag_messages`. No service reads through faust's consumer, so there is no default."""
    probe = getattr(app, "sx_broker_probe", None)
    if probe is not None:
        gauge = Gauge(
            "sx_broker_reachable",
            "1 while a bootstrap server accepts connections, else 0.",
            registry=registry,
        )
        gauge.set_function(lambda: 1.0 if probe.reachable else 0.0)
    if consumer_lag is not None:
        registry.register(ConsumerLag(consumer_lag))

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(registry), content_type=PROMETHEUS_TEXT_FORMAT)

    @app.page("/health")
    async def healthcheck(web: Any, request: Any) -> Any:
        report = health()
        return web.json(report, status=200 if report.get("status") == "ok" else 503)


def worker_health(app: faust.App, **extra: Any) -> dict[str, Any]:
    """The health report every service gives: failing once the worker crashed or is stopping,
    degraded while the broker cannot be reached; `extra` is the service's own (its loop's
    assignment, its role, ...)."""
    crashed = getattr(app, "_crash_reason", None) is not None
    report: dict[str, Any] = {"status": "fail" if crashed or app.should_stop else "ok"}
    probe = probe_of(app)
    if probe is not None:
        report.update(probe.report())
        if not probe.reachable and report["status"] == "ok":
            report["status"] = "degraded"  # 503: up, but it can neither read nor write
    return {**report, **extra}
