"""The hygiene guard on nested fields (aggregates.md "Disclosure control", Hygiene: no message carries
an identifier, pseudonym, name, address, free text or an event time; only release times).

A message is nested (`cell`, `measures`, `measures.by_severity`, lists of objects): whatever is
forbidden at the top is forbidden at any depth, inside objects and inside lists, and the error names
where it was found so that an operator can find the field that leaks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.aggregate.release import HygieneError, assert_hygienic
from tests.services.aggregate.examples import ISSUE_MESSAGE, PSEUDONYM

MESSAGE = ISSUE_MESSAGE


def nested(leaf: dict[str, Any]) -> dict[str, Any]:
    """The message with `leaf` three levels down, in an object inside a list inside `measures`."""
    return {**MESSAGE, "measures": {**MESSAGE["measures"], "groups": [{"n": 1}, {"inner": leaf}]}}


def check(document: dict[str, Any]) -> None:
    assert_hygienic(json.dumps(document).encode())


def test_the_message_without_the_leaf_is_clean() -> None:
    check(MESSAGE)
    check(nested({"count": 3, "share_pct": 12.5, "flag": True, "label": "BD"}))


@pytest.mark.parametrize(
    ("leaf", "where"),
    [
        ({"audit_end": 3}, "measures.groups.1.inner.audit_end"),
        ({"updated_at_ms": None}, "measures.groups.1.inner.updated_at_ms"),
        # a release time is allowed at the top only
        ({"release_id": "2026-05-01T00:00:00Z"}, "measures.groups.1.inner.release_id"),
        ({"first": "2026-02-03"}, "measures.groups.1.inner.first"),
        ({"n": 1777593600}, "measures.groups.1.inner.n"),
        ({"n": -1777593600000}, "measures.groups.1.inner.n"),
    ],
)
def test_an_event_time_is_found_at_any_depth_and_named(leaf: dict[str, Any], where: str) -> None:
    with pytest.raises(HygieneError, match=rf"at {where}$|field {where}$"):
        check(nested(leaf))


@pytest.mark.parametrize(
    "item", ["2026-02-03T10:00:00Z", 1777593600000], ids=["date text", "epoch in milliseconds"]
)
def test_an_event_time_as_a_list_item_is_found(item: object) -> None:
    document = {**MESSAGE, "measures": {**MESSAGE["measures"], "series": [1, 2, item]}}
    with pytest.raises(HygieneError, match=r"at measures\.series"):
        check(document)


def test_a_pseudonym_or_sealed_value_is_found_at_any_depth() -> None:
    with pytest.raises(HygieneError, match="pseudonym"):
        check(nested({"site": PSEUDONYM}))
    with pytest.raises(HygieneError, match="sealed"):
        check(nested({"os": "k1.sealed.AbC-_x9"}))


def test_release_times_are_allowed_at_the_top_only_and_counts_are_no_times() -> None:
    """The top-level `release_id` and `released_at` are the only times a message carries; booleans and
    ordinary counts are not epoch times (the largest count is far below an epoch second)."""
    check({**MESSAGE, "measures": {**MESSAGE["measures"], "audited_sites": 10**9 - 1, "flag": True}})
    with pytest.raises(HygieneError, match="epoch"):
        check({**MESSAGE, "measures": {**MESSAGE["measures"], "audited_sites": 10**9}})
    with pytest.raises(HygieneError, match=r"cell\.released_at"):
        check({**MESSAGE, "cell": {**MESSAGE["cell"], "released_at": "2026-05-01T00:00:04Z"}})
