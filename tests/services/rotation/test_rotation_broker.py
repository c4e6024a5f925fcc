"""The key rotation against the real broker (issue 15): normalize and the rotation as separate
processes, aggregate's releaser in-process on the real topics.

* mid-stream: normalize (k1) has read 70 % of the accepted topic and aggregate has released; the rest
  of the events arrive *while* the rotation runs; normalize then starts under k2 and reads on. Nothing
  is lost or doubled (normalize's topics equal an in-process replay of every event under k2), no k1 name
  is left anywhere, and the next release is byte for byte the in-process release of the same history
  without any rotation;
* a crash in the middle of the rotation (SIGKILL while its transaction is open) changes nothing; the
  next run finishes the job, and a run after that has nothing left to do;
* refusals that write nothing: normalize still running, and an old key that is not the state's; and
  normalize started with the retired key after a rotation refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC, format_release_time
from services.aggregate.__main__ import topic_specs
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.lease import LEASE_GROUP_SUFFIX, Lease
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.population import INPUT_TOPICS, NormalizedState
from services.aggregate.releaser import Releaser
from services.aggregate.schedule import ManualClock
from services.aggregate.settings import AggregateSettings
from services.compacted import read_compacted
from services.groups import group_is_empty
from services.kafka_auth import client_options
from services.normalize.engine import Normalizer, Rejected
from services.normalize.keycheck import KEY_MISMATCH_EXIT
from services.normalize.keys import KeyMaterial
from services.normalize.mapping import MappingContext
from services.normalize.replay import Replay
from services.normalize.settings import NormalizeSettings
from services.rotation.__main__ import REFUSED_EXIT
from services.rotation.plan import AcceptedRecord
from services.topics import delete_topics, ensure_topics
from tests.services.rotation.history import (
    FIRST_RELEASE,
    NEW,
    NOISE,
    OLD,
    PARTITIONS,
    SECOND_RELEASE,
    Feed,
    SeededSampler,
    feed,
    normalize_state,
    public,
    release,
)
from tests.services.rotation.test_plan import NAME
from tests.support.kafka import committed_offsets, create_topics, end_offsets, eventually, read_topic, unique
from tests.support.service import ServiceProcess, free_port

pytestmark = pytest.mark.broker
OTHER = KeyMaterial("k9", bytes(range(60, 92)))


class Exchange:
    """One private exchange on the broker: an accepted topic, normalize's and aggregate's settings."""

    def __init__(self, bootstrap: str, tmp_path: Path, history: Feed) -> None:
        self.bootstrap, self.tmp_path, self.history = bootstrap, tmp_path, history
        self.prefix = f"{unique('rot')}."
        self.accepted = f"{self.prefix}accepted"
        self.normalize = NormalizeSettings(
            bootstrap_servers=bootstrap,
            topic_prefix=self.prefix,
            accepted_topic=self.accepted,
            app_id=unique("norm"),
        )
        self.aggregate = AggregateSettings(
            bootstrap_servers=bootstrap,
            input_prefix=self.prefix,
            topic_prefix=self.prefix,
            app_id=unique("agg"),
            dp_tables="forced-labour",
        )
        self.sent: dict[int, int] = dict.fromkeys(range(PARTITIONS), 0)

    def env(self, key: KeyMaterial, new: KeyMaterial | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "NORMALIZE_TOPIC_PREFIX": self.prefix,
            "NORMALIZE_ACCEPTED_TOPIC": self.accepted,
            "NORMALIZE_APP_ID": self.normalize.app_id,
            "NORMALIZE_DATA_DIR": str(self.tmp_path / "normalize"),
            "NORMALIZE_PSEUDONYM_KEY": key.secret.hex(),
            "NORMALIZE_PSEUDONYM_KEY_ID": key.key_id,
            "AGGREGATE_APP_ID": self.aggregate.app_id,
            "AGGREGATE_TOPIC_PREFIX": self.prefix,
            "AGGREGATE_INPUT_PREFIX": self.prefix,
        }
        if new is not None:
            env["NORMALIZE_NEW_PSEUDONYM_KEY"] = new.secret.hex()
            env["NORMALIZE_NEW_PSEUDONYM_KEY_ID"] = new.key_id
        return env

    async def setup(self) -> None:
        await create_topics(self.bootstrap, [self.accepted], partitions=PARTITIONS)
        await ensure_topics(self.bootstrap, self.normalize.topic_specs())
        await ensure_topics(self.bootstrap, topic_specs(self.aggregate))

    async def teardown(self) -> None:
        names = [self.accepted, *(s.name for s in self.normalize.topic_specs())]
        await delete_topics(self.bootstrap, [*names, *(s.name for s in topic_specs(self.aggregate))])

    async def send(self, upto: dict[int, int], *, pause_every: int = 0) -> None:
        """The history's accepted records up to `upto` per partition, at the offsets the history gives."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, **client_options(), acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            count = 0
            for r in self.history.records:
                if self.sent[r.partition] <= r.offset < upto[r.partition]:
                    where = (r.partition, r.offset)
                    key, headers = self.history.keys[where], self.history.headers[where]
                    await producer.send_and_wait(
                        self.accepted, r.value, key=key, headers=headers, partition=r.partition
                    )
                    count += 1
                    if pause_every and count % pause_every == 0:
                        await asyncio.sleep(
                            0.05
                        )  # a platform's pace: events keep arriving during the rotation
            self.sent = dict(upto)
        finally:
            await producer.stop()

    def normalize_process(self, key: KeyMaterial, name: str) -> ServiceProcess:
        port = free_port()
        env = {**self.env(key), "NORMALIZE_WEB_PORT": str(port)}
        return ServiceProcess("services.normalize", env, self.tmp_path / f"{name}.log", port)

    async def run_normalize(
        self, key: KeyMaterial, name: str, meanwhile: Callable[[], None] = lambda: None
    ) -> None:
        """Normalize under `key` until its group has committed everything sent (then `meanwhile`, while
        it still runs), stopped cleanly."""
        service = self.normalize_process(key, name)
        service.start()
        try:
            service.wait_healthy()

            async def caught_up() -> bool:
                done = await committed_offsets(self.bootstrap, self.normalize.app_id, self.accepted)
                return all(done.get(p, -1) >= end for p, end in self.sent.items())

            await eventually(caught_up, 120, "normalize to commit every accepted event")
            meanwhile()
        finally:
            assert service.stop() == 0, service.log_tail()

    def rotation(self, old: KeyMaterial, new: KeyMaterial, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "services.rotation", *args],
            env=self.env(old, new),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def rotate(self, old: KeyMaterial, new: KeyMaterial, *args: str) -> tuple[int, str]:
        proc = self.rotation(old, new, *args)
        out, err = proc.communicate(timeout=300)
        return proc.returncode, (out + err).decode()

    async def state(self) -> dict[str, dict[str, bytes]]:
        names = self.normalize.state_topics
        read = [await read_compacted(self.bootstrap, self.normalize.topic(n)) for n in names]
        return {n: values for n, values in zip(names, read, strict=True) if values}

    async def release_log(self) -> dict[str, bytes]:
        return await read_compacted(self.bootstrap, self.aggregate.topic(RELEASE_STATE_TOPIC))

    async def normalize_ends(self) -> dict[str, dict[int, int]]:
        return {s.name: await end_offsets(self.bootstrap, s.name) for s in self.normalize.topic_specs()}

    async def release(self, at: object, sampler: SeededSampler) -> None:
        """Aggregate's releaser, in-process, on normalize's topics as they are now."""
        inputs = {t: await read_compacted(self.bootstrap, self.prefix + t) for t in INPUT_TOPICS}
        releaser = Releaser(
            self.aggregate,
            NormalizedState.from_topics(inputs),
            ManualClock(FIRST_RELEASE),
            AggregateMetrics(),
            DisclosureParams(),
            noise=self.aggregate.noise_params(),
            sampler=sampler,
        )
        try:
            await releaser.release(at)  # type: ignore[arg-type]
        finally:
            await releaser.stop()

    async def published(self) -> dict[str, list[tuple[str, bytes, bytes]]]:
        """release id -> (canonical topic, key, value) of every public record a subscriber reads."""
        out: defaultdict[str, list[tuple[str, bytes, bytes]]] = defaultdict(list)
        for spec in topic_specs(self.aggregate):
            if ".aggregates." not in spec.name:
                continue
            for r in await read_topic(self.bootstrap, spec.name):
                assert r.key is not None and r.value is not None
                out[json.loads(r.value)["release_id"]].append(
                    (spec.name.removeprefix(self.prefix), r.key, r.value)
                )
        return out


