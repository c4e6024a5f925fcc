"""An independent, deliberately simple reference computation of two exchange tables.

The aggregate acceptance tests compare the production pipeline against this module, so it shares no
code with it: nothing from ``services``, ``schemas.platform`` or ``schemas.shared``. It reads the
simulator's messages directly, recomputes everything from scratch with dicts and loops, and uses
``schemas.taxonomy`` only as data (the crosswalk tables of taxonomy.md, which have their own tests).

What it implements (platform-events.md, taxonomy.md, aggregates.md):

- messages labelled ``invalid:*`` are skipped (rejecting them is ingest's job); everything else is
  parsed, and per entity only the event with the highest version counts (equal versions are the same
  event redelivered). Redeliveries and stale versions are handled by comparing versions, not labels;
- a platform site exists iff its latest site event is an upsert and its owner company consents
  (latest consent event of the company; no consent event = consenting);
- resolution: own osId, else the smallest osId among existing platform sites with the same address
  key, else the address key; country, sector and principal owner come from the most recent site event
  among the resolved site's existing platform sites;
- an audit counts iff its latest event is not a withdrawal and its platform site exists;
- ``issue-prevalence`` and ``forced-labour`` raw measures (before disclosure control), with the margins
  ``country x ALL``, ``ALL x sector`` and ``ALL x ALL``.

Public API: ``compute`` (everything at once, as a ``Reference``), and the shortcuts
``issue_prevalence``, ``forced_labour``, ``populations``, ``issue_populations``, ``sites``; helpers
``cell_key``, ``clean``, ``address_key``, ``period_of_day``, ``pct``, ``ISSUES``, ``INDICATORS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, NamedTuple

import pycountry
from anyascii import anyascii

from schemas.taxonomy import (
    AMFORI_FL_INDICATORS,
    BSCI_PERFORMANCE_AREAS,
    SEDEX_FL_TAGS,
    SMETA_CLAUSES,
    ZERO_TOLERANCE_CATEGORIES,
    ZERO_TOLERANCE_INDICATOR,
    ForcedLabourIndicator,
    Issue,
)
from simulator.feed import AMFORI_TOPIC, SEDEX_TOPIC, Feed
from simulator.message import FeedMessage

ALL: Final = "ALL"
ISSUES: Final[tuple[str, ...]] = tuple(i.value for i in Issue)
INDICATORS: Final[tuple[str, ...]] = tuple(i.value for i in ForcedLabourIndicator)
SEVERITY_RANK: Final[dict[str, int]] = {"minor": 1, "major": 2, "critical": 3}

# taxonomy.md "Sectors", written out again on purpose (not schemas.taxonomy's tables).
UNSPSC_PREFIXES: Final[dict[str, str]] = {
    "5310": "APPAREL_TEXTILES",
    "1116": "APPAREL_TEXTILES",
    "5311": "FOOTWEAR_LEATHER",
    "5312": "FOOTWEAR_LEATHER",
    "5313": "PERSONAL_CARE_CHEMICALS",
    "50": "FOOD_AGRICULTURE",
    "10": "FOOD_AGRICULTURE",
    "52": "ELECTRONICS",
    "43": "ELECTRONICS",
    "32": "ELECTRONICS",
    "56": "HOME_FURNITURE",
    "60": "TOYS_LEISURE",
    "49": "TOYS_LEISURE",
    "12": "PERSONAL_CARE_CHEMICALS",
    "47": "PERSONAL_CARE_CHEMICALS",
    "14": "PACKAGING_PAPER",
    "2412": "PACKAGING_PAPER",
}
GICS_PREFIXES: Final[dict[str, str]] = {
    "25203010": "APPAREL_TEXTILES",
    "25203030": "APPAREL_TEXTILES",
    "25203020": "FOOTWEAR_LEATHER",
    "302": "FOOD_AGRICULTURE",
    "25201010": "ELECTRONICS",
    "25201040": "ELECTRONICS",
    "452030": "ELECTRONICS",
    "25201020": "HOME_FURNITURE",
    "25201050": "HOME_FURNITURE",
    "25202010": "TOYS_LEISURE",
    "3030": "PERSONAL_CARE_CHEMICALS",
    "1510": "PERSONAL_CARE_CHEMICALS",
    "151030": "PACKAGING_PAPER",
    "15105020": "PACKAGING_PAPER",
}

SITE_UPSERTS: Final = frozenset({"SiteUpserted", "site.updated"})
SITE_REMOVALS: Final = frozenset({"SiteRemoved", "site.deleted"})
AUDIT_UPSERTS: Final = frozenset(
    {"AuditPublished", "AuditRevised", "monitoring.completed", "monitoring.updated"}
)
AUDIT_REMOVALS: Final = frozenset({"AuditWithdrawn", "monitoring.cancelled"})
CONSENTS: Final = frozenset({"ConsentChanged", "consent.updated"})
FINDING_EVENTS: Final = frozenset({"CorrectiveActionUpdated", "remediation.updated"})
TRAINING_EVENTS: Final = frozenset({"TrainingCompleted", "academy.completion"})


# --- small helpers -------------------------------------------------------------------------------------


def cell_key(**coords: str) -> str:
    """A cell key as aggregates.md writes it: compact JSON with sorted keys."""
    return json.dumps(coords, sort_keys=True, separators=(",", ":"))


def clean(text: str) -> str:
    """taxonomy.md cleaning: ASCII, lower case, every non-alphanumeric run to one space, trimmed."""
    ascii_lower = anyascii(text).lower()
    chars = [c if c.isascii() and c.isalnum() else " " for c in ascii_lower]
    return " ".join("".join(chars).split())


def address_key(name: str, street: str, city: str, country: str) -> str:
    return "|".join([clean(name), clean(street), clean(city), country])


def sector_of(code: str, prefixes: dict[str, str]) -> str:
    best = ""
    for prefix in prefixes:
        if code.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return prefixes[best] if best else "OTHER"


def period_of_day(day: date, granularity: str = "quarter") -> str:
    if granularity == "month":
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def pct(numerator: int, denominator: int) -> float:
    """100 x numerator / denominator, rounded half up to one decimal, in exact integer arithmetic."""
    if denominator == 0:
        return 0.0
    tenths = (2000 * numerator + denominator) // (2 * denominator)
    return tenths / 10


def _ms_of_rfc3339(text: str) -> int:
    dt = datetime.fromisoformat(text)
    return round(dt.timestamp() * 1000)


def _utc_day_of_ms(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


# --- one parsed event ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One platform event reduced to what the reference needs, in a platform-neutral shape."""

    platform: str  # "sedex" or "amfori"
    type: str
    version: int
    time_ms: int
    company: str  # raw companyRef / legalEntityAmforiId
    site: str | None  # raw siteRef / siteAmforiId
    body: dict[str, Any]  # payload / data

    def entity(self) -> tuple[str, ...] | None:
        """platform-events.md "Versions": which entity this event versions."""
        p, b = self.platform, self.body
        if self.type in SITE_UPSERTS or self.type in SITE_REMOVALS:
            return ("site", p, str(self.site))
        if self.type in AUDIT_UPSERTS or self.type in AUDIT_REMOVALS:
            return ("audit", p, b["auditRef"] if p == "sedex" else b["monitoringId"])
        if self.type in CONSENTS:
            return ("company", p, self.company)
        if self.type in FINDING_EVENTS:
            if p == "sedex":
                return ("finding", p, b["auditRef"], b["findingRef"])
            return ("finding", p, b["monitoringId"], b["findingId"])
        if self.type in TRAINING_EVENTS:
            return ("training", p, b["trainingRef"] if p == "sedex" else b["completionId"])
        return None


