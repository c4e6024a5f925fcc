"""aggregate refuses to start with a disclosure parameter below 2 (aggregates.md), before touching Kafka."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["K_SITES", "K_INSIDER", "OUTCOME_MIN", "K_DELTA"])
def test_a_parameter_below_two_is_refused(name: str) -> None:
    env = {**os.environ, f"AGGREGATE_{name}": "1", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-m", "services.aggregate"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-500:]
    assert b"refusing to start" in done.stderr and name.lower().encode() in done.stderr
