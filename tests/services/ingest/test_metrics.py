"""Ingest's metrics: a batch's processing time observed once per message, as one addition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.ingest.metrics import IngestMetrics


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        if family.name == "sx_ingest_processing_seconds"
        for s in family.samples
        if not s.name.endswith("_created")
    }


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=3, allow_nan=False), st.integers(min_value=0, max_value=3000)
        ),
        max_size=8,
    )
)
def test_observing_a_batch_at_once_is_observing_each_message(batches: list[tuple[float, int]]) -> None:
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    reference, metrics = IngestMetrics(one_by_one), IngestMetrics(at_once)
    reference_child = reference.processing.labels("sedex")  # both series exist from the start
    child = metrics.child(metrics.processing, "sedex")
    for seconds, times in batches:
        for _ in range(times):
            reference_child.observe(seconds)
        metrics.observe_times(child, seconds, times)
    expected, got = _samples(one_by_one), _samples(at_once)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if key[0].endswith("_sum"):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12)
        else:  # bucket counts and the count: exact
            assert got[key] == value, key
