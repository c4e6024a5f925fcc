"""The simulator's tables against the taxonomy and the contract they draw from: checked here rather than
at import, so that importing the simulator checks nothing and a broken table fails as a named test."""

from __future__ import annotations

import pytest

from schemas.taxonomy import AMFORI_FL_INDICATORS, SEDEX_FL_TAGS, SMETA_CLAUSES
from simulator.malformed import REASON_CLASSES, VARIANTS
from simulator.vocabulary import AMFORI_INDICATORS_BY_PA, SEDEX_TAGS_BY_ISSUE, SMETA_POOLS


@pytest.mark.parametrize("pool", sorted(SMETA_POOLS))
def test_every_clause_an_audit_draws_is_a_clause_of_its_smeta_version(pool: tuple[str, int]) -> None:
    version, _pillars = pool
    clauses, weights = SMETA_POOLS[pool]
    assert clauses and len(weights) == len(clauses)
    assert set(clauses) <= set(SMETA_CLAUSES[version])


def test_every_forced_labour_tag_and_indicator_the_feed_draws_is_the_taxonomys() -> None:
    assert {t for tags in SEDEX_TAGS_BY_ISSUE.values() for t in tags} <= set(SEDEX_FL_TAGS)
    assert {t for tags in AMFORI_INDICATORS_BY_PA.values() for t in tags} <= set(AMFORI_FL_INDICATORS)


def test_every_rejection_class_has_a_malformed_variant_and_no_variant_another_class() -> None:
    assert {v.reason for v in VARIANTS} == set(REASON_CLASSES)
