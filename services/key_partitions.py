"""The partition Kafka's default partitioner gives a key, for a whole batch of keys at once.

Every keyed record the services write goes to the partition of murmur2 of its key, as the Java client,
faust and aiokafka's `send()` choose it, so a key keeps the partition its earlier records went to and
a compacted topic keeps one record per key. aiokafka computes murmur2 in pure Python, byte by byte:
about 9 µs for a 45-byte pseudonym, and profiled in normalize's main process during a back-fill
(docs/normalize.md, "Performance") its `DefaultPartitioner` was 16 % of the process, the largest single
function. Here the keys of a batch are hashed together: keys of similar length are laid side by side
as zero-padded rows of 32-bit words and murmur2's rounds run down the columns in numpy, whose uint32
arithmetic wraps as the Java int arithmetic does; a length class that only a few keys have is hashed
one key at a time by a word-wise Python version. The results are murmur2's, bit for bit (`tests/services/
test_key_partitions.py` checks them against aiokafka's own function and Kafka's published values).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_M32 = np.uint32(_M)
# Under this many keys of one length class, numpy's fixed cost per call outweighs the columns' speed.
_VECTOR_FROM = 16

_WORDS: dict[int, struct.Struct] = {}


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data` (unsigned 32 bits), a 32-bit word at a time."""
    length = len(data)
    words = length >> 2
    unpack = _WORDS.get(words)
    if unpack is None:
        unpack = _WORDS[words] = struct.Struct(f"<{words}I")
    h = _SEED ^ length
    for k in unpack.unpack_from(data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = length & 3
    if tail:
        at = length - tail
        if tail == 3:
            h ^= data[at + 2] << 16
        if tail >= 2:
            h ^= data[at + 1] << 8
        h ^= data[at]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def murmur2_many(keys: Sequence[bytes]) -> list[int]:
    """`murmur2` of each key, in order."""
    out = [0] * len(keys)
    by_width: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        by_width.setdefault(len(key).bit_length(), []).append(i)
    for indices in by_width.values():
        if len(indices) < _VECTOR_FROM:
            for i in indices:
                out[i] = murmur2(keys[i])
            continue
        hashes = _side_by_side([keys[i] for i in indices])
        for i, h in zip(indices, hashes.tolist(), strict=True):
            out[i] = h
    return out


def _side_by_side(keys: list[bytes]) -> NDArray[np.uint32]:
    """murmur2 of keys of similar lengths (within a factor of two: the padding costs at most double).

    Each key is a row of 32-bit words, zero-padded to a common width; at column j only the rows with
    more than j whole words take a round. A key's last 1-3 bytes are the word at its own column of
    whole words, since the padding makes its other bytes zero: murmur2 XORs them in at their shifts,
    which on disjoint bits is that word."""
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    words = lengths >> 2
    width = 4 * (int(words.max()) + 1)
    padded = b"".join([key.ljust(width, b"\0") for key in keys])
    columns = np.frombuffer(padded, dtype="<u4").reshape(len(keys), width // 4)
    h = (lengths ^ _SEED).astype(np.uint32)
    for j in range(int(words.max())):
        k = columns[:, j] * _M32
        k ^= k >> np.uint32(24)
        k *= _M32
        mixed = (h * _M32) ^ k
        h = np.where(words > j, mixed, h)
    tailed = (lengths & 3) != 0
    last = columns[np.arange(len(keys)), words]
    h = np.where(tailed, (h ^ last) * _M32, h)
    h ^= h >> np.uint32(13)
    h *= _M32
    h ^= h >> np.uint32(15)
    return h


def key_partitions(keys: Sequence[bytes | None], partitions: Sequence[int]) -> list[int]:
    """The partition of each key among `partitions` (sorted, as the producer's metadata gives them):
    what aiokafka's `DefaultPartitioner` gives, a keyless record a random one as `send()` does."""
    keyed = [(i, key) for i, key in enumerate(keys) if key is not None]
    hashes = murmur2_many([key for _, key in keyed])
    out = [random.choice(partitions) if key is None else 0 for key in keys]
    n = len(partitions)
    for (i, _), h in zip(keyed, hashes, strict=True):
        out[i] = partitions[(h & 0x7FFFFFFF) % n]
    return out
