"""Ingest's dedup state per input partition (`seen.SeenEvents`), with a loader in place of the topic:
what is loaded on an assignment, when, and what a revocation forgets."""

from __future__ import annotations

import json

from services.ingest.seen import SeenEvents

PLATFORMS = {"sedex-t": "sedex", "amfori-t": "amfori"}


class Topic:
    """The seen topic: partition -> key -> value, and the reads made of it."""

    def __init__(self) -> None:
        self.partitions: dict[int, dict[str, bytes]] = {}
        self.reads: list[list[int]] = []

    async def load(self, partitions: list[int]) -> dict[int, dict[str, bytes]]:
        self.reads.append(partitions)
        return {p: dict(self.partitions.get(p, {})) for p in partitions}

    def write(self, partition: int, key: str, value: bytes) -> None:
        self.partitions.setdefault(partition, {})[key] = value


async def test_an_assignment_loads_its_partitions_once_before_the_first_event() -> None:
    topic = Topic()
    topic.write(0, "sedex:e1", json.dumps(["sedex-t/0/5"]).encode())
    topic.write(0, "amfori:a1", json.dumps(["amfori-t/0/2"]).encode())
    topic.write(1, "sedex:e2", json.dumps(["sedex-t/1/7"]).encode())
    seen = SeenEvents(PLATFORMS, topic.load)
    seen.assigned([("sedex-t", 0), ("amfori-t", 0), ("sedex-t", 1), ("other", 0)])
    assert seen.owned() == {("sedex-t", 0), ("amfori-t", 0), ("sedex-t", 1)}
    assert topic.reads == []  # nothing read until an event of an owned partition is handled

    assert await seen.ensure("sedex-t", 0)
    assert topic.reads == [[0, 1]]  # every pending partition in one read
    assert list(seen.positions("sedex-t", 0, "sedex:e1")) == ["sedex-t/0/5"]
    assert list(seen.positions("sedex-t", 1, "sedex:e2")) == ["sedex-t/1/7"]
    # Each platform topic's partition holds its platform's entries only.
    assert list(seen.positions("amfori-t", 0, "amfori:a1")) == ["amfori-t/0/2"]
    assert list(seen.positions("sedex-t", 0, "amfori:a1")) == []
    assert not await seen.ensure("amfori-t", 0)
    assert topic.reads == [[0, 1]]
    assert seen.owned() == {("sedex-t", 0), ("amfori-t", 0), ("sedex-t", 1)}


async def test_a_revoked_partition_is_read_again_when_it_comes_back() -> None:
    """Another instance owned it in between and forwarded events this one must now know."""
    topic = Topic()
    seen = SeenEvents(PLATFORMS, topic.load)
    seen.assigned([("sedex-t", 2)])
    await seen.ensure("sedex-t", 2)
    seen.record("sedex-t", 2, "sedex:mine", ["sedex-t/2/0"])
    seen.revoked([("sedex-t", 2)])
    assert seen.owned() == set()

    topic.write(2, "sedex:mine", json.dumps(["sedex-t/2/0"]).encode())
    topic.write(2, "sedex:theirs", json.dumps(["sedex-t/2/1"]).encode())  # the other instance's
    seen.assigned([("sedex-t", 2)])
    assert await seen.ensure("sedex-t", 2)
    assert list(seen.positions("sedex-t", 2, "sedex:theirs")) == ["sedex-t/2/1"]
    assert len(seen) == 2


async def test_an_assignment_without_a_partition_drops_it() -> None:
    topic = Topic()
    seen = SeenEvents(PLATFORMS, topic.load)
    seen.assigned([("sedex-t", 0), ("sedex-t", 1)])
    await seen.ensure("sedex-t", 0)
    seen.assigned([("sedex-t", 1)])
    assert seen.owned() == {("sedex-t", 1)}
    assert not await seen.ensure("sedex-t", 1)  # kept: held since before, nobody else owned it


def test_a_seen_value_is_the_json_list_of_its_positions() -> None:
    seen = SeenEvents({"sedex.changes.v1": "sedex"}, _never_loaded)
    seen.assigned([("sedex.changes.v1", 2)])
    seen._entries[("sedex.changes.v1", 2)] = {}
    for positions in (["sedex.changes.v1/2/0"], ["a-b_c.D/2/10", "a-b_c.D/2/123456789"]):
        value = seen.record("sedex.changes.v1", 2, "sedex:x", positions)
        assert value == json.dumps(positions, separators=(",", ":")).encode()
        assert json.loads(value) == positions


async def _never_loaded(partitions: list[int]) -> dict[int, dict[str, bytes]]:
    raise AssertionError("not loaded in this test")


async def test_after_a_failed_batch_everything_is_read_again() -> None:
    """`forget`: entries of an aborted transaction may be in memory only; the next assignment loads
    the partitions again from the topic, which holds the committed ones."""
    topic = Topic()
    topic.write(0, "sedex:a", b'["sedex-t/0/0"]')
    seen = SeenEvents(PLATFORMS, topic.load)
    seen.assigned([("sedex-t", 0)])
    assert await seen.ensure("sedex-t", 0)
    seen.record("sedex-t", 0, "sedex:b", ["sedex-t/0/1"])  # its transaction is then aborted
    seen.forget()
    assert seen.owned() == set() and len(seen) == 0
    seen.assigned([("sedex-t", 0)])
    assert await seen.ensure("sedex-t", 0)
    assert list(seen.positions("sedex-t", 0, "sedex:a")) == ["sedex-t/0/0"]
    assert list(seen.positions("sedex-t", 0, "sedex:b")) == []
