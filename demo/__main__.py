"""`python -m demo`: run the services as separate processes, publish a simulated feed, show the result.

Each service runs as in production (`python -m services.<name>`), with its HTTP port on loopback.
The feed is seeded (`--seed`, default: a fresh one per run, printed, because the exchange rightly
drops a second delivery of the same events as duplicates). The run ends when every published
message is accounted for by the services' own metrics, then prints what they did and stops them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from simulator.feed import generate_feed
from simulator.publish import publish

ROOT = Path(__file__).resolve().parents[1]
INGEST_PORT = 6066


def _samples(port: int) -> list[tuple[str, dict[str, str], float]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def _total(port: int, name: str) -> float:
    return sum(v for n, _, v in _samples(port) if n == name)


def _wait(what: str, check: callable, timeout: float, proc: subprocess.Popen[bytes]) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"demo: a service exited with {proc.returncode} while waiting for {what}; see .demo/"
            )
        try:
            if check():
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)  # polling the service's HTTP endpoints
    raise SystemExit(f"demo: timed out waiting for {what}")


def _start(module: str, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log_dir.mkdir(exist_ok=True)
    log = (log_dir / f"{module.rsplit('.', 1)[-1]}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _print_ingest(port: int) -> None:
    accepted: dict[str, dict[str, float]] = defaultdict(dict)
    dead: dict[str, float] = defaultdict(float)
    dup: dict[str, float] = defaultdict(float)
    for name, labels, value in _samples(port):
        if name == "sx_ingest_messages_accepted_total":
            accepted[labels["platform"]][labels["event_type"]] = value
        elif name == "sx_ingest_messages_dead_lettered_total" and value:
            dead[labels["reason"]] += value
        elif name == "sx_ingest_duplicates_total":
            dup[labels["platform"]] += value
    print("\ningest: accepted into exchange.ingest.accepted.v1")
    for platform in sorted(accepted):
        print(
            f"  {platform}: {int(sum(accepted[platform].values())):,} events, {int(dup[platform]):,} redeliveries dropped"
        )
        for event_type, n in sorted(accepted[platform].items()):
            print(f"      {event_type:<26}{int(n):>8,}")
    print(f"ingest: dead-lettered to exchange.ingest.dlq.v1: {int(sum(dead.values())):,}")
    for reason, n in sorted(dead.items()):
        print(f"      {reason:<26}{int(n):>8,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--sites", type=int, default=300, help="sites per platform")
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    logs = ROOT / ".demo"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INGEST_WEB_PORT": str(INGEST_PORT),
        "INGEST_LOG_LEVEL": "warning",
    }

    ingest = _start("services.ingest", env, logs)
    try:
        _wait(
            "ingest to be healthy",
            lambda: httpx.get(f"http://127.0.0.1:{INGEST_PORT}/health").status_code == 200,
            120,
            ingest,
        )
        before = _total(INGEST_PORT, "sx_ingest_messages_consumed_total")
        feed = generate_feed(seed, args.sites, months=args.months)
        print(
            f"demo: seed {seed}: {len(feed.messages):,} messages from {args.sites} sites per platform "
            f"over {args.months} months (both platforms, with redeliveries, stale versions and malformed messages)"
        )
        result = asyncio.run(publish(feed, bootstrap))
        print(f"demo: published {result['sent']:,} messages in {result['seconds']:.1f} s")
        target = before + result["sent"]
        _wait(
            "ingest to read every message",
            lambda: _total(INGEST_PORT, "sx_ingest_messages_consumed_total") >= target,
            600,
            ingest,
        )
        _print_ingest(INGEST_PORT)
        print(f"\ndemo: service logs in {logs}; metrics were at http://127.0.0.1:{INGEST_PORT}/metrics")
    finally:
        ingest.send_signal(signal.SIGTERM)
        try:
            ingest.wait(timeout=60)
        except subprocess.TimeoutExpired:
            ingest.kill()


if __name__ == "__main__":
    main()
