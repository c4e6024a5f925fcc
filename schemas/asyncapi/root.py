"""The document's root (AsyncAPI's "AsyncAPI Object"): info, servers, and the channels, operations
and components assembled from the other modules of this package.

Not named ``document.py``: the package exports the function ``document``, which a module of the same
name would hide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from schemas.asyncapi.bindings import channel_binding
from schemas.asyncapi.channels import channels
from schemas.asyncapi.components import model_schemas
from schemas.asyncapi.headers import header_schemas
from schemas.asyncapi.messages import messages
from schemas.asyncapi.operations import operations

ASYNCAPI_VERSION: Final = "3.0.0"


def document() -> dict[str, Any]:
    schemas = {**model_schemas()}
    headers = header_schemas()
    if overlap := schemas.keys() & headers.keys():
        raise ValueError(f"component schemas defined twice: {sorted(overlap)}")
    schemas.update(headers)
    all_messages = messages(schemas)
    all_channels = channels()
    by_id = {c.id: c for c in all_channels}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "sourcing-exchange topics",
            "version": "1.0.0",
            "description": "Every Kafka topic through which the exchange's services (ingest, "
            "normalize, aggregate, deliver) exchange anonymised responsible-sourcing data between Sedex and "
            "amfori. Generated from the models by `python -m schemas.export`; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The development broker (deploy/kafka/broker.sh); services read "
                "KAFKA_BOOTSTRAP_SERVERS.",
            }
        },
        "channels": {
            c.id: {
                "address": c.topic,
                "description": c.description,
                "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in c.messages},
                "bindings": channel_binding(c.topic, c.cleanup_policy),
            }
            for c in all_channels
        },
        "operations": {
            op.id: {
                "action": op.action,
                "channel": {"$ref": f"#/channels/{op.channel}"},
                "summary": op.summary,
                "tags": [{"name": op.service}],
                "messages": [
                    {"$ref": f"#/channels/{op.channel}/messages/{m}"} for m in by_id[op.channel].messages
                ],
            }
            for op in operations()
        },
        "components": {"schemas": schemas, "messages": all_messages},
    }


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in a document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)
