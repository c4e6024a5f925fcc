"""The one way the services build their faust App and raw topics, so they share one set of choices.

At-least-once processing, an in-memory store (no faust tables: see docs/ingest.md), acks from every
in-sync replica, offsets from the earliest record for a new group, HTTP bound to the configured host
with faust's own web views off, and the two corrections of `faust_fixes`.
"""

from __future__ import annotations

from typing import Any

import faust

from services import faust_fixes
from services.broker_probe import BrokerProbe, attach
from services.config import WorkerSettings, faust_broker_urls
from services.kafka_auth import KafkaCredentials
from services.logs import quiet_libraries
from services.memory import fix_mmap_threshold
from services.web import FAUST_WEB_SETTINGS


def make_app(settings: WorkerSettings, **overrides: Any) -> faust.App:
    faust_fixes.apply()
    fix_mmap_threshold(settings.malloc_mmap_threshold_bytes)
    quiet_libraries(settings.log_level)
    options: dict[str, Any] = {
        "broker": faust_broker_urls(settings.bootstrap_servers),
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        "datadir": settings.data_dir,
        "store": "memory://",
        "topic_partitions": settings.partitions,
        "topic_replication_factor": 1,
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "producer_linger": 0.005,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_every": 1000,
        "broker_commit_interval": 1.0,
        "broker_session_timeout": settings.session_timeout_seconds,
        "broker_heartbeat_interval": settings.session_timeout_seconds / 3,
        **FAUST_WEB_SETTINGS,
        **overrides,
    }
    credentials = KafkaCredentials.from_env()
    if credentials.secured and "broker_credentials" not in options:
        options["broker_credentials"] = faust.SASLCredentials(
            username=credentials.username, password=credentials.password, mechanism=credentials.mechanism
        )
    app = faust.App(settings.app_id, **options)
    # Whether the broker can be reached: /health, sx_broker_reachable, one log line per change.
    probe = BrokerProbe(settings.bootstrap_servers)
    attach(app, probe)

    async def probe_broker() -> None:
        await probe.run()

    app.task(probe_broker)
    return app


def raw_topic(app: faust.App, *names: str, partitions: int | None = None) -> Any:
    """Bytes in, bytes out: the services validate with their own models, and a dead letter must carry
    the very bytes that were read, so faust never decodes."""
    return app.topic(
        *names,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
