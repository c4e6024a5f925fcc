"""Write the checked-in schema files generated from the models: ``python -m schemas.export [--check]``.

The files are checked in so that reviewers and the platforms see contract changes in diffs, and
``--check`` (run by the tests) fails when a model changed without regenerating them. To add a
generated file (shared models, AsyncAPI...), add its path and generator to GENERATORS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import TypeAdapter

from schemas.asyncapi import document as asyncapi_document
from schemas.asyncapi.components import NoFieldTitles
from schemas.exchange.aggregates import FORECASTS_TOPIC, MESSAGE_OF, ForecastMessage, topic_of
from schemas.exchange.deliver import ReleaseWebhook
from schemas.platform.amfori import AMFORI_EVENT
from schemas.platform.amfori import TOPIC as AMFORI_TOPIC
from schemas.platform.sedex import SEDEX_EVENT
from schemas.platform.sedex import TOPIC as SEDEX_TOPIC
from schemas.shared.models import SHARED_RECORDS

ROOT: Final = Path(__file__).resolve().parent
"""Generated paths are relative to the schemas package."""

Generator = Callable[[], Any]


def event_schema(adapter: TypeAdapter[Any], title: str, description: str) -> Callable[[], dict[str, Any]]:
    def generate() -> dict[str, Any]:
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": title,
            "description": description,
            **adapter.json_schema(by_alias=True, mode="validation", schema_generator=NoFieldTitles),
        }

    return generate


_EXTRA_FIELDS: Final = "Fields not listed here are ignored and dropped by ingest."

_SHARED_FILES: Final = {
    "PlatformSite": "platform-site",
    "Audit": "audit",
    "CorrectiveAction": "corrective-action",
    "Consent": "consent",
    "Training": "training",
}

GENERATORS: Final[dict[str, Generator]] = {
    "jsonschema/sedex-event.v1.json": event_schema(
        SEDEX_EVENT, "Sedex change event", f"A value on {SEDEX_TOPIC}, schemaVersion 1. {_EXTRA_FIELDS}"
    ),
    "jsonschema/amfori-event.v1.json": event_schema(
        AMFORI_EVENT, "amfori change event", f'A value on {AMFORI_TOPIC}, specVersion "1". {_EXTRA_FIELDS}'
    ),
    **{
        f"jsonschema/shared/{_SHARED_FILES[model.__name__]}.v1.json": event_schema(
            TypeAdapter(model),
            f"Shared {model.__name__} record",
            f"A value on {model.TOPIC}, schema_version 1 (null: a tombstone). Written by normalize.",
        )
        for model in SHARED_RECORDS
    },
    **{
        f"jsonschema/aggregates/{table}.v1.json": event_schema(
            TypeAdapter(model),
            f"Aggregate {table} cell",
            f"A value on {topic_of(table)}, schema_version 1: one cell of one release. Key: the cell's "
            "coordinates as compact JSON with sorted keys.",
        )
        for table, model in MESSAGE_OF.items()
    },
    "jsonschema/aggregates/forecasts.v1.json": event_schema(
        TypeAdapter(ForecastMessage),
        "Aggregate issue-prevalence forecast",
        f"A value on {FORECASTS_TOPIC}, schema_version 1: the next-period forecast of one issue-prevalence "
        "cell's rate_pct with its 80 % prediction interval. Key: the forecast cell's coordinates (period = "
        "the target period) as compact JSON with sorted keys.",
    ),
    "jsonschema/webhooks/release.v1.json": event_schema(
        TypeAdapter(ReleaseWebhook),
        "Release webhook",
        "The body of a webhook POST by the deliver service (docs/deliver.md): one release of the public "
        "tables an endpoint subscribed to, signed per Standard Webhooks (webhook-id, webhook-timestamp, "
        "webhook-signature headers).",
    ),
    "asyncapi.json": asyncapi_document,
}


def render(document: Any) -> str:
    """Deterministic text, so that regenerating an unchanged model changes no byte."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated(root: Path = ROOT) -> dict[Path, str]:
    return {root / relative: render(generate()) for relative, generate in GENERATORS.items()}


def stale(root: Path = ROOT) -> list[Path]:
    """Generated files that are missing or differ from what the models generate now."""
    return [
        path
        for path, text in generated(root).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="list stale files and exit 1 instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale(root)
        for path in outdated:
            print(f"stale: {path} (run python -m schemas.export)", file=sys.stderr)
        return 1 if outdated else 0
    for path, text in generated(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
