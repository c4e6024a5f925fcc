"""`python -m services.deliver` refuses to start on a bad registration, before it touches Kafka, and
says why without quoting the secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.service import REPO


def run_deliver(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.deliver"],
        cwd=REPO,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_an_endpoints_file_it_refuses() -> None:
    done = run_deliver({"DELIVER_ENDPOINTS_FILE": ""})
    assert done.returncode == 2 and "DELIVER_ENDPOINTS_FILE is not set" in done.stderr


def test_with_a_bad_secret_it_refuses_without_quoting_it(tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.json"
    endpoint = {"name": "sedex-main", "organisation": "sedex", "url": "https://h.example", "secret_env": "S"}
    endpoints.write_text(json.dumps({"endpoints": [endpoint]}))
    done = run_deliver({"DELIVER_ENDPOINTS_FILE": str(endpoints), "S": "correct-horse-battery-staple"})
    assert done.returncode == 2 and "endpoint sedex-main" in done.stderr and "whsec_" in done.stderr
    assert "correct-horse" not in done.stderr + done.stdout
