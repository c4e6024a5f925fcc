"""Stage 1's verdicts pickled as constructor calls (services/normalize/pickling.py): what crosses from a
mapper process is equal to what was mapped, checked again on arrival, and pickled without the
dataclasses' per-object state protocol."""

from __future__ import annotations

import pickle
from dataclasses import fields
from typing import Any

import pytest

from services.normalize.engine import Mapped, MappedEvent, Rejected, map_value
from services.normalize.mappers import portable
from services.normalize.pickling import by_position
from services.normalize.resolve import Member, SiteFacts

from .test_mappers import CTX, feed_values


def verdicts() -> list[MappedEvent | Rejected]:
    return [portable(map_value(CTX, v)) for v in feed_values()]


def test_a_chunk_of_verdicts_comes_back_equal() -> None:
    chunk = verdicts()
    sites = [
        o.site
        for v in chunk
        if isinstance(v, MappedEvent) and isinstance(v.outputs, tuple)
        for o in v.outputs
    ]
    assert any(s is not None and s.members for s in sites)  # sites and their members are in the feed
    assert any(isinstance(v, Rejected) for v in chunk)
    assert pickle.loads(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)) == chunk


@pytest.mark.parametrize("cls", [Rejected, Mapped, MappedEvent, Member, SiteFacts], ids=lambda c: c.__name__)
def test_each_verdict_class_pickles_as_a_call_with_its_fields_in_order(cls: type) -> None:
    chunk = verdicts()
    found = [o for v in chunk for o in _walk(v) if type(o) is cls]
    assert found
    for obj in found[:50]:
        constructor, args = _reduced(obj)
        assert constructor is cls
        assert args == tuple(getattr(obj, f.name) for f in fields(cls))
        # the protocol pickle uses goes through that call, not the dataclasses' __getstate__
        assert obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL) == (cls, args)


def test_an_unpickled_site_is_checked_as_a_new_one_is() -> None:
    site = next(o for v in verdicts() for o in _walk(v) if isinstance(o, SiteFacts))
    constructor, args = _reduced(site)
    assert constructor(*args) == site
    forged = tuple("" if f.name == "os_id" else a for f, a in zip(fields(SiteFacts), args, strict=True))
    with pytest.raises(ValueError, match="os_id"):
        constructor(*forged)  # an empty osId, which __post_init__ refuses


def test_one_field_is_refused() -> None:
    from dataclasses import dataclass

    with pytest.raises(TypeError, match="two fields"):

        @by_position
        @dataclass(frozen=True)
        class One:
            x: int


def _reduced(obj: object) -> tuple[Any, tuple[Any, ...]]:
    reduced = obj.__reduce__()
    assert isinstance(reduced, tuple) and len(reduced) == 2
    return reduced[0], reduced[1]


def _walk(obj: object) -> list[object]:
    out: list[object] = [obj]
    if isinstance(obj, tuple | frozenset):
        for x in obj:
            out.extend(_walk(x))
    elif hasattr(obj, "__dataclass_fields__"):
        for f in fields(obj):  # type: ignore[arg-type]
            out.extend(_walk(getattr(obj, f.name)))
    return out
