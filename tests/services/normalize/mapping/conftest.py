"""Fixtures for the mapping tests: the demo context, and raw platform dicts through ingest's real path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.exchange.accepted import AcceptedEvent
from schemas.platform import AMFORI_EVENT, SEDEX_EVENT
from services.ingest.envelopes import accepted_record
from services.normalize.keys import KeyMaterial, load_key
from services.normalize.mapping import MappingContext, Output, map_event
from services.normalize.pseudonymise import IdKind, Pseudonymiser
from services.normalize.seal import Sealer
from tests.fixtures.examples import encode

Accept = Callable[[dict[str, Any]], AcceptedEvent]
MapRaw = Callable[[dict[str, Any]], list[Output]]
Pseud = Callable[[IdKind, str], str]


@pytest.fixture(scope="session")
def keys() -> KeyMaterial:
    return load_key({"NORMALIZE_DEMO_MODE": "1"})


@pytest.fixture(scope="session")
def ctx(keys: KeyMaterial) -> MappingContext:
    return MappingContext.from_keys(keys)


@pytest.fixture(scope="session")
def sealer(keys: KeyMaterial) -> Sealer:
    return Sealer(keys)


@pytest.fixture(scope="session")
def P(keys: KeyMaterial) -> Pseud:
    """The pseudonym a test expects, from its own Pseudonymiser and a scoped raw string it writes out."""
    return Pseudonymiser(keys).pseudonym


def to_accepted(raw: dict[str, Any]) -> AcceptedEvent:
    """Validate as ingest does, write ingest's envelope, read it back as normalize will."""
    platform, adapter = ("sedex", SEDEX_EVENT) if "eventType" in raw else ("amfori", AMFORI_EVENT)
    event = adapter.validate_json(encode(raw))
    value, _ = accepted_record(platform, event, f"{platform}.changes.v1", 0, 0)
    return AcceptedEvent.model_validate_json(value)


@pytest.fixture(scope="session")
def accept() -> Accept:
    return to_accepted


@pytest.fixture(scope="session")
def map_raw(ctx: MappingContext) -> MapRaw:
    def run(raw: dict[str, Any]) -> list[Output]:
        return map_event(to_accepted(raw), ctx)

    return run
