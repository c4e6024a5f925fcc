"""A release is never planned on inputs held under two pseudonymisation keys (a key rotation being read):
the same site would count twice, once under each name."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from services.aggregate.disclosure import DisclosureParams
from services.aggregate.metrics import AggregateMetrics
from services.aggregate.population import NormalizedState
from services.aggregate.releaser import MixedKeys, Releaser, _failure_kind
from services.aggregate.schedule import ManualClock
from services.aggregate.settings import AggregateSettings
from tests.services.aggregate.crafted import Crafted


def state_with(*site_ids: str) -> NormalizedState:
    """A crafted world's platform sites, keyed as normalize keys them under the given key ids."""
    w = Crafted()
    for i in range(len(site_ids)):
        w.site(f"s{i}")
    crafted = w.state()
    return NormalizedState(platform_sites=dict(zip(site_ids, crafted.platform_sites.values(), strict=True)))


def test_the_inputs_key_ids_are_the_prefixes_of_their_pseudonyms() -> None:
    assert state_with("k1.site." + "a" * 32, "k1.site." + "b" * 32).key_ids() == {"k1"}
    assert state_with("k1.site." + "a" * 32, "k2.site." + "b" * 32).key_ids() == {"k1", "k2"}


def test_a_release_on_inputs_under_two_keys_is_refused_before_anything_is_planned() -> None:
    state = state_with("k1.site." + "a" * 32, "k2.site." + "b" * 32)
    at = datetime(2026, 2, 1, tzinfo=UTC)
    releaser = Releaser(AggregateSettings(), state, ManualClock(at), AggregateMetrics(), DisclosureParams())
    with pytest.raises(MixedKeys, match="k1, k2"):
        asyncio.run(releaser._release(at))
    assert _failure_kind(MixedKeys("x")) == "mixed_keys"
