"""Held records share their field sets: half of aggregate's state memory, for nothing.

Every aggregate instance holds every current record of normalize's topics as a frozen pydantic model
(`population.NormalizedState`). Besides its values, each model instance (and each nested one: a site's
members, an audit's findings and labour relations) carries `__pydantic_fields_set__`, a set of the
names of the fields the input set. A Python set of a dozen names takes about 730 bytes, more than the
values of most records; measured on the simulator's feed (30,000 events, `tracemalloc`), the held
models took 50.3 MiB and 25.7 MiB once records with equal field sets shared one set object.

Records of one kind almost always set the same fields, so a registry of the distinct sets (a few per
model) replaces each record's own. The models are frozen, so pydantic never adds to a record's field
set after validation; `model_copy` copies the set before updating it. Sharing one equal set therefore
changes no behaviour (`model_fields_set`, `exclude_unset`), only memory.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

_FIELD_SETS: Final[dict[frozenset[str], set[str]]] = {}
"""Each distinct field set seen, once: the object every record with that field set points to."""


def share_field_sets(model: BaseModel) -> None:
    """Point `model`'s field set, and those of the models nested in it (fields, lists, tuples), at the
    registry's equal set. Only for frozen models, whose field sets pydantic never changes."""
    if not model.model_config.get("frozen"):
        raise TypeError(f"{type(model).__name__} is not frozen: its field set may change, so not shared")
    own = model.__pydantic_fields_set__
    shared = _FIELD_SETS.setdefault(frozenset(own), own)
    if shared is not own:
        object.__setattr__(model, "__pydantic_fields_set__", shared)
    for value in model.__dict__.values():
        if isinstance(value, BaseModel):
            share_field_sets(value)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, BaseModel):
                    share_field_sets(item)