def parse(message: FeedMessage) -> Event | None:
    """The event of a message, or None for a message ingest rejects (or a topic that is not a platform's)."""
    if message.expect.startswith("invalid:"):
        return None
    obj = json.loads(message.value)
    if message.topic == SEDEX_TOPIC:
        return Event(
            platform="sedex",
            type=obj["eventType"],
            version=obj["entityVersion"],
            time_ms=_ms_of_rfc3339(obj["occurredAt"]),
            company=obj["companyRef"],
            site=obj.get("siteRef"),
            body=obj["payload"],
        )
    if message.topic == AMFORI_TOPIC:
        return Event(
            platform="amfori",
            type=obj["type"],
            version=obj["version"],
            time_ms=obj["timestamp"],
            company=obj["legalEntityAmforiId"],
            site=obj.get("siteAmforiId"),
            body=obj["data"],
        )
    return None


def latest_events(messages: Iterable[FeedMessage]) -> dict[tuple[str, ...], Event]:
    """Per entity, the applied event: the highest version; on a tie the first one read (a redelivery)."""
    latest: dict[tuple[str, ...], Event] = {}
    for message in messages:
        event = parse(message)
        if event is None:
            continue
        entity = event.entity()
        if entity is None:
            continue
        current = latest.get(entity)
        if current is None or event.version > current.version:
            latest[entity] = event
    return latest


