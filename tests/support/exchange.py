"""The three services of the exchange as their own processes on private topics, for end-to-end tests:
ingest reads two platform topics, normalize (demo key) writes under `<suffix>.n.`, aggregate (manual
clock) publishes under `<suffix>.a.`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.aggregate.population import INPUT_KINDS
from services.compacted import read_compacted
from tests.support.service import ServiceProcess, free_port


@dataclass
class Exchange:
    ingest: ServiceProcess
    normalize: ServiceProcess
    aggregate: ServiceProcess
    sedex: str  # the platform topics ingest reads
    amfori: str
    accepted: str
    normalized: str  # normalize's topic prefix (aggregate's input prefix)
    released: str  # aggregate's topic prefix

    @property
    def services(self) -> tuple[ServiceProcess, ServiceProcess, ServiceProcess]:
        return (self.ingest, self.normalize, self.aggregate)

    @property
    def platform_topics(self) -> dict[str, str]:
        """The simulator's topic names -> this exchange's."""
        return {"sedex.changes.v1": self.sedex, "amfori.changes.v1": self.amfori}

    def stop(self) -> None:
        for service in reversed(self.services):
            if service.proc is not None:
                service.stop()


def exchange(
    bootstrap: str, tmp_path: Path, suffix: str, now: str, aggregate_env: dict[str, str] | None = None
) -> Exchange:
    """The three processes, not started; aggregate's clock at `now`, moved by hand (`POST /clock`)."""
    sedex, amfori, accepted = f"sedex-{suffix}", f"amfori-{suffix}", f"accepted-{suffix}"
    normalized, released = f"{suffix}.n.", f"{suffix}.a."
    base = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    ports = {name: free_port() for name in ("ingest", "normalize", "aggregate")}

    def process(module: str, name: str, env: dict[str, str]) -> ServiceProcess:
        prefix = name.upper()
        own = {
            f"{prefix}_APP_ID": f"{name}-{suffix}",
            f"{prefix}_WEB_PORT": str(ports[name]),
            f"{prefix}_DATA_DIR": str(tmp_path / name),
        }
        return ServiceProcess(module, {**base, **own, **env}, tmp_path / f"{name}.log", ports[name])

    return Exchange(
        ingest=process(
            "services.ingest",
            "ingest",
            {
                "INGEST_SEDEX_TOPIC": sedex,
                "INGEST_AMFORI_TOPIC": amfori,
                "INGEST_ACCEPTED_TOPIC": accepted,
                "INGEST_DLQ_TOPIC": f"dlq-{suffix}",
                "INGEST_SEEN_TOPIC": f"seen-{suffix}",
            },
        ),
        normalize=process(
            "services.normalize",
            "normalize",
            {
                "NORMALIZE_ACCEPTED_TOPIC": accepted,
                "NORMALIZE_TOPIC_PREFIX": normalized,
                "NORMALIZE_DEMO_MODE": "1",
                # Every batch through the mapper process, however small: the tests' feeds are small.
                "NORMALIZE_MAPPER_MIN_BATCH": "0",
            },
        ),
        aggregate=process(
            "services.aggregate",
            "aggregate",
            {
                "AGGREGATE_INPUT_PREFIX": normalized,
                "AGGREGATE_TOPIC_PREFIX": released,
                "AGGREGATE_NOW": now,
                "AGGREGATE_MANUAL_CLOCK": "true",
                "AGGREGATE_TICK_SECONDS": "0.2",
                **(aggregate_env or {}),
            },
        ),
        sedex=sedex,
        amfori=amfori,
        accepted=accepted,
        normalized=normalized,
        released=released,
    )


def post_clock(service: ServiceProcess, now: str) -> None:
    """Move aggregate's manual clock."""
    httpx.post(service.url("/clock"), params={"now": now}, timeout=5).raise_for_status()


def last_release(service: ServiceProcess) -> Any:
    """The release time aggregate's /health reports as its last."""
    return json.loads(service.get("/health")).get("last_release")


async def holds_everything(x: Exchange, bootstrap: str, published: int) -> bool:
    """Every published platform message went through ingest and normalize, and aggregate holds every
    record of normalize's topics."""
    if x.ingest.metric_sum("sx_ingest_messages_consumed_total") < published:
        return False
    accepted = x.ingest.metric_sum("sx_ingest_messages_accepted_total")
    if x.normalize.metric_sum("sx_normalize_events_consumed_total") < accepted:
        return False
    for topic, kind in INPUT_KINDS.items():
        held = x.aggregate.metric_sum("sx_aggregate_state_records", kind=kind)
        if held != len(await read_compacted(bootstrap, x.normalized + topic)):
            return False
    return True
