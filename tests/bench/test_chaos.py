"""The chaos proof, small (issue 14): four SIGKILLs of ingest, normalize or aggregate at random moments
of a feed's replay, then three of aggregate around the release (as it begins, inside its publish
transaction, at a random moment); normalize's compacted topics and every aggregate message equal the
fault-free run's, and every message is accounted for. The full run (20 kills and more) is
`python -m bench.chaos`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import run_chaos

pytestmark = pytest.mark.broker


async def test_sigkills_change_nothing_and_lose_nothing(bootstrap: str, tmp_path: Path) -> None:
    result = await run_chaos(
        bootstrap, kills=4, seed=3, sites=60, months=6, workdir=tmp_path, release_kills=1
    )
    assert sum(result.kills.values()) == 4 + 3
    assert min(result.kills.values()) >= 1 and result.kills["aggregate"] >= 4
    assert result.mid_transaction_kills == 1
    assert result.topics_differing == [], result.topics_differing
    assert result.accepted_distinct == result.expected.accepted > 0
    assert result.dead_distinct == result.expected.dead > 0
    assert result.expected.state  # the comparison has something to compare
    assert result.aggregate_expected and result.aggregate_published == result.aggregate_expected