# --- platform sites, resolution, site attributes ------------------------------------------------------


@dataclass(frozen=True)
class PlatformSite:
    platform: str
    ref: str
    owner: str  # "sedex:ZC…" / "amfori:050-…"
    os_id: str | None
    address_key: str
    country: str
    sector: str
    time_ms: int
    members: tuple[tuple[str, str | None], ...]  # ("sedex:ZC…" or "amfori:276-…", lei or None)


@dataclass(frozen=True)
class ResolvedSite:
    site_id: str  # the resolved identity: an osId or an address key
    country: str
    sector: str
    principal_owner: str
    owners: frozenset[str]
    members: frozenset[str]  # one id per member: "lei:<LEI>" when the reference has an LEI, else the ref
    platform_sites: frozenset[tuple[str, str]]  # (platform, raw site ref)


def _platform_site(event: Event) -> PlatformSite:
    b = event.body
    address = b["address"]
    if event.platform == "sedex":
        country = address["country"]
        name = b["siteName"]
        sector = sector_of(b["productCategory"]["unspsc"], UNSPSC_PREFIXES)
        members = tuple(("sedex:" + m["companyRef"], m.get("lei")) for m in b.get("linkedCustomers", []))
    else:
        found = pycountry.countries.get(numeric=address["country"]["numeric"])
        if found is None:
            raise ValueError(f"not an ISO 3166 numeric country: {address['country']['numeric']!r}")
        country = found.alpha_2
        name = b["name"]
        sector = sector_of(b["gicsSubIndustry"], GICS_PREFIXES)
        members = tuple(("amfori:" + m["amforiId"], m.get("lei")) for m in b.get("businessPartners", []))
    return PlatformSite(
        platform=event.platform,
        ref=str(event.site),
        owner=f"{event.platform}:{event.company}",
        os_id=b.get("osId"),
        address_key=address_key(name, address["street"], address["city"], country),
        country=country,
        sector=sector,
        time_ms=event.time_ms,
        members=members,
    )


def existing_sites(
    latest: dict[tuple[str, ...], Event], consent_default: bool = True
) -> dict[tuple[str, str], PlatformSite]:
    """(platform, raw site ref) -> the platform site, for sites that exist (upserted, owner consenting).

    A company that never sent a consent event consents iff ``consent_default``.
    """
    consents: dict[str, bool] = {}
    for entity, event in latest.items():
        if entity[0] != "company":
            continue
        granted = event.body["granted"] if event.platform == "sedex" else event.body["status"] == "GRANTED"
        consents[f"{event.platform}:{event.company}"] = bool(granted)
    out: dict[tuple[str, str], PlatformSite] = {}
    for entity, event in latest.items():
        if entity[0] != "site" or event.type not in SITE_UPSERTS:
            continue
        site = _platform_site(event)
        if not consents.get(site.owner, consent_default):
            continue
        out[(site.platform, site.ref)] = site
    return out


