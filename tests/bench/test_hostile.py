"""Hostile input through the running ingest, small (issue 14): a few hundred of `simulator.hostile`'s
messages on the platform topics; ingest stays up, no message ends as `internal_error`, and every one
is accounted for. The full run (10,000 and more, with memory) is `python -m bench.hostile`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.hostile import hostile_feed, run_hostile

pytestmark = pytest.mark.broker


async def test_ingest_stays_up_and_accounts_for_every_hostile_message(bootstrap: str, tmp_path: Path) -> None:
    messages = hostile_feed(300, seed=4)
    result = await run_hostile(bootstrap, messages, tmp_path)
    assert result.alive
    assert result.consumed == len(messages) == result.accounted
    assert result.dead_lettered.get("internal_error", 0) == 0
    assert len(result.dead_lettered) >= 5  # the generator reaches many reasons, not one
