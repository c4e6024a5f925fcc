"""What the Sedex and amfori model tests share: a document as a dict, a copy of it changed at a
dotted path, the errors it raises, and the rejection cases each platform's test lists."""

from __future__ import annotations

import copy
import json
from typing import Any, Final

import pytest
from _pytest.mark import ParameterSet
from pydantic import TypeAdapter, ValidationError

Doc = dict[str, Any]
Loc = tuple[str | int, ...]
DROP: Final = object()
"""As the value of a rejection case: the field is left out."""


def raw(doc: Doc) -> bytes:
    return json.dumps(doc).encode()


def _parts(path: str) -> Loc:
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))


def changed(doc: Doc, path: str, value: Any = ..., *, drop: bool = False) -> Doc:
    """A copy of doc with the dotted path set (or dropped); numeric parts index lists."""
    out = copy.deepcopy(doc)
    *parents, last = _parts(path)
    target: Any = out
    for part in parents:
        target = target[part]
    if drop:
        del target[last]
    else:
        target[last] = value
    return out


def errors(adapter: TypeAdapter[Any], doc: Doc) -> list[tuple[str, Loc]]:
    """The (type, loc) of every error the document raises; fails if it validates."""
    with pytest.raises(ValidationError) as caught:
        adapter.validate_json(raw(doc))
    return [(e["type"], tuple(e["loc"])) for e in caught.value.errors()]


def rejection(
    name: str, doc: Doc, path: str, value: Any, error_type: str, at: str | None = None
) -> ParameterSet:
    """A case for a platform's test_rejection: doc with `path` set to `value` (or dropped, DROP) must
    fail with exactly one error, of `error_type`, located at `at` (by default at `path`)."""
    bad = changed(doc, path, drop=True) if value is DROP else changed(doc, path, value)
    return pytest.param(bad, error_type, _parts(at or path), id=name)
