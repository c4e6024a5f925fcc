"""Map the whole simulator feed: every valid event maps, and nothing confidential comes out."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from schemas.exchange.accepted import AcceptedEvent
from schemas.platform import AMFORI_EVENT_TYPES, PLATFORM_ADAPTERS, SEDEX_EVENT_TYPES
from schemas.shared.models import SHARED_TOPICS
from services.ingest.envelopes import accepted_record
from services.normalize.mapping import MappingContext, Output, map_event
from simulator.feed import Feed, generate_feed

VALID = ("valid", "redelivery", "stale")


@pytest.fixture(scope="module")
def feed() -> Feed:
    return generate_feed(11, 150)


@pytest.fixture(scope="module")
def mapped(feed: Feed, ctx: MappingContext) -> list[tuple[str, list[Output]]]:
    out = []
    for n, m in enumerate(feed):
        if m.expect not in VALID:
            continue
        event = PLATFORM_ADAPTERS[m.topic].validate_json(m.value)
        platform = "sedex" if m.topic.startswith("sedex") else "amfori"
        value, _ = accepted_record(platform, event, m.topic, 0, n)
        out.append((m.kind, map_event(AcceptedEvent.model_validate_json(value), ctx)))
    return out


def output_json(o: Output) -> str:
    value = None if o.value is None else o.value.model_dump(mode="json")
    return json.dumps({"kind": o.kind.value, "key": o.key, "entity": o.version_entity, "value": value})


def strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def output_strings(o: Output) -> str:
    """Every string in the output's JSON; numbers are left out because a confidential value travels as a
    string, and epoch-ms times contain every six-digit postal code sooner or later."""
    return "\n".join(strings(json.loads(output_json(o))))


def test_every_event_type_of_both_platforms_is_mapped(mapped: list[tuple[str, list[Output]]]) -> None:
    kinds = Counter(kind for kind, outputs in mapped if len(outputs) == 1)
    assert set(kinds) == SEDEX_EVENT_TYPES | AMFORI_EVENT_TYPES
    assert sum(kinds.values()) == len(mapped)


def test_no_confidential_string_leaves_the_mapping(
    feed: Feed, mapped: list[tuple[str, list[Output]]]
) -> None:
    text = "\n".join(output_strings(o) for _, outputs in mapped for o in outputs)
    secrets = {s for s in feed.confidential_strings() if len(s) >= 6}
    assert len(secrets) > 1000  # the scan scans something
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []


def test_no_raw_platform_reference_leaves_the_mapping(
    feed: Feed, mapped: list[tuple[str, list[Output]]]
) -> None:
    text = "\n".join(output_json(o) for _, outputs in mapped for o in outputs)
    refs: set[str] = set()
    for m in feed:
        if m.expect not in VALID:
            continue
        obj = json.loads(m.value)
        payload = obj.get("payload") or obj.get("data") or {}
        for key in ("siteRef", "companyRef", "siteAmforiId", "legalEntityAmforiId"):
            if key in obj:
                refs.add(obj[key])
        for key in ("auditRef", "monitoringId", "trainingRef", "completionId"):
            if key in payload:
                refs.add(payload[key])
    assert len(refs) > 500
    assert sorted(r for r in refs if r in text) == []
    # and no id-shaped raw value at all, even ones this list missed
    assert re.search(r"\bZ[CS][0-9]{6,10}\b|\b[0-9]{3}-[0-9]{6,7}\b", text) is None


def test_every_output_round_trips_through_its_topic_schema(mapped: list[tuple[str, list[Output]]]) -> None:
    for _, outputs in mapped:
        for o in outputs:
            assert o.key == o.version_entity
            if o.value is not None:
                model = SHARED_TOPICS[o.kind.topic]
                assert model.model_validate_json(o.value.model_dump_json()) == o.value
