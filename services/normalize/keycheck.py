"""Which pseudonymisation key ids normalize's state was written under, and whether it may start.

Every key of normalize's compacted topics is a pseudonym, `<key id>.<kind>.<32 hex>` (pseudonymise.py),
so the key ids a state holds are the prefixes of its keys. A normalize given another key would read
sealed values it cannot open and write pseudonyms that match nothing it holds: the same site under
two names, one resolution split in two. It must not start: the way out is the key the state was written
under, a rotation to the new key (`python -m services.rotation`, docs/normalize.md), or a state of its
own (a fresh broker, or another NORMALIZE_TOPIC_PREFIX).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from schemas.shared.models import key_ids

KEY_MISMATCH_EXIT: Final = 3  # distinct from 1 (a crash) and 2 (no key at all)


class KeyMismatchError(RuntimeError):
    def __init__(self, held: frozenset[str], given: str) -> None:
        self.held, self.given = held, given
        super().__init__(
            f"its state holds pseudonyms under key id(s) {', '.join(sorted(held))} and it was given key id "
            f"{given}: start it with the key the state was written under, or give it a state of its own "
            "(a fresh broker, or another NORMALIZE_TOPIC_PREFIX); to move the state to the new key, "
            "stop aggregate and run python -m services.rotation (docs/normalize.md)"
        )


def key_ids_in_state(state: Mapping[str, Mapping[str, bytes]]) -> frozenset[str]:
    """The key id prefix of every key in the state's topics."""
    return key_ids(key for values in state.values() for key in values)


def check_key(state: Mapping[str, Mapping[str, bytes]], given: str) -> frozenset[str]:
    """The key ids the state holds; raises `KeyMismatchError` unless they are only `given`."""
    held = key_ids_in_state(state)
    if held - {given}:
        raise KeyMismatchError(held, given)
    return held
