"""The AsyncAPI document: checked in and current, every topic once, every reference resolves."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from schemas import asyncapi, export
from schemas.exchange.aggregates import (
    FORCED_LABOUR,
    ISSUE_PREVALENCE,
    RELEASE_STATE_TOPIC,
    topic_of,
)
from schemas.platform.amfori import TOPIC as AMFORI_TOPIC
from schemas.platform.sedex import TOPIC as SEDEX_TOPIC
from schemas.shared.models import SHARED_TOPICS, Audit, Consent, PlatformSite
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC
from schemas.topics import DELIVER_DLQ_TOPIC, DELIVER_STATE_TOPIC
from services.ingest.admit import SEDEX, Admitted, admit
from services.ingest.envelopes import accepted_record
from services.normalize.topics import NORMALIZE_DLQ_TOPIC, NORMALIZE_VERSIONS_TOPIC
from services.topics import ACCEPTED_TOPIC, INGEST_DLQ_TOPIC, INGEST_SEEN_TOPIC, TOPICS
from tests.fixtures.examples import encode, sedex_audit

PATH = export.ROOT / "asyncapi.json"

PUBLIC_TABLES = {
    topic_of(ISSUE_PREVALENCE),
    topic_of(FORCED_LABOUR),
    "exchange.aggregates.labour-relations.v1",
    "exchange.aggregates.audit-quality.v1",
    "exchange.aggregates.remediation.v1",
    "exchange.aggregates.capacity-building.v1",
}
FORECASTS = {"exchange.aggregates.forecasts.v1"}  # public, beside the tables (docs/aggregate.md)
AGGREGATE_STATE = {RELEASE_STATE_TOPIC}
AGGREGATE_TOPICS = PUBLIC_TABLES | FORECASTS | AGGREGATE_STATE

EXPECTED_TOPICS = {
    SEDEX_TOPIC,
    AMFORI_TOPIC,
    ACCEPTED_TOPIC,
    INGEST_DLQ_TOPIC,
    INGEST_SEEN_TOPIC,
    *SHARED_TOPICS,
    SITE_RESOLUTION_TOPIC,
    RESOLVED_SITES_TOPIC,
    NORMALIZE_DLQ_TOPIC,
    NORMALIZE_VERSIONS_TOPIC,
    "exchange.normalize.quarantine.v1",
    *AGGREGATE_TOPICS,
    DELIVER_STATE_TOPIC,
    DELIVER_DLQ_TOPIC,
}
COMPACTED = {
    INGEST_SEEN_TOPIC,
    *SHARED_TOPICS,
    SITE_RESOLUTION_TOPIC,
    RESOLVED_SITES_TOPIC,
    *AGGREGATE_TOPICS,
}
COMPACTED.add(NORMALIZE_VERSIONS_TOPIC)
COMPACTED.add(DELIVER_STATE_TOPIC)
COMPACTED.add("exchange.normalize.quarantine.v1")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return asyncapi.document()


def resolve(document: dict[str, Any], ref: str) -> Any:
    """A local JSON pointer (``#/a/b``); raises KeyError when it points nowhere."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_checked_in_document_is_current() -> None:
    assert PATH.read_text(encoding="utf-8") == export.render(asyncapi.document()), (
        "run: python -m schemas.export"
    )
    assert "asyncapi.json" in export.GENERATORS


def test_generation_is_deterministic() -> None:
    assert export.render(asyncapi.document()) == export.render(asyncapi.document())


def test_top_level_is_asyncapi_3(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    (server,) = doc["servers"].values()
    assert server == {**server, "host": "localhost:9092", "protocol": "kafka"}
    assert set(doc["components"]) == {"schemas", "messages"}


def test_every_topic_is_one_channel(doc: dict[str, Any]) -> None:
    addresses = Counter(channel["address"] for channel in doc["channels"].values())
    assert set(addresses) == EXPECTED_TOPICS
    assert all(count == 1 for count in addresses.values()), addresses


def test_kafka_bindings_state_partitions_and_cleanup_policy(doc: dict[str, Any]) -> None:
    declared = {spec.name: spec for spec in TOPICS}
    for channel in doc["channels"].values():
        kafka = channel["bindings"]["kafka"]
        policy = "compact" if channel["address"] in COMPACTED else "delete"
        assert kafka["topicConfiguration"]["cleanup.policy"] == [policy], channel["address"]
        assert kafka["partitions"] >= 1
        if (spec := declared.get(channel["address"])) is not None:
            assert (kafka["partitions"], spec.cleanup_policy) == (spec.partitions, policy)


def test_every_ref_resolves(doc: dict[str, Any]) -> None:
    references = list(asyncapi.refs(doc))
    assert len(references) > 100
    for ref in references:
        resolve(doc, ref)
    assert "$defs" not in json.dumps(doc)


def test_every_component_schema_is_used(doc: dict[str, Any]) -> None:
    used = {ref.removeprefix(asyncapi.COMPONENT_SCHEMAS) for ref in asyncapi.refs(doc)}
    assert set(doc["components"]["schemas"]) <= used


def test_discriminators_are_property_names(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["SedexEvent"]["discriminator"] == "eventType"
    assert schemas["AmforiEvent"]["discriminator"] == "type"
    assert "SedexAddress" in schemas and "AmforiAddress" in schemas
    assert not [name for name in schemas if "__" in name]


def test_operations_reference_existing_channels_and_their_messages(doc: dict[str, Any]) -> None:
    for op_id, op in doc["operations"].items():
        assert op["action"] in {"send", "receive"}, op_id
        channel_ref = op["channel"]["$ref"]
        assert channel_ref.startswith("#/channels/")
        channel = resolve(doc, channel_ref)
        assert op["messages"]
        for message in op["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), op_id
            assert resolve(doc, message["$ref"]) in channel["messages"].values()


def _operations(doc: dict[str, Any], service: str, action: str) -> set[str]:
    return {
        resolve(doc, op["channel"]["$ref"])["address"]
        for op in doc["operations"].values()
        if op["tags"] == [{"name": service}] and op["action"] == action
    }


def test_who_reads_and_writes_what(doc: dict[str, Any]) -> None:
    normalized = {*SHARED_TOPICS, SITE_RESOLUTION_TOPIC, RESOLVED_SITES_TOPIC}
    assert _operations(doc, "ingest", "receive") == {SEDEX_TOPIC, AMFORI_TOPIC, INGEST_SEEN_TOPIC}
    assert _operations(doc, "ingest", "send") == {ACCEPTED_TOPIC, INGEST_DLQ_TOPIC, INGEST_SEEN_TOPIC}
    assert _operations(doc, "normalize", "receive") == {
        ACCEPTED_TOPIC,
        NORMALIZE_VERSIONS_TOPIC,
        "exchange.normalize.quarantine.v1",
    }
    assert _operations(doc, "normalize", "send") == normalized | {
        NORMALIZE_DLQ_TOPIC,
        NORMALIZE_VERSIONS_TOPIC,
    }
    aggregate_inputs = {
        PlatformSite.TOPIC,
        Audit.TOPIC,
        "exchange.normalized.corrective-actions.v1",  # remediation
        Consent.TOPIC,
        "exchange.normalized.trainings.v1",  # capacity-building
        SITE_RESOLUTION_TOPIC,
        RESOLVED_SITES_TOPIC,
    }
    assert _operations(doc, "aggregate", "receive") == aggregate_inputs | AGGREGATE_STATE
    assert _operations(doc, "aggregate", "send") == AGGREGATE_TOPICS
    assert _operations(doc, "deliver", "receive") == PUBLIC_TABLES | AGGREGATE_STATE | {DELIVER_STATE_TOPIC}
    assert _operations(doc, "deliver", "send") == {DELIVER_STATE_TOPIC, DELIVER_DLQ_TOPIC}


def test_normalized_messages_are_nullable_and_keyed_by_a_pseudonym(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    for model in (*SHARED_TOPICS.values(),):
        message = messages[model.__name__]
        assert {"type": "null"} in message["payload"]["anyOf"]
        assert r"\.[0-9a-f]{32}$" in message["bindings"]["kafka"]["key"]["pattern"]


def test_headers(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    ce = {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}
    dlq = {"dlq_reason", "dlq_reason_class", "dlq_source_topic", "dlq_source_partition", "dlq_source_offset"}
    assert set(schemas["AcceptedHeaders"]["required"]) == ce
    assert set(schemas["IngestDeadLetterHeaders"]["required"]) == dlq
    # normalize's dead letter is a pointer: no ce_* headers (ce_id names a raw event id).
    assert set(schemas["NormalizeDeadLetterHeaders"]["required"]) == {"dlq_reason_class", "content-type"}
    site_resolution = doc["components"]["messages"]["SiteResolution"]
    assert resolve(doc, site_resolution["headers"]["$ref"]) is schemas["SiteResolutionHeaders"]


def _accepted_envelope() -> tuple[bytes, list[tuple[str, bytes]]]:
    event = sedex_audit()
    admitted = admit(SEDEX, event["siteRef"].encode(), encode(event))
    assert isinstance(admitted, Admitted), admitted
    return accepted_record(admitted.platform, admitted.event, SEDEX_TOPIC, 0, 42)


def test_accepted_event_payload_validates_a_real_envelope(doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed in this venv")

    def validator(schema: dict[str, Any]) -> Any:
        # AsyncAPI's Schema Object is a draft-07 superset; refs point into the document's root.
        root = {**schema, "components": doc["components"]}
        jsonschema.Draft7Validator.check_schema(root)
        return jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker())

    value, headers = _accepted_envelope()
    message = doc["components"]["messages"]["AcceptedEvent"]
    payload = validator(message["payload"])
    payload.validate(json.loads(value))
    assert not payload.is_valid({**json.loads(value), "surprise": 1})
    validator(resolve(doc, message["headers"]["$ref"])).validate({k: v.decode() for k, v in headers})
    validator(message["bindings"]["kafka"]["key"]).validate(sedex_audit()["siteRef"])
    tombstone = doc["components"]["messages"]["Audit"]["payload"]
    validator(tombstone).validate(None)
