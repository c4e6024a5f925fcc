"""Which measures are populations (P) is read from the models' field descriptions; this pins the result
to the contract's tables (aggregates.md), written out here, so a model that loses or gains its
"Population (P)" mark fails here instead of turning a population into an outcome (or back)."""

from __future__ import annotations

from services.aggregate.release import POPULATION_MEASURES

# aggregates.md, each table's measures marked (P).
CONTRACT_POPULATIONS = {
    "issue-prevalence": {"audited_sites"},
    "forced-labour": {"audited_sites"},
    "labour-relations": {"audited_sites"},
    "audit-quality": {"audits", "sites"},
    "remediation": {"findings"},
    "capacity-building": {"sites_trained", "participants"},
}


def test_the_population_measures_are_the_contracts() -> None:
    assert set().union(*CONTRACT_POPULATIONS.values()) == POPULATION_MEASURES
