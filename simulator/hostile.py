"""Hostile messages on the platform topics, property-based (hypothesis): what an attacker or a broken
backend could publish, for ingest's tests and `bench.hostile`.

Kinds (each drawn with its own values): arbitrary bytes; invalid UTF-8; truncated JSON; nesting up to
100,000 levels; NaN, Infinity and 5,000-digit numbers where a version goes; duplicate keys; garbage
before a valid event; any JSON at all; no value; and a valid event of the simulator's feed with any one
field replaced by a hostile value (huge or negative integers, versions out of range, NaN, long or
control-character strings, impossible dates, nested structures). Keys are absent, random bytes, or a
real site reference; headers are random or absent.

hypothesis is a development dependency: only tests and benches import this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from .message import FeedMessage

Header = tuple[str, bytes]


@dataclass(frozen=True)
class HostileMessage:
    topic: str  # canonical platform topic
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(2**31),
    st.just(10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=5).map(lambda s: s * 2000),
    st.sampled_from(["1970-01-01", "9999-12-31T23:59:59Z", "2026-02-30", "", "\x00", "NaN", "-1"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
headers = st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=60)), max_size=3).map(tuple)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replace(node[path[0]], path[1:], value)
    return copy


def hostile(bases: Sequence[FeedMessage]) -> st.SearchStrategy[HostileMessage]:
    """Hostile messages built around `bases`, valid messages of the simulator's feed."""

    @st.composite
    def draw_one(draw: st.DrawFn) -> HostileMessage:
        base = draw(st.sampled_from(list(bases)))
        text = base.value.decode()
        kind = draw(st.integers(min_value=0, max_value=11))
        value: bytes | None
        if kind == 0:
            value = draw(st.binary(max_size=200))
        elif kind == 1:
            value = text.encode()[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
        elif kind == 2:
            depth = draw(st.sampled_from([50, 1_000, 100_000]))
            value = ("[" * depth + "]" * depth).encode()
        elif kind == 3:
            token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000]))
            obj = json.loads(text)
            field = "entityVersion" if "entityVersion" in obj else "version"
            value = text.replace(f'"{field}":{obj[field]}', f'"{field}":{token}', 1).encode()
        elif kind == 4:
            value = text.replace("{", '{"eventType":"SiteRemoved","type":"x",', 1).encode()
        elif kind == 5:
            value = draw(st.binary(min_size=1, max_size=50)) + text.encode()
        elif kind == 6:
            value = json.dumps(draw(values), allow_nan=True).encode()
        elif kind == 7:
            value = None
        else:
            obj = json.loads(text)
            path = draw(st.sampled_from(_paths(obj)))
            value = json.dumps(_replace(obj, path, draw(values)), allow_nan=True).encode()
        key = draw(st.one_of(st.none(), st.binary(max_size=40), st.just(base.key)))
        if key is None and value is None:
            key = b""  # Kafka needs one of the two (aiokafka refuses neither)
        return HostileMessage(base.topic, key, value, draw(headers))

    return draw_one()


def generate(bases: Sequence[FeedMessage], n: int, seed: int = 0) -> list[HostileMessage]:
    """`n` hostile messages, reproducible from `seed` (hypothesis's generation phase only: no shrinking,
    no example database)."""
    out: list[HostileMessage] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=n,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile(bases))
    def collect(message: HostileMessage) -> None:
        out.append(message)

    run: Callable[[], None] = collect
    run()
    return out
