"""services.faust_fixes: the commit rule it restores, against faust's own."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from intervaltree import IntervalTree  # type: ignore[import-untyped]

from services import faust_fixes

TP: Any = ("sedex.changes.v1", 0)  # faust's TP is a named tuple; a plain one hashes the same


def _consumer(acked: list[int], committed: int | None, gaps: list[tuple[int, int]] = ()) -> Any:  # type: ignore[assignment]
    tree = IntervalTree()
    for begin, end in gaps:
        tree.addi(begin, end)
    return SimpleNamespace(
        _acked=defaultdict(list, {TP: list(acked)}),
        _acked_index=defaultdict(set, {TP: set(acked)}),
        _committed_offset=defaultdict(lambda: None, {TP: committed}),
        _gap=defaultdict(IntervalTree, {TP: tree}),
    )


def test_never_commits_past_the_message_at_the_committed_offset() -> None:
    # Message 10 is in flight (or was dropped by recovery); 11..13 are done.
    assert faust_fixes._new_offset(_consumer([11, 12, 13], committed=10), TP) is None
    # faust's own rule commits 14 here, silently skipping 10 (faust-streaming#606).
    assert faust_fixes._original_new_offset(_consumer([11, 12, 13], committed=10), TP) == 14


def test_commits_a_contiguous_run_from_the_committed_offset() -> None:
    assert faust_fixes._new_offset(_consumer([10, 11, 12, 14], committed=10), TP) == 13


def test_a_known_gap_at_the_head_does_not_block_commits() -> None:
    # Offset 10 is a transaction marker or was compacted away: faust recorded it as a gap.
    assert faust_fixes._new_offset(_consumer([11, 12], committed=10, gaps=[(10, 11)]), TP) == 13


def test_apply_installs_it() -> None:
    faust_fixes.apply()
    from faust.transport.consumer import Consumer

    assert Consumer._new_offset is faust_fixes._new_offset
