"""`python -m services.normalize`: load the key, create topics, stand by until this process holds the
lease (standby.py: a single instance is handed it at once), restore state, run the worker.

Refuses to start without a pseudonymisation key (see keys.py); `NORMALIZE_DEMO_MODE=1` runs with a
public key and says so in the log.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from pathlib import Path

import faust

from services.collector import tune_for_streaming
from services.topics import ensure_topics

from . import mappers, repair
from .app import create_app
from .engine import restore
from .keycheck import KEY_MISMATCH_EXIT, KeyMismatchError, check_key
from .keys import KeyMaterial, MissingKeyError, load_key
from .mapping import MappingContext
from .settings import NormalizeSettings
from .standby import Standby

log = logging.getLogger("sx.normalize")


def _repair(argv: list[str], settings: NormalizeSettings, keys: KeyMaterial) -> None:
    args = repair.parser().parse_args(argv)
    try:
        done = asyncio.run(
            repair.repair_entity(
                settings, keys, args.platform, args.kind, args.ref, args.bad_event, rewind=not args.no_rewind
            )
        )
    except (repair.RepairRefused, ValueError) as exc:
        print(f"normalize repair-entity: refused: {exc}", file=sys.stderr)
        raise SystemExit(repair.REFUSED_EXIT) from None
    print(
        f"normalize repair-entity: event quarantined, the entity's applied version forgotten, "
        f"{done.rewound} partition(s) of {settings.accepted_topic} rewound; start normalize to replay"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    settings = NormalizeSettings.from_env()
    try:
        keys = load_key()
    except MissingKeyError as exc:
        print(f"normalize: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if sys.argv[1:2] == ["repair-entity"]:
        _repair(sys.argv[2:], settings, keys)
        return
    asyncio.run(ensure_topics(settings.bootstrap_servers, settings.topic_specs()))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    ctx = MappingContext.from_keys(keys)
    standby = Standby(settings)
    standby.start()
    takeover = standby.wait_active()  # the state, read to its end once this process holds the lease
    state = takeover.state
    try:
        held = check_key(state, keys.key_id)
    except KeyMismatchError as exc:
        log.error("refusing to start: %s", exc)
        print(f"normalize: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(KEY_MISMATCH_EXIT) from None
    log.info(
        "pseudonymisation key id %s; the state holds key id(s) %s",
        keys.key_id,
        ", ".join(sorted(held)) or "none",
    )
    restoring = time.monotonic()
    normalizer, catch_up = restore(
        ctx,
        ctx.resolved_site_id,
        state,
        default_consent=settings.default_consent,
    )
    takeover_seconds = takeover.seconds + time.monotonic() - restoring
    log.info("active: state restored, %.1f s after the lease came", takeover_seconds)
    app = create_app(
        settings,
        normalizer,
        catch_up,
        key_ids={"given": keys.key_id, "state": sorted(held)},
        takeover_seconds=takeover_seconds,
        mappers=mappers.start(settings.mapper_processes, keys, ctx, settings.mapper_min_batch),
    )
    atexit.register(standby.release)  # a graceful stop hands the lease over at once
    tune_for_streaming()  # after the restore: the restored state is never walked by the collector
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
