"""Hand-made worlds for the insider attacks: a tiny model of sites, companies, members and audits that
renders to normalize's state (`NormalizedState`) and, independently, to the ground truth the attacker
checks against (`insider.Snapshot`).

Why a model of its own rather than editing a `NormalizedState` in place: the attacks need histories
(consent withdrawn and re-granted, a site re-resolved, merged, split), and the aggregate side sees
each of those only as a changed set of current records. Keeping the *cause* here (which platform
site exists, consents, resolves where) lets one world render both the engine's input and the truth,
so the truth is computed from the contract ("Population", "Owners and members") and never from
`services.aggregate.population` or `services.aggregate.tables`.

Conventions of the rendering (services/aggregate/population.py's docstring): a platform site whose
owner withdrew consent keeps its platform-site record but has no resolution; a removed one has
neither; a resolved site is written only while some participating platform site points to it; an
audit is written in its latest version and removed when withdrawn.

`Releases` runs `plan_release` release after release, keeping the release-state records the way the
service does, and records each release's public messages with the truth at that time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from schemas.exchange.aggregates import RELEASE_STATE_TOPIC, format_release_time
from schemas.shared import models as shared
from schemas.shared.resolution import ResolvedMember, ResolvedSite, SiteResolution
from schemas.taxonomy import Sector, Severity, WorkforceBand
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.held import hold
from services.aggregate.noise import NoiseParams, Sampler, discrete_gaussian
from services.aggregate.planner import ReleasePlan, plan_release
from services.aggregate.population import NormalizedState
from services.aggregate.release import ReleaseLog
from tests.services.aggregate import hand_built
from tests.services.aggregate.hand_built import Q1_DAY, pid
from tests.services.aggregate.hand_built import FindingSpec as FindingSpec  # the attack suites import it here
from tests.services.aggregate.insider import PeriodFacts, Record, Release, SiteFacts, Snapshot

Platform = Literal["sedex", "amfori"]

FIRST_Q1_RELEASE: Final = datetime(2026, 5, 1, tzinfo=UTC)  # 2026-Q1 closes at its end + 30 days
_RANK: Final = {Severity.MINOR: 1, Severity.MAJOR: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class Ref:
    """A member reference as a platform lists it: the platform's reference, and its LEI if it gave one."""

    member: str
    lei: str | None = None

    def model(self) -> shared.MemberRef:
        return shared.MemberRef(
            member_id=pid("member", self.member),
            lei_id=None if self.lei is None else pid("member", f"lei:{self.lei}"),
        )


@dataclass(frozen=True, slots=True)
class _PSite:
    """One platform site. `exists` is false once removed; consent lives with its company."""

    key: str  # "<platform>:<name>"
    platform: Platform
    company: str  # "<platform>:<company name>"
    country: str
    sector: Sector
    members: tuple[Ref, ...]
    updated_at_ms: int
    version: int = 1
    exists: bool = True

    @property
    def site_id(self) -> str:
        return pid("site", self.key)

    @property
    def company_id(self) -> str:
        return pid("company", self.company)


@dataclass(frozen=True, slots=True)
class _Audit:
    audit_name: str
    psite: str  # platform-site key
    end: date
    findings: tuple[FindingSpec, ...]
    version: int
    voice: tuple[bool, bool, bool, bool] = (False, False, False, False)  # union, committee, CBA, grievance
    event_ms: int = 0  # the audit's event time: the world's clock when it was (re)written


@dataclass(frozen=True, slots=True)
class _Action:
    """The corrective action of one finding (`<audit name>/<finding index>`), in its latest version."""

    psite: str  # the platform-site key of the audit it was raised on
    status: shared.CorrectiveActionStatus
    due: date
    closed: date | None
    version: int
    event_ms: int


