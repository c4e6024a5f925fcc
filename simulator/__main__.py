"""``python -m simulator``: generate a seeded feed and publish it (or only describe it with --dry-run)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import date

from services.kafka_auth import client_options
from simulator.feed import generate_feed
from simulator.publish import publish


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sites", type=int, default=200, help="sites per platform")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1), help="YYYY-MM-DD")
    parser.add_argument("--no-malformed", action="store_true", help="leave out the malformed messages")
    parser.add_argument("--malformed-rate", type=float, default=0.003)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--dry-run", action="store_true", help="generate and summarise, publish nothing")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    feed = generate_feed(
        args.seed,
        args.sites,
        args.start,
        args.months,
        malformed=not args.no_malformed,
        malformed_rate=args.malformed_rate,
    )
    elapsed = time.perf_counter() - started
    s = feed.summary()
    print(
        f"feed seed={s['seed']} sites/platform={s['sites_per_platform']} start={s['start']} "
        f"months={s['months']}: "
        f"{s['messages']} messages, {s['bytes'] / 1e6:.1f} MB, generated in {elapsed:.1f}s"
    )
    for topic, counts in s["by_topic"].items():
        plain = {k: v for k, v in counts.items() if not k.startswith("invalid:")}
        invalid = {k.removeprefix("invalid:"): v for k, v in counts.items() if k.startswith("invalid:")}
        line = " ".join(f"{k}={v}" for k, v in plain.items())
        if invalid:
            line += (
                f" invalid={sum(invalid.values())} (" + " ".join(f"{k}={v}" for k, v in invalid.items()) + ")"
            )
        print(f"  {topic}: {line}")
    if args.dry_run:
        print("dry run: nothing published")
        return 0
    result = asyncio.run(publish(feed, args.bootstrap, security=client_options()))
    print(
        f"published {result['sent']} messages to {args.bootstrap} in {result['seconds']}s "
        f"({result['per_second']}/s): " + json.dumps(result["by_topic"])
    )
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
