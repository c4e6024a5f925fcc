"""Run a service as its own process, the way an operator does, and talk to its HTTP endpoints."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.kafka_auth import client_options
from simulator.publish import publish
from tests.support.kafka import eventually

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_to_exit(module: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[bytes]:
    """`python -m <module>` from the repository root, run to its end with its output captured: for a
    service that must refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", module], check=False, cwd=REPO, env=dict(env), capture_output=True, timeout=60
    )


class ServiceProcess:
    """`python -m <module>` with an environment; logs go to a file the test can scan."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path, web_port: int) -> None:
        self.module = module
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log_path = log_path
        self.web_port = web_port
        self.proc: subprocess.Popen[bytes] | None = None
        # A normalize process answers as a standby first, until it holds the lease and its worker runs
        # (services/normalize/standby.py): healthy means active, unless a test waits for a standby.
        self.ready_roles: set[str] | None = {"active"} if module == "services.normalize" else None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._assert_running()
            try:
                response = httpx.get(self.url("/health"), timeout=1.0)
                roles = self.ready_roles
                if response.status_code == 200 and (roles is None or response.json().get("role") in roles):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)  # polling an HTTP endpoint between attempts
        raise TimeoutError(f"{self.module} not healthy after {timeout}s; log: {self.log_tail()}")

    def get(self, path: str) -> str:
        response = httpx.get(self.url(path), timeout=5.0)
        response.raise_for_status()
        return response.text

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = httpx.get(self.url("/metrics"), timeout=5.0)
        response.raise_for_status()
        text = response.text
        out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    def metric_sum(self, name: str, **labels: str) -> float:
        return sum(
            value
            for (n, lbls), value in self.metrics().items()
            if n == name and all(dict(lbls).get(k) == v for k, v in labels.items())
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)

    def _assert_running(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.module} exited with {self.proc.returncode}; log: {self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@dataclass(frozen=True)
class IngestUnderTest:
    """One ingest process on private topics: the platform topics it reads (canonical name -> private
    name), the topics it writes, its consumer group and the process."""

    platform_topics: dict[str, str]
    accepted: str
    dlq: str
    seen: str
    app_id: str
    service: ServiceProcess

    def consumed(self) -> float:
        return self.service.metric_sum("sx_ingest_messages_consumed_total")

    async def start_on_first_half(self, bootstrap: str, messages: Sequence[Any]) -> int:
        """Publish the first half of the messages, start ingest, wait until it consumed them; returns
        how many that was."""
        half = len(messages) // 2
        await publish(messages[:half], bootstrap, topics=self.platform_topics, security=client_options())
        self.service.start()
        self.service.wait_healthy()

        async def first_half() -> bool:
            return self.consumed() >= half

        await eventually(first_half, 120, "the first half consumed")
        return half


def normalize_under_test(
    bootstrap: str, tmp_path: Path, name: str, *, app_id: str, accepted: str, prefix: str
) -> ServiceProcess:
    """A demo-mode normalize reading `accepted` and writing its topics under `prefix`; its data in
    `tmp_path/<name>`, its log in `tmp_path/<name>.log` (the caller creates the accepted topic)."""
    port = free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NORMALIZE_APP_ID": app_id,
        "NORMALIZE_WEB_PORT": str(port),
        "NORMALIZE_DATA_DIR": str(tmp_path / name),
        "NORMALIZE_ACCEPTED_TOPIC": accepted,
        "NORMALIZE_TOPIC_PREFIX": prefix,
        "NORMALIZE_DEMO_MODE": "1",
        # Every batch goes through the mapper process, however small: the tests' feeds are small.
        "NORMALIZE_MAPPER_MIN_BATCH": "0",
    }
    return ServiceProcess("services.normalize", env, tmp_path / f"{name}.log", port)


def ingest_under_test(bootstrap: str, tmp_path: Path, suffix: str) -> IngestUnderTest:
    """Names and environment for an ingest on topics of its own (the caller creates the platform,
    accepted and dead-letter topics; ingest creates its seen topic itself, as in production)."""
    platform_topics = {"sedex.changes.v1": f"sedex-{suffix}", "amfori.changes.v1": f"amfori-{suffix}"}
    accepted, dlq, seen, app_id = f"accepted-{suffix}", f"dlq-{suffix}", f"seen-{suffix}", f"ingest-{suffix}"
    port = free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INGEST_APP_ID": app_id,
        "INGEST_WEB_PORT": str(port),
        "INGEST_DATA_DIR": str(tmp_path / "data"),
        "INGEST_SEDEX_TOPIC": platform_topics["sedex.changes.v1"],
        "INGEST_AMFORI_TOPIC": platform_topics["amfori.changes.v1"],
        "INGEST_ACCEPTED_TOPIC": accepted,
        "INGEST_DLQ_TOPIC": dlq,
        "INGEST_SEEN_TOPIC": seen,
    }
    service = ServiceProcess("services.ingest", env, tmp_path / "ingest.log", port)
    return IngestUnderTest(platform_topics, accepted, dlq, seen, app_id, service)
