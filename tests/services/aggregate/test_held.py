"""Records as aggregate holds them (services/aggregate/held.py): the model's fields and values, compact."""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections import Counter
from typing import Any

import pytest
from pydantic import BaseModel

from bench.inprocess import normalized_records
from schemas.shared import models
from schemas.shared.resolution import (
    RESOLVED_SITES_TOPIC,
    SITE_RESOLUTION_TOPIC,
    ResolvedMember,
    ResolvedSite,
)
from schemas.shared.resolution import SiteResolution as ResolutionModel
from services.aggregate import held
from services.aggregate.population import INPUT_TABLES, NormalizedState

# Each held class and the contract model it holds (written out here, not read from held.py).
PAIRS: list[tuple[type[Any], type[BaseModel]]] = [
    (held.HeldPlatformSite, models.PlatformSite),
    (held.HeldMemberRef, models.MemberRef),
    (held.HeldAudit, models.Audit),
    (held.HeldLabourRelations, models.LabourRelations),
    (held.HeldFinding, models.Finding),
    (held.HeldCorrectiveAction, models.CorrectiveAction),
    (held.HeldConsent, models.Consent),
    (held.HeldTraining, models.Training),
    (held.HeldResolution, ResolutionModel),
    (held.HeldResolvedMember, ResolvedMember),
    (held.HeldResolvedSite, ResolvedSite),
]


@pytest.mark.parametrize(("held_class", "model"), PAIRS, ids=lambda c: c.__name__)
def test_a_held_class_has_its_model_s_fields_in_order(held_class: type[Any], model: type[BaseModel]) -> None:
    expected = [name for name in model.model_fields if name != "schema_version"]
    assert [f.name for f in dataclasses.fields(held_class)] == expected
    assert held_class.__dataclass_params__.frozen
    assert "__slots__" in vars(held_class)  # no per-instance __dict__


def as_plain(value: Any) -> Any:
    """A held value in the shape of the model's JSON dump: dataclasses as dicts, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [as_plain(v) for v in value]
    return value


def feed(events: int) -> list[tuple[str, str, bytes]]:
    return [(r.topic, r.key, r.value) for r in normalized_records(events) if r.value is not None]


def test_every_record_of_the_feed_reads_as_its_model() -> None:
    """Every kind the feed carries, validated by its model and held: equal values, field by field."""
    records = feed(1_500)
    seen = set()
    for topic, _, value in records:
        model = INPUT_TABLES[topic][1].model_validate_json(value)
        dumped = model.model_dump(mode="python", exclude={"schema_version"})
        assert as_plain(held.hold(model)) == dumped
        seen.add(topic)
    assert seen == set(INPUT_TABLES)


def test_the_state_keys_each_record_by_its_own_id_and_shares_repeated_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A pool of its own: the process's pool may be full from the tests run before in the same process
    # (past its bound values are held unshared), which made this test depend on the order of the run.
    monkeypatch.setattr(held, "_SHARED", {})
    state = NormalizedState()
    records = feed(1_500)
    for topic, key, value in records:
        state.apply(topic, key, value)
    assert state.audits and state.resolved_sites and state.trainings
    applied = Counter(key for topic, key, _ in records if topic == models.Audit.TOPIC)
    for key, audit in state.audits.items():
        assert key == audit.audit_id
        if applied[key] == 1:
            # One string, not two equal ones. A newer version under the same key leaves the dict its
            # first key; whether the two are one object then depends on pydantic-core's string cache,
            # whose content depends on what the process parsed before (this test failed once so).
            assert key is audit.audit_id
    assert 1 < len(applied) != sum(applied.values())  # both cases are in the feed
    # Dates and labour-relation flags: pydantic makes a new object for each record's (its JSON parser
    # caches short strings already, so equal strings may be one object with or without the pool).
    for values in (
        [a.audit_end for a in state.audits.values()],
        [a.labour_relations for a in state.audits.values()],
        [t.issues for t in state.trainings.values()],
    ):
        assert len(set(map(id, values))) == len(set(values)) < len(values)


def test_held_records_take_well_under_half_of_the_models() -> None:
    """The feed's audits, platform sites and trainings: held, against kept as validated models."""
    wanted = {models.Audit.TOPIC, models.PlatformSite.TOPIC, models.Training.TOPIC, RESOLVED_SITES_TOPIC}
    records = [(t, v) for t, _, v in feed(3_000) if t in wanted]

    def size(keep_held: bool) -> int:
        tracemalloc.start()
        try:
            kept = []
            for topic, value in records:
                model = INPUT_TABLES[topic][1].model_validate_json(value)
                kept.append(held.hold(model) if keep_held else model)
            return tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

    assert size(keep_held=True) < 0.5 * size(keep_held=False)


def test_the_pool_of_shared_values_stops_at_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed with a new source code on every finding cannot grow the pool past its bound."""
    monkeypatch.setattr(held, "_SHARED", {})
    monkeypatch.setattr(held, "SHARED_AT_MOST", 50)
    audits = [INPUT_TABLES[t][1].model_validate_json(v) for t, _, v in feed(1_500) if t == models.Audit.TOPIC]
    assert len(audits) > 50
    for i, audit in enumerate(audits):
        fresh = audit.model_copy(update={"audit_firm_name": f"firm {i}"})
        assert as_plain(held.hold(fresh)) == fresh.model_dump(mode="python", exclude={"schema_version"})
    assert len(held._SHARED) == 50


def test_a_model_aggregate_does_not_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="not a record aggregate holds"):
        held.hold(ResolvedMember(member_id="m"))
    assert SITE_RESOLUTION_TOPIC in INPUT_TABLES


def test_ids_other_records_repeat_are_one_string_in_the_whole_state() -> None:
    """A site's id in its audits, corrective actions, trainings and resolution, a company's in its sites
    and audits, an audit's in its corrective actions: one object per value, whichever record brought it
    (each record parses its own copy; pydantic's string cache shares some of them by chance only)."""
    state = NormalizedState()
    for topic, key, value in feed(3_000):
        state.apply(topic, key, value)
    site_ids = {site.site_id: site.site_id for site in state.platform_sites.values()}
    references = [
        *(a.site_id for a in state.audits.values()),
        *(c.site_id for c in state.corrective_actions.values()),
        *(t.site_id for t in state.trainings.values()),
        *(r.platform_site_id for r in state.resolutions.values()),
        *(p for r in state.resolved_sites.values() for p in r.platform_site_ids),
    ]
    held_sites = [ref for ref in references if ref in site_ids]
    assert len(held_sites) > 2 * len(site_ids)
    assert all(ref is site_ids[ref] for ref in held_sites)
    audit_ids = {audit.audit_id: audit.audit_id for audit in state.audits.values()}
    by_audit = [c.audit_id for c in state.corrective_actions.values() if c.audit_id in audit_ids]
    assert by_audit and all(ref is audit_ids[ref] for ref in by_audit)
    companies = [
        *(s.company_id for s in state.platform_sites.values()),
        *(a.company_id for a in state.audits.values()),
        *(r.principal_owner_id for r in state.resolved_sites.values()),
    ]
    assert len({id(c) for c in companies}) == len(set(companies)) < len(companies)
    resolved = [r.resolved_site_id for r in state.resolutions.values()]
    resolved += [r.resolved_site_id for r in state.resolved_sites.values()]
    assert len({id(r) for r in resolved}) == len(set(resolved)) < len(resolved)
