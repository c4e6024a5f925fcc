"""The normalize faust app: web server, `/health`, `/metrics` and one task, the batch loop.

Resolution is global (a factory's two platform sites may sit in any partitions), so one normalize
process owns every partition of the accepted topic: the active one, which holds the lease (others
stand by, `standby.py`); its state is rebuilt from its own compacted output topics when it becomes
active (`restore`), not from faust tables (see docs/ingest.md on why). The events themselves are read,
mapped (by `mappers`, in processes of their own by default) and written in batches by
`batches.BatchLoop`, a plain aiokafka consumer and producer run as a
faust task: faust's own consumer, producer and per-event stream are off
(`services.faust_app.WithoutKafka`), as in every service. Offsets are committed only after the
batch's outputs are acknowledged (at-least-once), and the engine makes a replay produce the same bytes
again.

Nothing raw leaves: the log names record kinds, reason codes and coordinates only; every key and
value produced is pseudonymised by the mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from services.faust_app import make_app
from services.web import install_endpoints, worker_health

from .batches import BatchLoop
from .engine import Normalizer, Record
from .mappers import Mappers
from .metrics import NormalizeMetrics
from .settings import NormalizeSettings

__all__ = ["create_app"]

log = logging.getLogger("sx.normalize")


def create_app(
    settings: NormalizeSettings,
    normalizer: Normalizer,
    catch_up: list[Record] | None = None,
    registry: CollectorRegistry | None = None,
    key_ids: Mapping[str, Any] | None = None,
    takeover_seconds: float | None = None,
    mappers: Mappers | None = None,
) -> faust.App:
    metrics = NormalizeMetrics(registry)
    metrics.active.set(1)  # a worker runs only in the instance that holds the lease (standby.py)
    if takeover_seconds is not None:
        metrics.takeover.set(takeover_seconds)
    app = make_app(settings)
    batches = BatchLoop(settings, normalizer, metrics, catch_up or (), mappers)
    metrics.mapper_processes.set(batches.mappers.processes)

    async def normalize() -> None:
        try:
            await batches.run()
        except Exception as exc:  # a refused delivery, a failed commit: restart from the committed offsets
            log.exception("the batch loop failed; stopping, to be restarted from the committed offsets")
            await app.crash(exc)
            raise

    app.task(normalize)

    def health() -> dict[str, Any]:
        # Key ids are labels like "k1", never key material: which key writes, which ones the state holds.
        return worker_health(
            app,
            rebalancing=False,
            assigned_partitions=len(batches.positions.assignment()),
            key_ids=dict(key_ids or {}),
            role="active",
        )

    install_endpoints(app, metrics.registry, health, consumer_lag=lambda: batches.positions)
    return app
