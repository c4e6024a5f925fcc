"""Held records share their field sets (services/aggregate/shared_fields.py): less memory, same models."""

from __future__ import annotations

import tracemalloc

import pytest
from pydantic import BaseModel

from bench.inprocess import normalized_records
from schemas.shared.models import Audit, MemberRef, PlatformSite
from services.aggregate.population import NormalizedState
from services.aggregate.shared_fields import share_field_sets


def pseudonym(kind: str, n: int) -> str:
    return f"k.{kind}.{n:032x}"


SITE = (
    f'{{"schema_version":1,"site_id":"{pseudonym("site", 1)}","platform":"sedex",'
    f'"company_id":"{pseudonym("company", 1)}","version":1,"updated_at_ms":1735693742000,"country":"CN",'
    f'"sector":"HOME_FURNITURE","workforce_total":86,"workforce_band":"50-249",'
    f'"members":[{{"member_id":"{pseudonym("member", 1)}","lei_id":null,"role":null}}],'
    f'"os_id_sealed":null,"address_id":"{pseudonym("addr", 1)}"}}'
).encode()


def test_records_held_share_one_field_set_and_read_the_same() -> None:
    state = NormalizedState()
    first, second = pseudonym("site", 1), pseudonym("site", 2)
    state.apply(PlatformSite.TOPIC, first, SITE)
    state.apply(PlatformSite.TOPIC, second, SITE.replace(first.encode(), second.encode()))
    one, two = state.platform_sites[first], state.platform_sites[second]
    assert one.__pydantic_fields_set__ is two.__pydantic_fields_set__
    assert one.members[0].__pydantic_fields_set__ is two.members[0].__pydantic_fields_set__
    fresh = PlatformSite.model_validate_json(SITE)
    assert one.model_fields_set == fresh.model_fields_set
    assert one.model_dump(exclude_unset=True) == fresh.model_dump(exclude_unset=True)
    assert one.model_dump_json() == fresh.model_dump_json()
    # a copy with an update gets a set of its own: the shared one is never changed
    shared = set(one.__pydantic_fields_set__)
    copied = one.model_copy(update={"country": "VN"})
    assert copied.__pydantic_fields_set__ is not one.__pydantic_fields_set__
    assert one.__pydantic_fields_set__ == shared


def test_a_model_that_is_not_frozen_is_refused() -> None:
    class Loose(BaseModel):
        name: str

    with pytest.raises(TypeError, match="not frozen"):
        share_field_sets(Loose(name="x"))
    share_field_sets(MemberRef(member_id=pseudonym("member", 1)))  # frozen: fine


def test_the_state_of_a_feed_takes_less_memory() -> None:
    """The simulator's feed: the held models take well under what they took with a set each."""
    records = [r for r in normalized_records(3_000) if r.topic == Audit.TOPIC and r.value is not None]

    def held(share: bool) -> int:
        tracemalloc.start()
        try:
            kept = []
            for r in records:
                audit = Audit.model_validate_json(r.value or b"")
                if share:
                    share_field_sets(audit)
                kept.append(audit)
            return tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

    assert held(share=True) < 0.7 * held(share=False)
