"""A service under test, run as in production: `python -m services.<name>` in its own process, with
its environment, its HTTP port, its readiness and its metrics, and its output kept aside for a failure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import create_temp_topics
from services.topics import delete_topics


def child_env() -> dict[str, str]:
    """This process's environment with the repo importable: a child process (a service, the pass-through
    worker) must import this package whatever the caller's cwd, and bench/ is not pip-installed."""
    root = str(Path(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}


def service_env(name: str, bootstrap: str, app_id: str, port: int, data_dir: str | Path) -> dict[str, str]:
    """The environment of `python -m services.<name>` on `bootstrap`: this process's, the package
    importable, and the settings every service has (`<NAME>_APP_ID`, `_WEB_PORT`, `_DATA_DIR`); the
    caller adds the service's own."""
    prefix = name.upper()
    return {
        **child_env(),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        f"{prefix}_APP_ID": app_id,
        f"{prefix}_WEB_PORT": str(port),
        f"{prefix}_DATA_DIR": str(data_dir),
    }


def free_port() -> int:
    """A loopback port nothing listens on now, for a service's HTTP endpoints."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_health(
    port: int,
    worker: asyncio.subprocess.Process,
    ready: Callable[[dict[str, Any]], bool],
    timeout: float,
    what: str,
) -> None:
    """Poll a service's /health until `ready(report)` (e.g. it owns all its partitions), so a timed
    run excludes start-up and group joining; fail fast if the process exits."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if worker.returncode is not None:
                raise RuntimeError(f"{what} exited with {worker.returncode} before it was ready")
            try:
                report = (await client.get(f"http://127.0.0.1:{port}/health", timeout=1.0)).json()
                if report.get("status") == "ok" and ready(report):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(0.2)  # polling the health endpoint
    raise TimeoutError(f"{what} was not ready in {timeout} s")


async def spawn_service(module: str, env: dict[str, str], log_path: str) -> asyncio.subprocess.Process:
    """`python -m <module>` as its own process, as in production; its output goes to `log_path`
    (start-up chatter, shown by `log_tail` only if the run fails)."""
    with _log_file(log_path) as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )


@asynccontextmanager
async def running(name: str, env: dict[str, str], log_path: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m services.<name>` for the length of the block, its output in `log_path`. If the block
    fails, the output's last lines go to stderr; a process still running at the end is killed."""
    worker: asyncio.subprocess.Process | None = None
    try:
        worker = await spawn_service(f"services.{name}", env, log_path)
        yield worker
    except BaseException:
        print(f"{name}'s log, last lines:\n" + log_tail(log_path), file=sys.stderr)
        raise
    finally:
        if worker is not None and worker.returncode is None:
            worker.kill()
            await worker.wait()


class UnderTest(NamedTuple):
    worker: asyncio.subprocess.Process
    port: int  # its HTTP endpoints


@asynccontextmanager
async def under_test(
    name: str,
    bootstrap: str,
    app_id: str,
    settings: dict[str, str],
    ready: Callable[[dict[str, Any]], bool],
    *,
    create: Sequence[str],
    partitions: int,
    delete: Sequence[str],
) -> AsyncIterator[UnderTest]:
    """`python -m services.<name>` on fresh topics for the length of the block: `create` created first
    (`partitions` each), the service started with `settings` beside `service_env`'s in a temporary data
    directory (`running`), and handed to the block once `/health` is ok and `ready` (start-up and group
    joining left out of any timing). Afterwards `delete` is deleted."""
    port = free_port()
    await create_temp_topics(bootstrap, create, partitions)
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as data_dir:
            env = {**service_env(name, bootstrap, app_id, port, data_dir), **settings}
            async with running(name, env, os.path.join(data_dir, f"{name}.log")) as worker:
                await wait_health(port, worker, ready, 90, name)
                yield UnderTest(worker, port)
    finally:
        await delete_topics(bootstrap, delete)


async def stop(worker: asyncio.subprocess.Process, what: str, timeout: float = 60.0) -> None:
    """SIGTERM, as an orchestrator stops a service; raises unless it exits cleanly within `timeout`."""
    worker.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(worker.wait(), timeout=timeout)
    if code != 0:
        raise RuntimeError(f"{what} exited with {code}")


Sample = tuple[str, dict[str, str], float]


async def metric_samples(client: httpx.AsyncClient, port: int, timeout: float = 10.0) -> list[Sample]:
    """Every sample of a service's `/metrics`: (name, labels, value)."""
    text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=timeout)).text
    return [
        (s.name, dict(s.labels), s.value) for f in text_string_to_metric_families(text) for s in f.samples
    ]


def totals(samples: Iterable[Sample]) -> defaultdict[str, float]:
    """Each metric's samples summed over their labels; 0 for a metric not reported."""
    out: defaultdict[str, float] = defaultdict(float)
    for name, _, value in samples:
        out[name] += value
    return out


def _log_file(path: str) -> IO[bytes]:
    return open(path, "wb")


def log_tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"