@dataclass(slots=True)
class Crafted:
    """A world under construction. Sites are named; a site name stands for the platform sites created
    with it (one per platform), wherever they resolve later. Every mutation is one site event or audit
    event; `clock` orders site events (the most recent one gives a resolved site its principal owner)."""

    psites: dict[str, _PSite] = field(default_factory=dict)
    resolution: dict[str, str] = field(default_factory=dict)  # platform-site key -> resolved label
    named: dict[str, tuple[str, ...]] = field(default_factory=dict)  # site name -> platform-site keys
    audits: dict[str, _Audit] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)  # company ("<platform>:<name>") -> granted
    actions: dict[tuple[str, int], _Action] = field(default_factory=dict)  # (audit, finding index)
    clock: int = 1_000
    _labels: int = 0

    # --- sites -----------------------------------------------------------------------------------

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    def _label(self, name: str) -> str:
        self._labels += 1
        return f"{name}#{self._labels}"

    def site(
        self,
        name: str,
        *,
        country: str = "BD",
        sector: Sector = Sector.APPAREL_TEXTILES,
        company: str | None = None,
        platforms: Iterable[Platform] = ("sedex",),
        members: Iterable[Ref] = (),
        companies: Mapping[str, str] | None = None,
    ) -> str:
        """One resolved site made of one platform site per platform (Sedex and/or amfori). `company` names
        the supplier on every platform (each platform's own company reference); `companies` overrides it
        per platform. Default: a supplier of its own, named after the site. Returns `name`."""
        if name in self.named:
            raise ValueError(f"site {name!r} exists already")
        refs = tuple(members)
        label = self._label(name)
        keys = []
        for platform in platforms:
            owner = (companies or {}).get(platform, company or f"co-{name}")
            key = f"{platform}:{name}"
            self.psites[key] = _PSite(
                key=key,
                platform=platform,
                company=f"{platform}:{owner}",
                country=country,
                sector=sector,
                members=refs,
                updated_at_ms=self._tick(),
            )
            self.resolution[key] = label
            keys.append(key)
        self.named[name] = tuple(keys)
        return name

    def _keys(self, name: str, platform: Platform | None = None) -> list[str]:
        return [k for k in self.named[name] if platform is None or self.psites[k].platform == platform]

    def _edit(self, key: str, **changes: object) -> None:
        old = self.psites[key]
        self.psites[key] = replace(old, version=old.version + 1, updated_at_ms=self._tick(), **changes)  # type: ignore[arg-type]

    def set_members(self, name: str, members: Iterable[Ref], *, platform: Platform | None = None) -> None:
        """The member references listed on a site's platform sites (all, or one platform's)."""
        for key in self._keys(name, platform):
            self._edit(key, members=tuple(members))

    def set_owner(self, name: str, company: str, *, platform: Platform | None = None) -> None:
        """The supplier company of a site's platform sites (a site event: it becomes the principal)."""
        for key in self._keys(name, platform):
            self._edit(key, company=f"{self.psites[key].platform}:{company}")

    def touch(self, name: str, *, platform: Platform) -> None:
        """A site event with no content change: that platform's owner becomes the principal owner."""
        for key in self._keys(name, platform):
            self._edit(key)

    def reresolve(self, name: str) -> None:
        """The site gains an Open Supply Hub id or its address is edited: the same platform sites now
        resolve to a new resolved site id."""
        label = self._label(name)
        for key in self.resolved_with(name):
            self.resolution[key] = label

    def resolved_with(self, name: str) -> list[str]:
        """The platform-site keys that currently share a resolved site with `name`'s platform sites."""
        labels = {self.resolution[k] for k in self.named[name]}
        return sorted(k for k, label in self.resolution.items() if label in labels)

    def merge(self, a: str, b: str) -> None:
        """Resolution decides that `a` and `b` are one site (e.g. an amfori and a Sedex record of it)."""
        label = self._label(f"{a}+{b}")
        for key in (*self.resolved_with(a), *self.resolved_with(b)):
            self.resolution[key] = label

    def split(self, a: str, b: str) -> None:
        """Undo a merge: `a`'s and `b`'s platform sites resolve to two new resolved sites again."""
        for name in (a, b):
            label = self._label(name)
            for key in self.named[name]:
                self.resolution[key] = label

    def remove(self, name: str, *, platform: Platform | None = None) -> None:
        """The platform deletes the site (all its platform sites, or one platform's)."""
        for key in self._keys(name, platform):
            self._edit(key, exists=False)

    def restore(self, name: str, *, platform: Platform | None = None) -> None:
        """A removed platform site is upserted again."""
        for key in self._keys(name, platform):
            self._edit(key, exists=True)

    def withdraw_consent(self, company: str, *, platforms: Iterable[Platform] = ("sedex", "amfori")) -> None:
        for platform in platforms:
            self.consent[f"{platform}:{company}"] = False

    def grant_consent(self, company: str, *, platforms: Iterable[Platform] = ("sedex", "amfori")) -> None:
        for platform in platforms:
            self.consent[f"{platform}:{company}"] = True

    # --- audits ----------------------------------------------------------------------------------

    def audit(
        self,
        audit_name: str,
        site: str,
        *findings: FindingSpec,
        end: date = Q1_DAY,
        platform: Platform | None = None,
        voice: tuple[bool, bool, bool, bool] = (False, False, False, False),
    ) -> None:
        """An audit of `site` (its first platform's site unless `platform`) with these findings and these
        labour-relations flags (union, worker committee, collective agreement, grievance mechanism);
        the same `audit_name` again is a revision (a new version replacing the whole audit)."""
        key = self._keys(site, platform)[0]
        old = self.audits.get(audit_name)
        version = 1 if old is None else old.version + 1
        self.audits[audit_name] = _Audit(audit_name, key, end, tuple(findings), version, voice, self._tick())

    def withdraw_audit(self, audit_name: str) -> None:
        del self.audits[audit_name]

    def corrective_action(
        self,
        audit_name: str,
        finding: int,
        *,
        due: date,
        closed: date | None = None,
        status: shared.CorrectiveActionStatus | None = None,
    ) -> None:
        """The corrective action of finding number `finding` of an audit (a new version each call):
        closed on `closed` if given, else `status` (default OPEN)."""
        old = self.actions.get((audit_name, finding))
        psite = self.audits[audit_name].psite if old is None else old.psite
        if status is None:
            status = (
                shared.CorrectiveActionStatus.CLOSED
                if closed is not None
                else shared.CorrectiveActionStatus.OPEN
            )
        version = 1 if old is None else old.version + 1
        self.actions[(audit_name, finding)] = _Action(psite, status, due, closed, version, self._tick())

    # --- who takes part --------------------------------------------------------------------------

    def _participates(self, p: _PSite) -> bool:
        return p.exists and self.consent.get(p.company, True)

    def _groups(self) -> dict[str, list[_PSite]]:
        """Resolved label -> its participating platform sites (only labels with at least one)."""
        out: dict[str, list[_PSite]] = {}
        for key in sorted(self.psites):
            p = self.psites[key]
            if self._participates(p):
                out.setdefault(self.resolution[key], []).append(p)
        return out

    @staticmethod
    def _principal(ps: Sequence[_PSite]) -> _PSite:
        """The most recent site event: greatest event time, then platform name, then site id."""
        return min(ps, key=lambda p: (-p.updated_at_ms, p.platform, p.site_id))

    # --- rendering: normalize's state ------------------------------------------------------------

    def state(self) -> NormalizedState:
        """normalize's compacted topics as the aggregate service would hold them now."""
        state = NormalizedState()
        for key in sorted(self.psites):
            p = self.psites[key]
            if not p.exists:
                continue
            state.platform_sites[p.site_id] = hold(
                shared.PlatformSite(
                    site_id=p.site_id,
                    platform=p.platform,
                    company_id=p.company_id,
                    version=p.version,
                    updated_at_ms=p.updated_at_ms,
                    country=p.country,
                    sector=p.sector,
                    workforce_total=10,
                    workforce_band=WorkforceBand.B1_49,
                    members=[r.model() for r in p.members],
                    address_id=pid("addr", key),
                )
            )
        for company, granted in sorted(self.consent.items()):
            platform = company.split(":", 1)[0]
            state.consents[pid("company", company)] = hold(
                shared.Consent(
                    company_id=pid("company", company),
                    platform=platform,
                    version=1,
                    updated_at_ms=1,
                    granted=granted,
                )
            )
        for label, ps in self._groups().items():
            rid = pid("rsite", label)
            for p in ps:
                state.resolutions[p.site_id] = hold(
                    SiteResolution(platform_site_id=p.site_id, resolved_site_id=rid)
                )
            head = self._principal(ps)
            state.resolved_sites[rid] = hold(
                ResolvedSite(
                    resolved_site_id=rid,
                    country=head.country,
                    sector=head.sector,
                    workforce_band=WorkforceBand.B1_49,
                    principal_owner_id=head.company_id,
                    owner_ids=sorted({p.company_id for p in ps}),
                    members=_resolved_members([r.model() for p in ps for r in p.members]),
                    platform_site_ids=sorted(p.site_id for p in ps),
                    platforms=sorted({p.platform for p in ps}),
                )
            )
        for name in sorted(self.audits):
            a = self.audits[name]
            p = self.psites[a.psite]
            audit_id = pid("audit", name)
            state.audits[audit_id] = hold(
                shared.Audit(
                    audit_id=audit_id,
                    platform=p.platform,
                    site_id=p.site_id,
                    company_id=p.company_id,
                    version=a.version,
                    updated_at_ms=a.event_ms,
                    methodology="SMETA-7.0" if p.platform == "sedex" else "BSCI-2.0",
                    audit_type=shared.AuditType.FULL_PERIODIC,
                    announcement=shared.Announcement.ANNOUNCED,
                    audit_end=a.end,
                    auditor_days=2.0,
                    audit_firm="APSCA-F-00123",
                    audit_firm_name="Example Assurance Ltd",
                    workers_interviewed=10,
                    labour_relations=hand_built.voice(*a.voice),
                    findings=hand_built.findings(name, a.findings),
                )
            )
        for (name, index), action in sorted(self.actions.items()):
            p = self.psites[action.psite]
            finding_id = pid("finding", f"{name}/{index}")
            state.corrective_actions[finding_id] = hold(
                shared.CorrectiveAction(
                    finding_id=finding_id,
                    audit_id=pid("audit", name),
                    platform=p.platform,
                    site_id=p.site_id,
                    version=action.version,
                    updated_at_ms=action.event_ms,
                    status=action.status,
                    due_date=action.due,
                    closed_date=action.closed,
                )
            )
        return state

    # --- rendering: the truth, from the contract -------------------------------------------------

    def snapshot(self, at: str) -> Snapshot:
        """The contributing sites now, each with its owners, principal owner, member references and, per
        quarter, its highest severity per issue and its forced-labour indicators over its current audits.
        Computed from this model, following aggregates.md "Population", not from the engine."""
        groups = self._groups()
        label_of = {p.key: label for label, ps in groups.items() for p in ps}
        per_site: dict[str, dict[str, tuple[dict[str, str], set[str]]]] = {label: {} for label in groups}
        # aggregates.md `labour-relations`: the flags of the site's latest audit of the period, by end
        # date, then by event time.
        latest: dict[tuple[str, str], tuple[tuple[date, int], str]] = {}
        # aggregates.md `audit-quality`: every current audit, by its firm (here always the one firm,
        # announced, with 2 auditor-days for 10 workers: never below the minimum of 1.5)
        audit_codes: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for a in self.audits.values():
            label = label_of.get(a.psite)
            if label is None:
                continue  # its platform site does not take part (removed, no consent): the audit waits
            period = f"{a.end.year}-Q{(a.end.month - 1) // 3 + 1}"
            severity, indicators = per_site[label].setdefault(period, ({}, set()))
            when, bits = (a.end, a.event_ms), "".join("1" if flag else "0" for flag in a.voice)
            if (label, period) not in latest or when > latest[(label, period)][0]:
                latest[(label, period)] = (when, bits)
            code = "A" + ("0" if a.findings else "1") + f"0:{len(a.findings)}"
            audit_codes[(label, period)].append(("APSCA-F-00123", code))
            for f in a.findings:
                issue, sev = f[0].value, f[1]
                if issue not in severity or _RANK[sev] > _RANK[Severity(severity[issue])]:
                    severity[issue] = sev.value
                if len(f) == 3:
                    indicators.update(i.value for i in f[2])
        # remediation at the release time `at`: per (site, period), issue -> one token per finding with
        # a corrective action on a current audit (aggregates.md `remediation`; insider.PeriodFacts)
        today = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC).date()
        remedied: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for (name, index), action in self.actions.items():
            audit = self.audits.get(name)
            label = None if audit is None else label_of.get(audit.psite)
            if audit is None or label is None or index >= len(audit.findings):
                continue  # withdrawn, its site takes no part, or no such finding: counts nowhere
            closed = action.closed if action.status is shared.CorrectiveActionStatus.CLOSED else None
            if closed is not None:
                token = f"c{(closed - audit.end).days}{'+' if closed <= action.due else '-'}"
            else:
                token = "o!" if action.due < today else "o"
            period = f"{audit.end.year}-Q{(audit.end.month - 1) // 3 + 1}"
            remedied[(label, period)][audit.findings[index][0].value].append(token)
        sites = {}
        for label, ps in groups.items():
            head = self._principal(ps)
            sites[pid("rsite", label)] = SiteFacts(
                platform_sites=frozenset(p.site_id for p in ps),
                country=head.country,
                sector=head.sector.value,
                owners=frozenset(p.company_id for p in ps),
                principal=head.company_id,
                member_refs=frozenset(
                    (pid("member", r.member), None if r.lei is None else pid("member", f"lei:{r.lei}"))
                    for p in ps
                    for r in p.members
                ),
                periods={
                    period: PeriodFacts(
                        severity=dict(sev),
                        indicators=frozenset(ind),
                        voice=latest[(label, period)][1],
                        remediation={
                            issue: tuple(sorted(tokens))
                            for issue, tokens in remedied.get((label, period), {}).items()
                        },
                        audits=tuple(sorted(audit_codes[(label, period)])),
                    )
                    for period, (sev, ind) in per_site[label].items()
                },
            )
        return Snapshot(at=at, sites=sites)


