"""What entity resolution writes (taxonomy.md, "One site on two platforms"; aggregates.md, "Population").

Two compacted topics, both written by normalize's resolution stage:

* `exchange.normalized.site-resolution.v1`, key: the platform site's pseudonym. Which resolved site a
  platform site currently belongs to. A platform site that takes no part in resolution (removed, or its
  owner has withdrawn consent) has a tombstone. The value is history-free, so every arrival order
  compacts to the same state; the header `sx_previous_resolved_site_id` names the resolved site the
  platform site belonged to just before the change (absent if none), so a consumer sees a move as a
  retraction from the old resolved site and an addition to the new one. The resolved-sites topic
  shows the same move as current state: the old record loses the platform site, the new one gains it.
* `exchange.normalized.resolved-sites.v1`, key: the resolved site's pseudonym. One record per resolved
  site with at least one existing platform site (a contributing site's attributes); a tombstone once it
  has none.

Every identifier here is a keyed pseudonym; no raw platform identifier, osId or address is carried.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.taxonomy import Sector, WorkforceBand

SITE_RESOLUTION_TOPIC = "exchange.normalized.site-resolution.v1"
RESOLVED_SITES_TOPIC = "exchange.normalized.resolved-sites.v1"

ResolvedPlatform = Literal["amfori", "sedex"]


class SiteResolution(BaseModel):
    """Key: `platform_site_id`. A tombstone (no value) when the platform site takes no part in resolution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    platform_site_id: str = Field(min_length=1)
    resolved_site_id: str = Field(min_length=1)


class ResolvedMember(BaseModel):
    """A member company linked to a resolved site.

    References that name the same member id, or the same LEI, are one member (aggregates.md, "Owners and
    members"); such a group is written once, with its smallest member id and its smallest LEI. A consumer
    that compares members across resolved sites should identify a member by `lei_id` when it is set, else
    by `member_id`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    member_id: str = Field(min_length=1)
    lei_id: str | None = None


def _sorted_unique(values: list[str]) -> list[str]:
    if any(a >= b for a, b in pairwise(values)):
        raise ValueError("must be sorted and without duplicates")
    return values


class ResolvedSite(BaseModel):
    """Key: `resolved_site_id`. A tombstone when no existing platform site resolves to it.

    `country`, `sector`, `workforce_band` and `principal_owner_id` come from the most recent site event
    among its platform sites: the greatest event time; on a tie the platform whose name sorts first; if
    still tied, the smaller platform site id.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    resolved_site_id: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    sector: Sector
    workforce_band: WorkforceBand
    principal_owner_id: str = Field(min_length=1)
    owner_ids: list[str] = Field(min_length=1)
    members: list[ResolvedMember]
    platform_site_ids: list[str] = Field(min_length=1)
    platforms: list[ResolvedPlatform] = Field(min_length=1)

    @field_validator("owner_ids", "platform_site_ids")
    @classmethod
    def _ids_sorted_unique(cls, values: list[str]) -> list[str]:
        return _sorted_unique(values)

    @field_validator("platforms")
    @classmethod
    def _platforms_sorted_unique(cls, values: list[ResolvedPlatform]) -> list[ResolvedPlatform]:
        _sorted_unique(list(values))
        return values

    @field_validator("members")
    @classmethod
    def _members_sorted_unique(cls, values: list[ResolvedMember]) -> list[ResolvedMember]:
        _sorted_unique([m.member_id for m in values])
        leis = [m.lei_id for m in values if m.lei_id is not None]
        if len(leis) != len(set(leis)):
            raise ValueError("two members with the same LEI are one member")
        return values

    @model_validator(mode="after")
    def _principal_is_an_owner(self) -> ResolvedSite:
        if self.principal_owner_id not in self.owner_ids:
            raise ValueError("principal_owner_id must be one of owner_ids")
        return self
