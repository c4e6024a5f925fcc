"""The one way the services build their faust App, so they share one set of choices.

faust is the application around each service: its web server (health, metrics, the services' own
views, faust's own views off), timers, tasks and their supervision, and the broker probe. It is not
the services' Kafka client: every service reads and writes Kafka itself (ingest and normalize in
batches, aggregate's follower, lease and releaser, deliver's follower and ledger), so faust starts no
consumer, producer or table (`WithoutKafka`). Its consumer would join a consumer group for nothing
(or the service's own group, with another assignor); a restart after a crash would wait for the dead
member's session to expire before faust started the web server and the tasks at all; and its
per-event stream, one awaited send per record, cost ingest and normalize 95 % of the pass-through
rate (docs/ingest.md, docs/normalize.md, "Performance").
"""

from __future__ import annotations

from typing import Any

import faust
from faust.app.base import BootStrategy

from services.broker_probe import BrokerProbe, attach
from services.config import WorkerSettings
from services.logs import quiet_libraries
from services.memory import fix_mmap_threshold
from services.web import FAUST_WEB_SETTINGS


class WithoutKafka(BootStrategy):
    """faust's web server, timers and tasks, without its Kafka consumer, producer or tables."""

    enable_kafka = False

    def tables(self) -> list[Any]:
        return []


def make_app(settings: WorkerSettings) -> faust.App:
    fix_mmap_threshold(settings.malloc_mmap_threshold_bytes)
    quiet_libraries(settings.log_level)
    options: dict[str, Any] = {
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        "datadir": settings.data_dir,
        "store": "memory://",
        **FAUST_WEB_SETTINGS,
    }
    app = faust.App(settings.app_id, **options)
    app.boot_strategy = WithoutKafka(app)
    # Whether the broker can be reached: /health, sx_broker_reachable, one log line per change.
    probe = BrokerProbe(settings.bootstrap_servers)
    attach(app, probe)

    async def probe_broker() -> None:
        await probe.run()

    app.task(probe_broker)
    return app
