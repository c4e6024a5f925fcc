"""Repairing an entity frozen by a bad version: `python -m services.normalize repair-entity ...`.

Versions only go up, so one event with a version far above the real ones (a platform bug, a hostile
message inside 1 ... 2^31 - 1) makes every later real version of its entity stale: the entity is
frozen, and `sx_normalize_version_jumps_total` says so. The repair, with normalize stopped:

1. *quarantine* the bad event: its pseudonym goes to `exchange.normalize.quarantine.v1`, which
   normalize reads at start-up and from then on dead-letters that event (`quarantined`) instead of
   applying it, on every replay too;
2. *forget* the entity's applied version (a tombstone on the versions topic);
3. *rewind* normalize's consumer group on the accepted topic to its beginning, so the entity's real
   events are applied again in order. Replaying everything is safe by construction (an event already
   applied is produced again byte for byte, a stale one changes nothing) and costs one pass over the
   accepted topic; `--no-rewind` skips it when the platform will send the entity again anyway.

The command refuses while normalize's group has members (a running normalize would overwrite the
version from memory). It takes the same key as normalize (the entity and event are found by their
pseudonyms) and writes nothing that names them in clear.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata

from services.compacted import partitions
from services.groups import group_is_empty
from services.kafka_auth import client_options

from .keys import KeyMaterial
from .mapping import MappingContext
from .pseudonymise import IdKind
from .settings import NormalizeSettings
from .topics import NORMALIZE_QUARANTINE_TOPIC, NORMALIZE_VERSIONS_TOPIC

KINDS: Final = ("site", "audit", "finding", "company", "training")
REFUSED_EXIT: Final = 4


class RepairRefused(RuntimeError):
    pass


def entity_pseudonym(ctx: MappingContext, platform: str, kind: str, refs: Sequence[str]) -> str:
    """The entity's key in the versions topic (the pseudonym its records are keyed by). A finding is
    named by its audit's ref and its own."""
    if kind == "finding":
        if len(refs) != 2:
            raise ValueError("a finding is named by two refs: the audit's, then the finding's")
        return ctx.finding_id(platform, refs[0], refs[1])
    if len(refs) != 1:
        raise ValueError(f"a {kind} is named by one ref")
    ids = {"site": ctx.site_id, "audit": ctx.audit_id, "company": ctx.company_id, "training": ctx.training_id}
    return ids[kind](platform, refs[0])


@dataclass(frozen=True, slots=True)
class Repair:
    entity: str  # pseudonym
    event: str  # pseudonym of the quarantined event
    rewound: int  # partitions of the accepted topic rewound


async def repair_entity(
    settings: NormalizeSettings,
    keys: KeyMaterial,
    platform: str,
    kind: str,
    refs: Sequence[str],
    bad_event_id: str,
    *,
    rewind: bool = True,
) -> Repair:
    ctx = MappingContext.from_keys(keys)
    entity = entity_pseudonym(ctx, platform, kind, refs)
    event = ctx.pseudonymiser.pseudonym(IdKind.EVENT, f"{platform}:{bad_event_id}")
    # Both groups: a standby (in the lease group only) would take over as soon as the active stops.
    for group in (settings.app_id, settings.lease_group):
        if not await group_is_empty(settings.bootstrap_servers, group):
            raise RepairRefused(
                f"normalize's consumer group {group} has members: stop every normalize process first"
            )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, **client_options(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        reason = json.dumps({"reason": "repair-entity: set aside as a bad version"}).encode()
        await producer.send_and_wait(settings.topic(NORMALIZE_QUARANTINE_TOPIC), reason, key=event.encode())
        await producer.send_and_wait(settings.topic(NORMALIZE_VERSIONS_TOPIC), None, key=entity.encode())
    finally:
        await producer.stop()
    rewound = 0
    if rewind:
        tps = (await partitions(settings.bootstrap_servers, [settings.accepted_topic]))[
            settings.accepted_topic
        ]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            **client_options(),
            group_id=settings.app_id,
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            consumer.assign(tps)
            beginning = await consumer.beginning_offsets(tps)
            await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in beginning.items()})
            rewound = len(tps)
        finally:
            await consumer.stop()
    return Repair(entity, event, rewound)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.normalize repair-entity",
        description="Quarantine a bad event and let its entity's real versions apply again "
        "(normalize stopped).",
    )
    p.add_argument("--platform", choices=("sedex", "amfori"), required=True)
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument(
        "--ref", action="append", required=True, help="the entity's platform ref (a finding: twice)"
    )
    p.add_argument("--bad-event", required=True, help="the platform event id that carried the bad version")
    p.add_argument("--no-rewind", action="store_true", help="do not replay the accepted topic")
    return p
