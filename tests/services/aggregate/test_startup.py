"""aggregate refuses to start with a disclosure parameter below 2 (aggregates.md), before touching Kafka."""

from __future__ import annotations

import os

import pytest

from tests.support.service import run_to_exit


@pytest.mark.parametrize("name", ["K_SITES", "K_INSIDER", "OUTCOME_MIN", "K_DELTA"])
def test_a_parameter_below_two_is_refused(name: str) -> None:
    env = {**os.environ, f"AGGREGATE_{name}": "1", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = run_to_exit("services.aggregate", env)
    assert done.returncode == 2, done.stderr[-500:]
    assert b"refusing to start" in done.stderr and name.lower().encode() in done.stderr