def resolve(existing: dict[tuple[str, str], PlatformSite]) -> dict[tuple[str, str], str]:
    """(platform, raw site ref) -> resolved site id, per taxonomy.md "One site on two platforms"."""
    os_ids_by_key: dict[str, list[str]] = {}
    for site in existing.values():
        if site.os_id:
            os_ids_by_key.setdefault(site.address_key, []).append(site.os_id)
    out: dict[tuple[str, str], str] = {}
    for ref, site in existing.items():
        if site.os_id:
            out[ref] = site.os_id
        elif site.address_key in os_ids_by_key:
            out[ref] = min(os_ids_by_key[site.address_key])
        else:
            out[ref] = site.address_key
    return out


def current_audits(
    latest: dict[tuple[str, ...], Event], resolution: dict[tuple[str, str], str]
) -> Iterator[tuple[tuple[str, ...], Event, str]]:
    """The audits that count, with their resolved site id: the latest event an upsert, the platform site
    existing (not removed, not withdrawn by consent, seen)."""
    for entity, event in latest.items():
        if entity[0] != "audit" or event.type not in AUDIT_UPSERTS:
            continue
        platform_site = (event.platform, str(event.site))
        if platform_site in resolution:
            yield entity, event, resolution[platform_site]


def resolved_sites(
    existing: dict[tuple[str, str], PlatformSite], resolution: dict[tuple[str, str], str]
) -> dict[str, ResolvedSite]:
    # Members: a reference that carries an LEI on any existing site is that LEI everywhere.
    lei_of: dict[str, str] = {}
    for site in existing.values():
        for member, lei in site.members:
            if lei:
                lei_of[member] = lei
    groups: dict[str, list[PlatformSite]] = {}
    for platform_site, site in existing.items():
        groups.setdefault(resolution[platform_site], []).append(site)
    out: dict[str, ResolvedSite] = {}
    for site_id, group in groups.items():
        # Most recent site event: latest time; tie -> platform name sorting first; then smaller raw ref.
        recent = min(group, key=lambda s: (-s.time_ms, s.platform, s.ref))
        members: set[str] = set()
        for site in group:
            for member, _lei in site.members:
                members.add("lei:" + lei_of[member] if member in lei_of else member)
        out[site_id] = ResolvedSite(
            site_id=site_id,
            country=recent.country,
            sector=recent.sector,
            principal_owner=recent.owner,
            owners=frozenset(s.owner for s in group),
            members=frozenset(members),
            platform_sites=frozenset((s.platform, s.ref) for s in group),
        )
    return out


# --- audits and findings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    issue: str
    severity: str  # "critical", "major", "minor"
    indicators: frozenset[str]


def audit_period(event: Event, granularity: str = "quarter") -> str:
    return period_of_day(audit_end_day(event), granularity)


LABOUR_FLAGS = (
    "sites_with_union",
    "sites_with_worker_committee",
    "sites_with_collective_agreement",
    "sites_with_grievance_mechanism",
)


def audit_end_day(event: Event) -> date:
    """Sedex `auditEnd` (a day), amfori `auditDate` (epoch ms, its UTC day)."""
    if event.platform == "sedex":
        return date.fromisoformat(event.body["auditEnd"])
    return _utc_day_of_ms(event.body["auditDate"])


def worker_voice(event: Event) -> tuple[bool, bool, bool, bool]:
    """taxonomy.md "Labour relations": union, worker committee (an appointed amfori representative is
    none), collective agreement, grievance mechanism."""
    if event.platform == "sedex":
        r = event.body["workerRepresentation"]
        return (r["tradeUnion"], r["workerCommittee"], r["collectiveAgreement"], r["grievanceMechanism"])
    v = event.body["workersVoice"]
    return (v["union"] == "PRESENT", v["workersRepresentative"] == "ELECTED", v["cba"], v["grievanceChannel"])


