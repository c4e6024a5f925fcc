"""The batch partitioner gives what Kafka's default partitioner gives, key for key.

The reference is aiokafka's own `murmur2` and `DefaultPartitioner` (what `send()` uses, a port of the
Java client's), and the values Kafka's Java client gives for a few keys over 1000 partitions (as
kafka-python's and aiokafka's compatibility tests quote them), not this module's code.
"""

from __future__ import annotations

import os
import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from services.key_partitions import key_partitions, murmur2, murmur2_many

_SEND = DefaultPartitioner()


def test_the_java_clients_partitions() -> None:
    partitions = list(range(1000))
    keys = [b"", b"a", b"ab", b"abc", b"123456789", b"\x00 "]
    assert key_partitions(keys, partitions) == [681, 524, 434, 107, 566, 742]
    assert [(murmur2(k) & 0x7FFFFFFF) % 1000 for k in keys] == [681, 524, 434, 107, 566, 742]


@given(st.binary(max_size=200))
def test_one_key_is_murmur2(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


# Lists whose keys share a few lengths, so that both paths run: columns for a length many keys
# have, one key at a time for the rest.
_KEYS = st.integers(0, 9).flatmap(
    lambda extra: st.lists(
        st.one_of(st.binary(min_size=extra, max_size=extra), st.binary(max_size=64)), max_size=300
    )
)


@settings(max_examples=60, deadline=None)
@given(_KEYS)
def test_a_batch_of_keys_is_murmur2_of_each(keys: list[bytes]) -> None:
    assert murmur2_many(keys) == [aiokafka_murmur2(k) for k in keys]


def test_every_tail_length_down_the_columns() -> None:
    rng = random.Random(7)
    for length in range(0, 70):
        keys = [rng.randbytes(length) for _ in range(100)]
        assert murmur2_many(keys) == [aiokafka_murmur2(k) for k in keys], length


def test_partitions_are_those_send_chooses() -> None:
    """Pseudonym-shaped keys of several kinds (so several lengths), over six partitions."""
    rng = random.Random(3)
    kinds = ["site", "rsite", "company", "member", "audit", "finding", "training", "addr", "event"]
    keys = [f"k1.{rng.choice(kinds)}.{os.urandom(16).hex()}".encode() for _ in range(3000)]
    partitions = [0, 1, 2, 3, 4, 5]
    assert key_partitions(keys, partitions) == [_SEND(k, partitions, partitions) for k in keys]


def test_keyless_records_go_to_one_of_the_partitions() -> None:
    partitions = [2, 5, 7]
    keys: list[bytes | None] = [None, b"site-1", None, b"site-2"]
    chosen = key_partitions(keys, partitions)
    assert chosen[0] in partitions and chosen[2] in partitions
    assert [chosen[1], chosen[3]] == [_SEND(k, partitions, partitions) for k in (b"site-1", b"site-2")]


def test_keys_of_every_length_together() -> None:
    """Release-state keys differ in length (their coordinates' text): a class of similar lengths is
    hashed side by side, each row padded, each key's tail at its own column."""
    rng = random.Random(11)
    keys = [rng.randbytes(rng.randrange(0, 300)) for _ in range(3000)]
    assert murmur2_many(keys) == [aiokafka_murmur2(k) for k in keys]
