from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
