"""Repairing an entity frozen by a bad version, against the real broker (issue 14, defect 2).

An audit gets version 1, then a bad event with version 2^31 - 1 (in range, so ingest admits it), then
its real version 2, which is now stale: the audit is frozen at the bad event's content, and
`sx_normalize_version_jumps_total` counts the jump. While normalize runs, the repair command refuses;
once normalize is stopped it quarantines the bad event, forgets the audit's version and rewinds the
group; normalize then replays, dead-letters the bad event as `quarantined` and applies version 2."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas.shared.models import Audit
from services.ingest.admit import SEDEX, Admitted, admit
from services.ingest.envelopes import accepted_record
from services.kafka_auth import client_options
from services.lease import GroupLease
from services.normalize.keys import load_key
from services.normalize.repair import REFUSED_EXIT, RepairRefused, repair_entity
from services.normalize.settings import NormalizeSettings
from services.normalize.topics import NORMALIZE_LEASE_TOPIC
from services.topics import delete_topics
from tests.fixtures.examples import encode, sedex_audit
from tests.support.kafka import create_topics, eventually, read_topic, unique
from tests.support.service import ServiceProcess, free_port

pytestmark = pytest.mark.broker
KEY = "cd" * 32
BAD = 2**31 - 1
CONSUMED = "sx_normalize_events_consumed_total"


def event(event_id: str, version: int, interviewed: int) -> Admitted:
    raw = sedex_audit()
    raw["eventId"], raw["entityVersion"] = event_id, version
    raw["payload"]["workersInterviewed"] = interviewed
    admitted = admit(SEDEX, b"ZS1098453", encode(raw))
    assert isinstance(admitted, Admitted), admitted
    return admitted


async def test_a_frozen_entity_is_repaired_by_quarantining_its_bad_event(
    bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"{unique('rp')}."
    accepted = f"{prefix}accepted"
    await create_topics(bootstrap, [accepted], partitions=2)
    ids = {"first": "11111111-1111-4111-8111-111111111111", "bad": "22222222-2222-4222-8222-222222222222"}
    ids["real"] = "33333333-3333-4333-8333-333333333333"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
    await producer.start()
    try:
        for offset, (name, version, interviewed) in enumerate(
            (("first", 1, 18), ("bad", BAD, 999), ("real", 2, 25))
        ):
            admitted = event(ids[name], version, interviewed)
            value, headers = accepted_record("sedex", admitted.event, "sedex.changes.v1", 0, offset)
            await producer.send_and_wait(accepted, value, key=b"ZS1098453", headers=headers, partition=0)
    finally:
        await producer.stop()
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NORMALIZE_TOPIC_PREFIX": prefix,
        "NORMALIZE_ACCEPTED_TOPIC": accepted,
        "NORMALIZE_APP_ID": unique("norm"),
        "NORMALIZE_WEB_PORT": str(port),
        "NORMALIZE_DATA_DIR": str(tmp_path / "data"),
        "NORMALIZE_PSEUDONYM_KEY": KEY,
        "NORMALIZE_PSEUDONYM_KEY_ID": "k7",
    }
    audits_topic = prefix + Audit.TOPIC

    async def audit_now() -> Audit | None:
        values = [r.value for r in await read_topic(bootstrap, audits_topic) if r.value is not None]
        return Audit.model_validate_json(values[-1]) if values else None

    def repair_command() -> subprocess.CompletedProcess[bytes]:
        args = ["repair-entity", "--platform", "sedex", "--kind", "audit", "--ref", "SMETA-2026-000871"]
        return subprocess.run(
            [sys.executable, "-m", "services.normalize", *args, "--bad-event", ids["bad"]],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )

    service = ServiceProcess("services.normalize", env, tmp_path / "normalize.log", port)
    try:
        service.start()
        service.wait_healthy()

        async def read_all() -> bool:
            return service.metric_sum(CONSUMED) >= 3

        await eventually(read_all, 60, "normalize to read the three events")
        assert service.metric_sum("sx_normalize_version_jumps_total") == 1
        assert service.metric_sum("sx_normalize_stale_events_total") == 1  # the real version 2
        frozen = await audit_now()
        assert frozen is not None and frozen.version == BAD and frozen.workers_interviewed == 999

        refused = repair_command()  # normalize still runs: its in-memory versions would win
        assert refused.returncode == REFUSED_EXIT, refused.stderr.decode()[-1000:]
        assert service.stop() == 0

        done = repair_command()
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        service.start()
        service.wait_healthy()

        async def repaired() -> bool:
            audit = await audit_now()
            return audit is not None and audit.version == 2

        await eventually(repaired, 60, "the audit's real version 2 to apply after the repair")
        audit = await audit_now()
        assert audit is not None and audit.workers_interviewed == 25
        assert service.metric_sum("sx_normalize_mapping_failures_total", reason="quarantined") == 1
    finally:
        if service.proc is not None:
            service.stop()
        await delete_topics(
            bootstrap, [accepted, *(s.name for s in NormalizeSettings(topic_prefix=prefix).topic_specs())]
        )


async def test_a_standby_alone_is_enough_to_refuse_a_repair(bootstrap: str) -> None:
    """A standby sits in the lease group only, and would take over as soon as the active stops: the
    repair must refuse while it runs too."""
    settings = NormalizeSettings(
        bootstrap_servers=bootstrap, app_id=unique("normalize-rep"), topic_prefix=unique("rep") + "."
    )
    lease_topic = settings.topic(NORMALIZE_LEASE_TOPIC)
    await create_topics(bootstrap, [lease_topic], partitions=1)
    held = asyncio.Event()
    lease = GroupLease(
        bootstrap,
        lease_topic,
        settings.lease_group,
        6000,
        lambda h: held.set() if h else None,
        logging.getLogger(),
    )
    member = asyncio.create_task(lease.run())
    try:
        await eventually(lambda: _is_set(held), 60, "the stand-in standby in the lease group")
        with pytest.raises(RepairRefused, match="lease"):
            await repair_entity(
                settings, load_key({"NORMALIZE_DEMO_MODE": "1"}), "sedex", "audit", ["A-1"], "e-1"
            )
    finally:
        member.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await member
        await delete_topics(bootstrap, [lease_topic])


async def _is_set(event: asyncio.Event) -> bool:
    return event.is_set()