def _resolved_members(refs: Sequence[shared.MemberRef]) -> list[ResolvedMember]:
    """References that share a member id or an LEI are one member, written once with its smallest
    member id and smallest LEI (schemas.shared.resolution.ResolvedMember)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for r in refs:
        find(r.member_id)
        if r.lei_id is not None:
            parent[find(r.lei_id)] = find(r.member_id)
    groups: dict[str, tuple[set[str], set[str]]] = {}
    for r in refs:
        ids, leis = groups.setdefault(find(r.member_id), (set(), set()))
        ids.add(r.member_id)
        if r.lei_id is not None:
            leis.add(r.lei_id)
    out = [
        ResolvedMember(member_id=min(ids), lei_id=min(leis) if leis else None)
        for ids, leis in groups.values()
    ]
    return sorted(out, key=lambda m: m.member_id)


@dataclass(slots=True)
class Releases:
    """Releases planned one after another from the release state the previous ones wrote (as the
    service does after a restart: `ReleaseLog.from_state`), hourly from the first release of 2026-Q1.
    Each release keeps its public records and the truth at its time, for the attacker."""

    params: DisclosureParams = field(default_factory=DisclosureParams)
    noise: NoiseParams = field(default_factory=NoiseParams)
    sampler: Sampler = discrete_gaussian
    at: datetime = FIRST_Q1_RELEASE
    state_records: dict[bytes, bytes] = field(default_factory=dict)
    history: list[Release] = field(default_factory=list)
    plans: list[ReleasePlan] = field(default_factory=list)

    def release(self, world: Crafted) -> list[Record]:
        """Plan the release at the current time, keep its state records (noisy draws first, as the
        service commits them), return its public records."""
        plan = plan_release(
            world.state(),
            ReleaseLog.from_state(self.state_records),
            self.params,
            self.at,
            noise=self.noise,
            sampler=self.sampler,
        )
        public: list[Record] = []
        for topic, key, value, headers in [*plan.draw_records, *plan.records]:
            if topic == RELEASE_STATE_TOPIC:
                self.state_records[key] = value
            else:
                public.append((topic, key, value, headers))
        at = format_release_time(self.at)
        self.history.append(Release(at=at, snapshot=world.snapshot(at), records=public))
        self.plans.append(plan)
        self.at += timedelta(hours=1)
        return public