def key_ids(state: dict[str, dict[str, bytes]]) -> set[bytes]:
    blobs = [blob for values in state.values() for k, v in values.items() for blob in (k.encode(), v)]
    return {m.group(1) for blob in blobs for m in NAME.finditer(blob)}


def log_key_ids(log: dict[str, bytes]) -> set[bytes]:
    return {m.group(1) for blob in (*(k.encode() for k in log), *log.values()) for m in NAME.finditer(blob)}


def rejected(records: Iterable[AcceptedRecord]) -> int:
    """How many accepted records normalize dead-letters (computed in-process, under any key)."""

    replay = Replay(Normalizer.fresh(MappingContext.from_keys(OLD)))
    return sum(isinstance(replay.feed(r.value).result, Rejected) for r in records)


@pytest.fixture(scope="module")
def history() -> Feed:
    return feed()


async def test_a_rotation_mid_stream_loses_nothing_and_changes_nothing_public(
    bootstrap: str, tmp_path: Path, history: Feed
) -> None:
    x = Exchange(bootstrap, tmp_path, history)
    await x.setup()
    try:
        cut, ends = history.cut(0.7), history.ends()
        await x.send(cut)
        await x.run_normalize(OLD, "normalize-k1")
        await x.release(FIRST_RELEASE, SeededSampler(5))

        # The rest of the year arrives while the rotation runs.
        rotation = x.rotation(OLD, NEW)
        await x.send(ends, pause_every=25)
        out, err = await asyncio.to_thread(rotation.communicate, None, 300)
        assert rotation.returncode == 0, (out + err).decode()
        assert b"rotated: k1 -> k2" in out

        # The retired key is refused, and writes nothing.
        before = await x.normalize_ends()
        retired = x.normalize_process(OLD, "normalize-retired")
        retired.start()
        assert retired.proc is not None and retired.proc.wait(timeout=120) == KEY_MISMATCH_EXIT
        assert "k2" in retired.log_tail() and await x.normalize_ends() == before

        await x.run_normalize(NEW, "normalize-k2")
        state = await x.state()
        assert state == normalize_state(history.records, ends, NEW)  # nothing lost, nothing doubled
        assert key_ids(state) == {b"k2"} and log_key_ids(await x.release_log()) == {b"k2"}
        dead = await read_topic(bootstrap, x.normalize.dlq_topic)
        assert len(dead) == rejected(history.records)  # every rejected event dead-lettered once

        await x.release(SECOND_RELEASE, SeededSampler(6))
        published = await x.published()

        # The same history without a rotation, in-process.
        log: dict[bytes, bytes] = {}
        first = release(normalize_state(history.records, cut, OLD), log, FIRST_RELEASE, SeededSampler(5))
        second = release(normalize_state(history.records, ends, OLD), log, SECOND_RELEASE, SeededSampler(6))
        assert second.sent > 0
        assert sorted(published[format_release_time(FIRST_RELEASE)]) == sorted(public(first))
        assert sorted(published[format_release_time(SECOND_RELEASE)]) == sorted(public(second))
        assert NOISE.tables == x.aggregate.noise_params().tables
    finally:
        await x.teardown()


