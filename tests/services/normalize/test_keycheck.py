"""normalize refuses a key its state was not written under (issue 15: a clear refusal)."""

from __future__ import annotations

import pytest

from services.normalize.keycheck import KeyMismatchError, check_key, key_ids_in_state


def test_the_key_ids_of_a_state_are_its_keys_prefixes() -> None:
    state = {
        "exchange.normalize.versions.v1": {"k1.audit.0f": b"{}", "k1.site.aa": b"{}"},
        "exchange.normalized.platform-sites.v1": {"k2.site.bb": b"{}"},
        "exchange.normalized.consents.v1": {},
    }
    assert key_ids_in_state(state) == {"k1", "k2"}
    assert key_ids_in_state({}) == frozenset()


def test_a_state_under_another_key_is_refused_and_says_what_to_do() -> None:
    state = {"exchange.normalize.versions.v1": {"k1.audit.0f": b"{}"}}
    assert check_key(state, "k1") == {"k1"}
    assert check_key({}, "k2") == frozenset()  # a fresh state takes any key
    with pytest.raises(KeyMismatchError) as refused:
        check_key(state, "k2")
    message = str(refused.value)
    assert "k1" in message and "k2" in message and "NORMALIZE_TOPIC_PREFIX" in message
    with pytest.raises(KeyMismatchError):  # a state already mixed is refused whatever key is given
        check_key({"t": {"k1.a.0": b"", "k2.a.0": b""}}, "k1")
