"""The chaos proof, small (issue 14): four SIGKILLs of ingest or normalize at random moments of a
feed's replay; normalize's compacted topics equal the fault-free run's and every message is accounted
for. The full run (20 kills and more) is `python -m bench.chaos`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import run_chaos

pytestmark = pytest.mark.broker


async def test_sigkills_change_nothing_and_lose_nothing(bootstrap: str, tmp_path: Path) -> None:
    result = await run_chaos(bootstrap, kills=4, seed=3, sites=60, months=6, workdir=tmp_path)
    assert sum(result.kills.values()) == 4
    assert result.topics_differing == [], result.topics_differing
    assert result.accepted_distinct == result.expected.accepted > 0
    assert result.dead_distinct == result.expected.dead > 0
    assert result.expected.state  # the comparison has something to compare