async def test_a_crash_mid_rotation_changes_nothing_and_the_next_run_finishes(
    bootstrap: str, tmp_path: Path, history: Feed
) -> None:
    x = Exchange(bootstrap, tmp_path, history)
    await x.setup()
    try:
        ends = history.ends()
        await x.send(ends)

        def refused_while_normalize_runs() -> None:
            code, said = x.rotate(OLD, NEW)
            assert code == REFUSED_EXIT and "stop normalize first" in said, said

        await x.run_normalize(OLD, "normalize-k1", refused_while_normalize_runs)
        await x.release(FIRST_RELEASE, SeededSampler(5))
        before, log_before = await x.state(), await x.release_log()
        ends_before = await x.normalize_ends()

        # An aggregate instance holding (or waiting for) the release lease: refused too.
        lease = Lease(x.aggregate, lambda leading: None)
        lease_task = asyncio.ensure_future(lease.run())
        try:

            async def aggregate_joined() -> bool:
                return not await group_is_empty(bootstrap, x.aggregate.app_id + LEASE_GROUP_SUFFIX)

            await eventually(aggregate_joined, 60, "an aggregate instance to join the lease group")
            code, said = await asyncio.to_thread(x.rotate, OLD, NEW)
            assert code == REFUSED_EXIT and "stop aggregate first" in said, said
        finally:
            lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease_task

        code, said = x.rotate(OTHER, NEW)  # an old key the state was not written under
        assert code == KEY_MISMATCH_EXIT and "k1" in said and "k9" in said
        assert await x.normalize_ends() == ends_before

        crashing = x.rotation(OLD, NEW, "--hold-seconds", "120")
        sites = x.normalize.topic("exchange.normalized.platform-sites.v1")

        async def open_transaction_written() -> bool:
            seen = await read_topic(bootstrap, sites, isolation="read_uncommitted")
            return any(r.key is not None and r.key.startswith(b"k2.") for r in seen)

        await eventually(open_transaction_written, 120, "the rotation's records, uncommitted, on the broker")
        crashing.send_signal(signal.SIGKILL)
        crashing.wait(timeout=30)

        code, said = x.rotate(OLD, NEW, "--dry-run")  # fences the dead transaction, reads, writes nothing
        assert code == 0 and "dry run" in said, said
        assert await x.state() == before and await x.release_log() == log_before

        code, said = x.rotate(OLD, NEW)
        assert code == 0 and "rotated" in said, said
        state = await x.state()
        assert state == normalize_state(history.records, ends, NEW)
        assert key_ids(state) == {b"k2"} and log_key_ids(await x.release_log()) == {b"k2"}
        code, said = x.rotate(OLD, NEW)
        assert code == 0 and "already rotated" in said, said
    finally:
        await x.teardown()