def audit_findings(event: Event) -> list[Finding]:
    """The findings of an audit event (Sedex observations and good examples are not findings)."""
    b = event.body
    out: list[Finding] = []
    if event.platform == "sedex":
        clauses = SMETA_CLAUSES[b["methodology"]["version"]]
        for f in b["findings"]:
            if f["type"] not in ("NonCompliance", "CollaborativeActionRequired"):
                continue
            out.append(
                Finding(
                    issue=clauses[f["clause"]].value,
                    severity=f["severity"].lower(),
                    indicators=frozenset(SEDEX_FL_TAGS[t].value for t in f.get("flTags", [])),
                )
            )
        return out
    for area in b["performanceAreas"]:
        issue = BSCI_PERFORMANCE_AREAS[area["pa"]].value
        for f in area["findings"]:
            out.append(
                Finding(
                    issue=issue,
                    severity="major" if f["crucial"] and f["answer"] == "NO" else "minor",
                    indicators=frozenset(AMFORI_FL_INDICATORS[t].value for t in f.get("indicators", [])),
                )
            )
    for z in b["zeroTolerance"]:
        extra = ZERO_TOLERANCE_INDICATOR.get(z["category"])
        out.append(
            Finding(
                issue=ZERO_TOLERANCE_CATEGORIES[z["category"]].value,
                severity="critical",
                indicators=frozenset({extra.value}) if extra is not None else frozenset(),
            )
        )
    return out


# --- the tables ----------------------------------------------------------------------------------------


@dataclass
class Reference:
    sites: dict[str, ResolvedSite]
    """Every contributing resolved site (at least one existing platform site), audited or not."""
    resolution: dict[tuple[str, str], str]
    """(platform, raw site ref) -> resolved site id, for existing platform sites."""
    populations: dict[str, set[str]]
    """forced-labour cell key (period x country x sector, with ALL margins) -> audited resolved sites.
    Every issue-prevalence cell has the population of the cell with the same coordinates minus issue."""
    issue_prevalence: dict[str, dict[str, Any]]
    forced_labour: dict[str, dict[str, Any]]
    labour_relations: dict[str, dict[str, Any]]
    severity: dict[tuple[str, str], dict[str, str]]
    """(period, resolved site) -> issue -> the site's highest severity on it in the period."""
    indicators: dict[tuple[str, str], set[str]]
    """(period, resolved site) -> forced-labour indicators found in the period."""

    def issue_populations(self) -> dict[str, set[str]]:
        """issue-prevalence cell key -> its population (the same for every issue)."""
        out: dict[str, set[str]] = {}
        for key, population in self.populations.items():
            coords = json.loads(key)
            for issue in ISSUES:
                out[cell_key(issue=issue, **coords)] = population
        return out


def _messages(feed: Feed | Iterable[FeedMessage]) -> Iterable[FeedMessage]:
    return feed.messages if isinstance(feed, Feed) else feed


class FeedState(NamedTuple):
    """What a feed leaves: the applied event per entity, the existing platform sites, their resolution,
    and the resolved sites."""

    latest: dict[tuple[str, ...], Event]
    existing: dict[tuple[str, str], PlatformSite]
    resolution: dict[tuple[str, str], str]
    sites: dict[str, ResolvedSite]


def feed_state(feed: Feed | Iterable[FeedMessage], consent_default: bool = True) -> FeedState:
    latest = latest_events(_messages(feed))
    existing = existing_sites(latest, consent_default)
    resolution = resolve(existing)
    return FeedState(latest, existing, resolution, resolved_sites(existing, resolution))


