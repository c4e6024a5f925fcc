"""The subscriber's view: the latest message of every cell, and each message's measures by name.

aggregates.md: each release of a cell is a new message under the same key (its coordinates), with
`revision` increased by one, and "the subscriber's view after a release is the latest message of every
cell, whichever release it came from". The report shows that view and nothing else.

Measures are named as dotted paths into the message's `measures` (`rate_pct`, `by_severity.critical`,
`by_indicator.DECEPTION`), derived from the table's pydantic model, so a table added to the registry
is named without code here. A measure the message does not show (a suppressed cell's, or a
population-only cell's outcomes) maps to None: withheld, which is not zero.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable
from typing import Any, Final, TypeAlias

from pydantic import BaseModel

from schemas.exchange.aggregates import MESSAGE_OF, NULL_ALONE, AnyMessage, cell_coordinates

Value: TypeAlias = int | float | None
"""A measure's value as the message states it; None when the message withholds it."""


def cell_key(message: AnyMessage) -> str:
    """The cell's coordinates as its topic key spells them: compact JSON, sorted keys."""
    coordinates = cell_coordinates(message.cell)  # an audit firm's name is not part of the key
    return json.dumps(coordinates, sort_keys=True, separators=(",", ":"))


def latest_per_cell(messages: Iterable[AnyMessage]) -> list[AnyMessage]:
    """For each (table, cell), its latest message: the highest revision; on a tie (a re-send of the
    same revision), the later release, then the later in `messages` (topic order). Sorted by table
    in the registry's order, then by cell key, so equal views render to equal bytes."""
    latest: dict[tuple[str, str], AnyMessage] = {}
    for message in messages:
        key = (message.table, cell_key(message))
        held = latest.get(key)
        if held is None or (message.revision, message.release_id) >= (held.revision, held.release_id):
            latest[key] = message
    order = {table: i for i, table in enumerate(MESSAGE_OF)}
    return [latest[k] for k in sorted(latest, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model in `annotation` (`Model`, `Model | None`), or None for a scalar."""
    candidates = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _names(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        nested = _model_of(field.annotation)
        out.extend(_names(nested, f"{prefix}{name}.") if nested else [f"{prefix}{name}"])
    return out


def measure_names(table: str) -> tuple[str, ...]:
    """Every measure a message of `table` can carry, in the model's declaration order."""
    if table not in _MEASURE_NAMES:
        measures = _model_of(MESSAGE_OF[table].model_fields["measures"].annotation)
        _MEASURE_NAMES[table] = tuple(_names(measures)) if measures else ()
    return _MEASURE_NAMES[table]


_MEASURE_NAMES: Final[dict[str, tuple[str, ...]]] = {}


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def measures_of(message: AnyMessage) -> dict[str, Value]:
    """Every measure of the message's table by name, None where the message withholds it."""
    shown = _flatten(message.measures.model_dump(mode="json")) if message.measures is not None else {}
    return {name: shown.get(name) for name in measure_names(message.table)}


def outcomes_withheld(message: AnyMessage) -> bool:
    """Published with its population only: the outcome measures are null (aggregates.md)."""
    values = measures_of(message)
    return message.measures is not None and any(v is None for k, v in values.items() if k not in NULL_ALONE)
