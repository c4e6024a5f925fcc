"""Bounds on what a burst of large messages can leave in a process's resident memory (issue 14,
defect 6); the arithmetic is in docs/reliability.md, "Memory after bursts of large messages".

glibc serves an allocation above its mmap threshold with a mapping of its own, returned to the system
when freed; below it, from an arena, whose freed memory stays in the process unless it sits at the top
of the heap. The threshold starts at 128 KiB but is *dynamic*: each time a mapped block is freed, the
threshold rises to that block's size (up to 32 MiB). After the first ~1 MB message value is freed, every
later one is carved from the arenas instead, interleaved with small long-lived objects, and the memory
a burst used stays resident after it. Setting the threshold explicitly (`mallopt(M_MMAP_THRESHOLD)`)
fixes it and turns the dynamic adjustment off, so message-sized buffers are always mapped and unmapped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Protocol

log = logging.getLogger("sx.memory")

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>


class _Libc(Protocol):
    def mallopt(self, param: int, value: int) -> int: ...


def _libc() -> _Libc | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallopt") else None


def fix_mmap_threshold(threshold_bytes: int, libc: _Libc | None = None) -> bool:
    """Serve allocations of `threshold_bytes` or more from mappings of their own, for the life of the
    process (0: leave glibc's dynamic threshold). Whether it was applied: not on a libc without
    `mallopt` (musl, macOS), where the bound is the buffer sizes alone."""
    if threshold_bytes <= 0:
        return False
    libc = libc if libc is not None else _libc()
    if libc is None or libc.mallopt(M_MMAP_THRESHOLD, threshold_bytes) != 1:
        log.warning("could not set the allocator's mmap threshold; large buffers may stay resident")
        return False
    return True