def compute(
    feed: Feed | Iterable[FeedMessage], granularity: str = "quarter", consent_default: bool = True
) -> Reference:
    """Everything, from scratch. ``granularity`` is "quarter" (default) or "month"; ``consent_default``
    is whether a company that never sent a consent event consents (platform-events.md "Consent")."""
    latest, _, resolution, sites = feed_state(feed, consent_default)

    # Per period and resolved site: audited, highest severity per issue, indicators.
    severity: dict[tuple[str, str], dict[str, str]] = {}
    indicators: dict[tuple[str, str], set[str]] = {}
    # (period, resolved site) -> ((end date, event time), the four flags) of its latest audit there
    voice: dict[tuple[str, str], tuple[tuple[date, int], tuple[bool, bool, bool, bool]]] = {}
    for _, event, site_id in current_audits(latest, resolution):
        cell = (audit_period(event, granularity), site_id)
        worst = severity.setdefault(cell, {})
        found = indicators.setdefault(cell, set())
        when, flags = (audit_end_day(event), event.time_ms), worker_voice(event)
        if cell not in voice or when > voice[cell][0]:
            voice[cell] = (when, flags)
        for f in audit_findings(event):
            if f.issue not in worst or SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst[f.issue]]:
                worst[f.issue] = f.severity
            found |= f.indicators

    populations: dict[str, set[str]] = {}
    for period, site_id in severity:
        site = sites[site_id]
        for country in (site.country, ALL):
            for sector in (site.sector, ALL):
                key = cell_key(country=country, period=period, sector=sector)
                populations.setdefault(key, set()).add(site_id)

    issue_table: dict[str, dict[str, Any]] = {}
    fl_table: dict[str, dict[str, Any]] = {}
    lr_table: dict[str, dict[str, Any]] = {}
    for key, population in populations.items():
        coords = json.loads(key)
        period = coords["period"]
        audited = len(population)
        for issue in ISSUES:
            by_severity = {"critical": 0, "major": 0, "minor": 0}
            for site_id in population:
                worst_issue = severity[(period, site_id)].get(issue)
                if worst_issue is not None:
                    by_severity[worst_issue] += 1
            with_issue = sum(by_severity.values())
            issue_table[cell_key(issue=issue, **coords)] = {
                "audited_sites": audited,
                "sites_with_issue": with_issue,
                "by_severity": by_severity,
                "rate_pct": pct(with_issue, audited),
            }
        by_indicator = dict.fromkeys(INDICATORS, 0)
        with_indicator = 0
        for site_id in population:
            found = indicators[(period, site_id)]
            if found:
                with_indicator += 1
            for code in found:
                by_indicator[code] += 1
        fl_table[key] = {
            "audited_sites": audited,
            "sites_with_indicator": with_indicator,
            "by_indicator": by_indicator,
        }
        lr_table[key] = {
            "audited_sites": audited,
            **{
                name: sum(1 for site_id in population if voice[(period, site_id)][1][i])
                for i, name in enumerate(LABOUR_FLAGS)
            },
        }

    return Reference(
        sites=sites,
        resolution=resolution,
        populations=populations,
        issue_prevalence=issue_table,
        forced_labour=fl_table,
        labour_relations=lr_table,
        severity=severity,
        indicators=indicators,
    )


def issue_prevalence(feed: Feed | Iterable[FeedMessage], granularity: str = "quarter") -> dict[str, Any]:
    """issue-prevalence cell key -> raw measures (before disclosure control)."""
    return compute(feed, granularity).issue_prevalence


def forced_labour(feed: Feed | Iterable[FeedMessage], granularity: str = "quarter") -> dict[str, Any]:
    """forced-labour cell key -> raw measures (before disclosure control)."""
    return compute(feed, granularity).forced_labour


def populations(feed: Feed | Iterable[FeedMessage], granularity: str = "quarter") -> dict[str, set[str]]:
    """period x country x sector cell key (forced-labour keys) -> its audited resolved sites."""
    return compute(feed, granularity).populations


def issue_populations(
    feed: Feed | Iterable[FeedMessage], granularity: str = "quarter"
) -> dict[str, set[str]]:
    """issue-prevalence cell key -> its audited resolved sites."""
    return compute(feed, granularity).issue_populations()


def sites(feed: Feed | Iterable[FeedMessage]) -> dict[str, ResolvedSite]:
    """Every contributing resolved site with its country, sector, principal owner, owners and members."""
    return compute(feed).sites
