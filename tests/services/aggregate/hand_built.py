"""normalize's compacted records built by hand: pseudonyms of normalize's shape, findings, labour
relations, and `World`, a `NormalizedState` of resolved sites and audits written straight into the
topics (no feed, no normalizer) for the table tests that need every field under their control."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Final

from schemas.shared.models import Announcement, Audit, AuditType, Finding, LabourRelations, PlatformSite
from schemas.shared.resolution import ResolvedSite, SiteResolution
from schemas.taxonomy import ForcedLabourIndicator, Issue, Sector, Severity, WorkforceBand
from services.aggregate.held import hold
from services.aggregate.population import NormalizedState

FindingSpec = tuple[Issue, Severity] | tuple[Issue, Severity, Sequence[ForcedLabourIndicator]]

Q1_DAY: Final = date(2026, 2, 1)
FIRM: Final = "APSCA-F-00123"


def pid(kind: str, name: str) -> str:
    """A pseudonym of the shape normalize writes (`<key id>.<kind>.<32 hex>`), deterministic in `name`."""
    return f"t.{kind}.{hashlib.md5(name.encode()).hexdigest()}"


def voice(
    union: bool = False, committee: bool = False, cba: bool = False, grievance: bool = False
) -> LabourRelations:
    return LabourRelations(
        has_union=union,
        has_worker_committee=committee,
        has_collective_agreement=cba,
        has_grievance_mechanism=grievance,
    )


NO_VOICE: Final = voice()


def findings(audit: str, specs: Iterable[FindingSpec]) -> list[Finding]:
    """The audit's findings in the order given, each with an SMETA source code (the tables read none)."""
    return [
        Finding(
            finding_id=pid("finding", f"{audit}/{i}"),
            source_code="SMETA-7.0:0",
            issue=f[0],
            severity=f[1],
            fl_indicators=list(f[2]) if len(f) == 3 else [],
        )
        for i, f in enumerate(specs)
    ]


class World:
    """A hand-built normalized state: resolved sites (one platform site or more each) and audits with
    every field the tables read."""

    def __init__(self) -> None:
        self.state = NormalizedState()

    def site(
        self,
        name: str,
        *,
        country: str = "BD",
        sector: Sector = Sector.APPAREL_TEXTILES,
        platforms: Sequence[str] = ("sedex",),
        workforce: Sequence[int] = (40,),
        updated: Sequence[int] = (1,),
        owner: str | None = None,
        members: Iterable[str] = (),
    ) -> str:
        """The resolved site `rsite-<name>`; its platform sites' workforce and event times are taken in
        turn from `workforce` and `updated` (the last repeated)."""
        rid = f"rsite-{name}"
        ids = []
        for i, platform in enumerate(platforms):
            site_id = pid("site", f"{platform}:{name}")
            self.state.platform_sites[site_id] = hold(
                PlatformSite(
                    site_id=site_id,
                    platform=platform,
                    company_id=pid("company", owner or f"{platform}:{name}"),
                    version=1,
                    updated_at_ms=updated[min(i, len(updated) - 1)],
                    country=country,
                    sector=sector,
                    workforce_total=workforce[min(i, len(workforce) - 1)],
                    workforce_band=WorkforceBand.B1_49,
                    members=[{"member_id": pid("member", m)} for m in members],
                    address_id=pid("addr", name),
                )
            )
            self.state.resolutions[site_id] = hold(
                SiteResolution(platform_site_id=site_id, resolved_site_id=rid)
            )
            ids.append(site_id)
        owners = sorted({self.state.platform_sites[s].company_id for s in ids})
        self.state.resolved_sites[rid] = hold(
            ResolvedSite(
                resolved_site_id=rid,
                country=country,
                sector=sector,
                workforce_band=WorkforceBand.B1_49,
                principal_owner_id=owners[0],
                owner_ids=owners,
                members=[{"member_id": pid("member", m)} for m in sorted(members)],
                platform_site_ids=sorted(ids),
                platforms=sorted({self.state.platform_sites[s].platform for s in ids}),
            )
        )
        return rid

    def audit(
        self,
        name: str,
        site: str,
        end: date = Q1_DAY,
        *specs: FindingSpec,
        firm: str = FIRM,
        firm_name: str = "Example Assurance Ltd",
        platform: str = "sedex",
        announcement: Announcement = Announcement.ANNOUNCED,
        days: float = 3.0,
        voice: LabourRelations = NO_VOICE,
        event_ms: int = 1,
    ) -> None:
        """An audit of the platform site of `site` (a name, or the resolved id `site` returned)."""
        site_id = pid("site", f"{platform}:{site.removeprefix('rsite-')}")
        audit_id = pid("audit", name)
        self.state.audits[audit_id] = hold(
            Audit(
                audit_id=audit_id,
                platform=platform,
                site_id=site_id,
                company_id=self.state.platform_sites[site_id].company_id,
                version=1,
                updated_at_ms=event_ms,
                methodology="SMETA-7.0" if platform == "sedex" else "BSCI-2.0",
                audit_type=AuditType.FULL_PERIODIC if platform == "sedex" else AuditType.FULL,
                announcement=announcement,
                audit_end=end,
                auditor_days=days,
                audit_firm=firm,
                audit_firm_name=firm_name,
                workers_interviewed=10,
                labour_relations=voice,
                findings=findings(name, specs),
            )
        )
