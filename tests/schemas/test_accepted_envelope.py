"""`parse_accepted` (JSON mode, normalize's fast path) reads every envelope as `AcceptedEvent` does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bench.accepted import accepted_envelopes
from schemas.exchange.accepted import AcceptedEvent, parse_accepted

ENVELOPES = [e.value for e in accepted_envelopes(1_500)]


def outcome(read: Any, value: bytes) -> tuple[str, Any]:
    """("ok", the model and its bytes) or ("refused", the errors)."""
    try:
        model = read(value)
    except ValidationError as exc:
        return "refused", exc.errors(include_url=False)
    return "ok", (model, type(model.event), model.model_dump_json(), model.model_fields_set)


def test_every_envelope_of_the_feed_reads_as_the_same_model() -> None:
    assert len({json.loads(v)["event_type"] for v in ENVELOPES}) >= 10  # every kind of event is there
    for value in ENVELOPES:
        fast = outcome(parse_accepted, value)
        assert fast[0] == "ok"
        assert fast == outcome(AcceptedEvent.model_validate_json, value)


def altered(value: bytes, change: str) -> bytes:
    doc = json.loads(value)
    event = doc["event"]
    if change == "platform":  # the envelope names the other platform
        doc["platform"] = "amfori" if doc["platform"] == "sedex" else "sedex"
    elif change == "version":
        event["schemaVersion" if "schemaVersion" in event else "specVersion"] = 99
    elif change == "event type":
        event["eventType" if "eventType" in event else "type"] = "SomethingElse"
    elif change == "extra field":
        doc["note"] = "free text"
    elif change == "event not an object":
        doc["event"] = [event]
    elif change == "missing source":
        del doc["source"]
    elif change == "not json":
        return value[:-3]
    return json.dumps(doc).encode()


CHANGES = [
    "platform",
    "version",
    "event type",
    "extra field",
    "event not an object",
    "missing source",
    "not json",
]


@pytest.mark.parametrize("change", CHANGES)
def test_an_altered_envelope_gets_the_same_verdict(change: str) -> None:
    verdicts = set()
    for value in ENVELOPES[:200]:
        bad = altered(value, change)
        fast = outcome(parse_accepted, bad)
        assert fast == outcome(AcceptedEvent.model_validate_json, bad)
        verdicts.add(fast[0])
    assert "refused" in verdicts or change == "platform"
