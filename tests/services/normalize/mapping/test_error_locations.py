"""A mapping error names where the message went wrong (services/normalize/mapping/records.py
`MappingError`: the reason names codes and field locations, never a raw identifier; it becomes the
dead-letter reason), for the codes a crosswalk revision can stop knowing."""

from __future__ import annotations

import dataclasses

import pytest

from schemas.taxonomy import SEDEX_TRAINING_TOPICS, ZERO_TOLERANCE_CATEGORIES
from services.normalize.mapping import Crosswalk, MappingContext, MappingError, MappingErrorCode, map_event
from tests.fixtures.examples import amfori_monitoring

from .conftest import Accept
from .test_sedex_golden import envelope as sedex_envelope


def test_an_unknown_training_topic_names_the_topic_field(ctx: MappingContext, accept: Accept) -> None:
    topics = {k: v for k, v in SEDEX_TRAINING_TOPICS.items() if k != "ENVIRONMENT"}
    revised = dataclasses.replace(ctx, crosswalk=Crosswalk(sedex_training_topics=topics))
    payload = {
        "trainingRef": "TR-SECRET-1",
        "courseCode": "C",
        "topic": "ENVIRONMENT",
        "completedOn": "2026-01-20",
        "participants": 1,
    }
    with pytest.raises(MappingError) as caught:
        map_event(accept(sedex_envelope("TrainingCompleted", 1, payload)), revised)
    assert caught.value.code is MappingErrorCode.UNKNOWN_TRAINING_TOPIC
    assert caught.value.reason.startswith("payload.topic"), caught.value.reason
    assert "TR-SECRET-1" not in str(caught.value)


def test_an_unknown_zero_tolerance_category_names_its_place_in_the_list(
    ctx: MappingContext, accept: Accept
) -> None:
    category = sorted(ZERO_TOLERANCE_CATEGORIES)[0]
    categories = {k: v for k, v in ZERO_TOLERANCE_CATEGORIES.items() if k != category}
    revised = dataclasses.replace(ctx, crosswalk=Crosswalk(zero_tolerance_categories=categories))
    raw = amfori_monitoring()
    raw["data"]["zeroTolerance"] = [
        {"findingId": "ZT-1", "category": sorted(categories)[0], "comment": "x"},
        {"findingId": "ZT-2", "category": category, "comment": "y"},
    ]
    map_event(accept(raw), ctx)  # both known to the crosswalk in force
    with pytest.raises(MappingError) as caught:
        map_event(accept(raw), revised)
    assert caught.value.code is MappingErrorCode.UNKNOWN_ZERO_TOLERANCE
    assert caught.value.reason.startswith("data.zeroTolerance[1].category"), caught.value.reason
