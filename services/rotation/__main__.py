"""`python -m services.rotation`: rotate the pseudonymisation key (runbook: docs/normalize.md).

The old key is normalize's usual `NORMALIZE_PSEUDONYM_KEY` / `_KEY_FILE` / `_KEY_ID`; the new one is
`NORMALIZE_NEW_PSEUDONYM_KEY` / `_KEY_FILE` / `_KEY_ID`. Topics and groups come from normalize's and
aggregate's own settings (`NORMALIZE_*`, `AGGREGATE_*`). Exit codes: 0 done (or nothing to do), 2 a key
missing, 3 the old key is not the one the state was written under, 4 refused (a service running, the
history incomplete, a release owed). Only counts and key ids are printed, never a name.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from services.aggregate.settings import AggregateSettings
from services.normalize.keycheck import KEY_MISMATCH_EXIT, KeyMismatchError
from services.normalize.keys import MissingKeyError, load_key
from services.normalize.settings import NormalizeSettings

from .operation import rotate
from .plan import RotationRefused

REFUSED_EXIT = 4


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.rotation",
        description="Rewrite normalize's state and aggregate's release log under a new pseudonymisation "
        "key (normalize and aggregate stopped).",
    )
    p.add_argument("--dry-run", action="store_true", help="read, replay and check; write nothing")
    p.add_argument("--hold-seconds", type=float, default=0.0, help=argparse.SUPPRESS)  # crash tests only
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        old, new = load_key(), load_key(prefix="NORMALIZE_NEW_")
    except MissingKeyError as exc:
        print(f"rotation: refused: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        done = asyncio.run(
            rotate(
                NormalizeSettings.from_env(),
                AggregateSettings.from_env(),
                old,
                new,
                dry_run=args.dry_run,
                hold_seconds=args.hold_seconds,
            )
        )
    except KeyMismatchError as exc:
        print(f"rotation: refused: the old key given is not the state's: {exc}", file=sys.stderr)
        raise SystemExit(KEY_MISMATCH_EXIT) from None
    except RotationRefused as exc:
        print(f"rotation: refused, nothing written: {exc}", file=sys.stderr)
        raise SystemExit(REFUSED_EXIT) from None
    plan = done.plan
    if plan is None:
        print(f"rotation: {done.outcome}")
        return
    print(
        f"rotation: {done.outcome}: {old.key_id} -> {new.key_id}; {done.events} accepted events replayed "
        f"(history verified at the {plan.verified_at}); {len(plan.normalize) - plan.tombstones} records "
        f"written, {plan.tombstones} old keys tombstoned, {len(plan.release_log)} release-log records "
        f"renamed, {len(plan.dead_letters)} events dead-lettered"
    )
    if done.outcome == "rotated":
        print(
            f"rotation: start normalize with key id {new.key_id}; the key {old.key_id} is retired and can be "
            "destroyed once the compacted topics have been compacted (docs/normalize.md)"
        )


if __name__ == "__main__":
    main()
