"""Hostile input, property-based (issue 14): whatever bytes arrive, `admit` answers with an admitted
event or a rejection whose class the contract names; it never raises and never blames itself
(`internal_error`). The generator covers the kinds an attacker tried against the running service:
arbitrary bytes, invalid UTF-8, truncated and deeply nested JSON, NaN and Infinity, duplicate keys,
huge strings and integers, nulls, wrong types, out-of-range dates and versions, unknown event types
and versions, and valid-looking events with any field replaced by a hostile value."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.admit import AMFORI, SEDEX, Admitted, PlatformFormat, admit
from services.ingest.reasons import ReasonClass, Rejection
from tests.fixtures.examples import amfori_monitoring, encode, sedex_audit

NEVER = {ReasonClass.INTERNAL_ERROR}

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


@st.composite
def hostile(draw: st.DrawFn) -> tuple[PlatformFormat, bytes | None, bytes | None]:
    fmt = draw(st.sampled_from([SEDEX, AMFORI]))
    base = sedex_audit() if fmt is SEDEX else amfori_monitoring()
    text = encode(base).decode()
    kind = draw(st.integers(min_value=0, max_value=11))
    if kind == 0:
        value: bytes | None = draw(st.binary(max_size=200))
    elif kind == 1:
        value = text.encode()[: draw(st.integers(min_value=0, max_value=len(text) - 1))]  # truncated
    elif kind == 2:
        depth = draw(st.sampled_from([50, 1_000, 100_000]))
        value = ("[" * depth + "]" * depth).encode()  # deeply nested
    elif kind == 3:
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000]))
        value = (
            text.replace('"schemaVersion":1', f'"schemaVersion":{token}')
            .replace('"version":1', f'"version":{token}')
            .encode()
        )
    elif kind == 4:
        value = text.replace("{", '{"eventType":"SiteRemoved","type":"x",', 1).encode()  # duplicate keys
    elif kind == 5:
        value = draw(st.binary(min_size=1, max_size=50)) + text.encode()  # garbage prefix, maybe bad UTF-8
    elif kind == 6:
        value = json.dumps(draw(values), allow_nan=True).encode()  # any JSON at all
    elif kind == 7:
        value = None
    else:  # a valid-looking event with one field replaced by a hostile value
        paths = _paths(base)
        path = draw(st.sampled_from(paths))
        value = json.dumps(_replace(base, path, draw(values)), allow_nan=True).encode()
    key = draw(
        st.one_of(st.none(), st.binary(max_size=40), st.just(b"ZS1098453"), st.just(b"050-0012345-001"))
    )
    return fmt, key, value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile())
def test_hostile_input_is_answered_never_raised(
    message: tuple[PlatformFormat, bytes | None, bytes | None],
) -> None:
    fmt, key, value = message
    outcome = admit(fmt, key, value)
    assert isinstance(outcome, Admitted | Rejection)
    if isinstance(outcome, Rejection):
        assert outcome.reason_class not in NEVER, outcome.reason
        assert len(outcome.reason) < 2_000  # a reason names the problem; it does not carry the message
