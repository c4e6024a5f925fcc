"""The simulated change feed of both platforms, as an ordered list of Kafka messages.

Everything the exchange must survive is in the feed on purpose and labelled with what a correct
consumer does with it (``expect``): redeliveries, stale versions delivered late, audits before their
site, removals, consent withdrawals and re-grants, and (see malformed.py) one or more messages of every
rejection class. Tests and the demo compare the exchange's behaviour against these labels.

Training completions come in two kinds: occasional ones drawn with everything else, and
capacity-building campaigns (`_Generator.campaign`) drawn from a generator of their own, so that the
campaigns could be added without changing any other event of the feed.

Speed matters (the same generator is the load generator), so events are built as plain dicts and
encoded once with compact ``json.dumps``; pydantic never runs here. Time comes only from ``start`` and
the seed: the same arguments give a byte-identical feed.
"""

from __future__ import annotations

import calendar
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from schemas import topics as schema_topics
from schemas.taxonomy import (
    BSCI_PERFORMANCE_AREAS,
    SMETA_CLAUSES,
    ZERO_TOLERANCE_CATEGORIES,
    min_auditor_days,
)
from simulator.emitter import HOUR, AuditPlan, Emitter, iso_day, iso_time, midnight, ri
from simulator.malformed import generate_malformed
from simulator.message import DAY, FeedMessage
from simulator.vocabulary import (
    AMFORI_INDICATORS_BY_PA,
    AMFORI_TRAINING_CHOICES,
    AUDIT_FIRMS,
    OBSERVATIONS,
    PA_WEIGHTS,
    SEDEX_TAGS_BY_ISSUE,
    SEDEX_TRAINING_CHOICES,
    SMETA_POOLS,
    TEMPLATES,
    ZT_CATEGORIES,
)
from simulator.world import COUNTRY_BY_ALPHA2, Member, PlatformSite, World, build_world

SEDEX_TOPIC: Final = schema_topics.SEDEX_TOPIC
AMFORI_TOPIC: Final = schema_topics.AMFORI_TOPIC
SEDEX_HEADERS: Final[tuple[tuple[str, bytes], ...]] = (
    ("content-type", b"application/json"),
    ("producer", b"sedex-platform"),
)
AMFORI_HEADERS: Final[tuple[tuple[str, bytes], ...]] = (
    ("content-type", b"application/json"),
    ("producer", b"amfori-platform"),
)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1) if d.day > 28 else date(d.year + y, m + 1, d.day)


# --- the feed -----------------------------------------------------------------------------------------


_CONFIDENTIAL_KEYS: Final = frozenset(
    {
        "siteName",
        "localName",
        "street",
        "city",
        "postalCode",
        "zip",
        "description",
        "comment",
        "apscaNumber",
        "companyRef",
        "siteRef",
        "auditRef",
        "findingRef",
        "trainingRef",
        "legalEntityAmforiId",
        "siteAmforiId",
        "monitoringId",
        "findingId",
        "completionId",
        "amforiId",
        "lei",
        "osId",
        "eventId",
        "id",
    }
)
_PUBLIC_NAME_PARENTS: Final = frozenset({"auditCompany", "auditingCompany", "country"})


@dataclass
class Feed:
    seed: int
    sites_per_platform: int
    start: date
    months: int
    world: World
    messages: list[FeedMessage]
    counts: Counter[str] = field(default_factory=Counter)
    """Messages per ``expect``."""

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = Counter(m.expect for m in self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[FeedMessage]:
        return iter(self.messages)

    def counts_by_topic(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for m in self.messages:
            out.setdefault(m.topic, Counter())[m.expect] += 1
        return out

    def summary(self) -> dict[str, Any]:
        by_topic = self.counts_by_topic()
        invalid = Counter(m.expect for m in self.messages if m.expect.startswith("invalid:"))
        return {
            "seed": self.seed,
            "sites_per_platform": self.sites_per_platform,
            "start": self.start.isoformat(),
            "months": self.months,
            "messages": len(self.messages),
            "bytes": sum(len(m.value) for m in self.messages),
            "by_expect": dict(sorted(self._by_expect_class().items())),
            "by_topic": {t: dict(sorted(c.items())) for t, c in sorted(by_topic.items())},
            "invalid": dict(sorted(invalid.items())),
        }

    def _by_expect_class(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for expect, n in self.counts.items():
            out["invalid" if expect.startswith("invalid:") else expect] += n
        return out

    def confidential_strings(self) -> set[str]:
        """Every confidential value the feed carries, for privacy scans of what leaves the exchange.

        Read back from the messages themselves (not from the world) so that whatever the generator
        put on the wire, including in malformed messages that still parse, is covered.
        """
        out: set[str] = set()
        for m in self.messages:
            if m.key:
                out.add(m.key.decode("utf-8", "replace"))
            try:
                obj = json.loads(m.value)
            except ValueError:
                continue
            _collect(obj, "", out)
        out.discard("")
        return out


def _collect(obj: Any, key: str, out: set[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str):
                if k in _CONFIDENTIAL_KEYS or (k == "name" and key not in _PUBLIC_NAME_PARENTS):
                    out.add(v)
            else:
                _collect(v, k, out)
    elif isinstance(obj, list):
        for v in obj:
            _collect(v, key, out)


def generate_feed(
    seed: int,
    sites_per_platform: int,
    start: date = date(2025, 1, 1),
    months: int = 12,
    *,
    malformed: bool = True,
    malformed_rate: float = 0.003,
    redelivery_rate: float = 0.02,
    stale_rate: float = 0.05,
    removal_rate: float = 0.03,
    overlap: float = 0.25,
    world: World | None = None,
) -> Feed:
    """The feed of both platforms over ``months`` months from ``start``, in delivery order.

    ``stale_rate`` is per entity revision (the chance that an older version is re-sent late);
    ``malformed_rate`` is relative to the valid events, with at least one message of every variant.
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    world = world or build_world(seed, sites_per_platform, overlap=overlap)
    start_ts = calendar.timegm(start.timetuple())
    end_ts = calendar.timegm(_add_months(start, months).timetuple())
    gen = _Generator(world, seed, start_ts, end_ts, redelivery_rate, stale_rate, removal_rate)
    gen.run()
    if malformed:
        n = max(1, round(malformed_rate * gen.valid))
        for t, msg in generate_malformed(gen.rng, gen.samples, n, world):
            gen.push(t, msg)
    gen.recs.sort(key=lambda r: (r[0], r[1]))
    return Feed(seed, sites_per_platform, start, months, world, [r[2] for r in gen.recs])


# How much more often a campaign picks a topic than the others (weight 1).
CAMPAIGN_WEIGHTS: Final[dict[str, dict[str, float]]] = {
    "sedex": {"HEALTH_AND_SAFETY": 8.0, "WAGES_AND_HOURS": 4.0, "FORCED_LABOUR_MODERN_SLAVERY": 3.0},
    "amfori": {"ohs": 8.0, "fair-remuneration": 4.0, "forced-labour": 3.0},
}


class _Generator(Emitter):
    """Walks the world site by site; the global order comes from sorting by delivery time at the end."""

    def __init__(
        self, world: World, seed: int, start: int, end: int, redelivery: float, stale: float, removal: float
    ) -> None:
        headers = {SEDEX_TOPIC: SEDEX_HEADERS, AMFORI_TOPIC: AMFORI_HEADERS}
        super().__init__(world, seed, start, end, redelivery, stale, headers)
        self.seed = seed
        self.campaign_ids = 90_000_000  # training refs of the campaigns, apart from the main sequence
        self.removal = removal
        self.site_versions: dict[str, int] = {}

    # -- envelopes --

    def sedex(
        self,
        etype: str,
        t: int,
        version: int,
        site: PlatformSite,
        payload: dict[str, Any],
        company_level: bool = False,
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schemaVersion": 1,
            "eventId": self.uuid(),
            "eventType": etype,
            "occurredAt": iso_time(t),
            "entityVersion": version,
            "companyRef": site.company_ref,
        }
        if not company_level:
            d["siteRef"] = site.ref
        d["payload"] = payload
        return d

    def amfori(
        self,
        etype: str,
        t: int,
        version: int,
        site: PlatformSite,
        data: dict[str, Any],
        company_level: bool = False,
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "specVersion": "1",
            "id": self.uuid(),
            "type": etype,
            "timestamp": t * 1000 + self.rng.randrange(1000),
            "version": version,
            "legalEntityAmforiId": site.company_ref,
        }
        if not company_level:
            d["siteAmforiId"] = site.ref
        d["data"] = data
        return d

    # -- the walk --

    def run(self) -> None:
        for site in self.world.sedex_sites:
            self.site(site)
        for site in self.world.amfori_sites:
            self.site(site)
        seen: set[str] = set()
        for site in self.world.sedex_sites + self.world.amfori_sites:
            if site.company_ref not in seen:
                seen.add(site.company_ref)
                self.consent(site)

    def site(self, site: PlatformSite) -> None:
        rng, S, E = self.rng, self.start, self.end
        sedex = site.platform == "sedex"
        span = E - S
        early = rng.random() < 0.7
        t0 = S + ri(rng, 0, min(14 * DAY, span // 4)) if early else S + ri(rng, 0, max(1, span - span // 8))
        audits = self.plan_audits(t0, early)
        if audits and rng.random() < 0.04:
            t0 = min(audits[0].published + ri(rng, HOUR, 7 * DAY), E - 1)  # the audit arrives first
        last = t0
        last = max(last, self.site_events(site, t0))
        for audit in audits:
            last = max(last, self.audit(site, audit) if sedex else self.monitoring(site, audit))
        for t in self.plan_trainings(t0):
            last = max(last, self.training(site, t))
        self.campaign(site, max(t0, S))
        if rng.random() < self.removal:
            t = last + ri(rng, DAY, 30 * DAY)
            if t < E:
                self.removed(site, t)

    def plan_audits(self, t0: int, early: bool) -> list[AuditPlan]:
        rng, E = self.rng, self.end
        audits: list[AuditPlan] = []
        end = (self.start - 20 * DAY if early else t0) + ri(rng, 0, 365 * DAY)
        firm = rng.choice(AUDIT_FIRMS)
        while True:
            end = midnight(end)
            published = end + ri(rng, 2 * DAY, 21 * DAY)
            if published >= E:
                break
            if published <= t0 and not early:
                published = t0 + ri(rng, HOUR, 5 * DAY)
            if published < self.start:  # audited before the window, published as the feed begins
                published = self.start + ri(rng, HOUR, 3 * DAY)
            audits.append(AuditPlan("", end, published, False, firm))
            if rng.random() < 0.3:  # a follow-up; its findings are drawn lighter
                fu_end = midnight(end + ri(rng, 45 * DAY, 120 * DAY))
                fu_pub = fu_end + ri(rng, DAY, 14 * DAY)
                if fu_pub < E:
                    audits.append(AuditPlan("", fu_end, fu_pub, True, firm))
            end += ri(rng, 330 * DAY, 400 * DAY)
            if rng.random() < 0.35:
                firm = rng.choice(AUDIT_FIRMS)
        return audits

    def plan_trainings(self, t0: int) -> list[int]:
        rng = self.rng
        first = max(t0, self.start)
        out: list[int] = []
        years = max(1, round((self.end - self.start) / (365 * DAY)))
        for _ in range(years):
            r = rng.random()
            for _ in range(2 if r < 0.15 else 1 if r < 0.55 else 0):
                if self.end - first > DAY:
                    out.append(ri(rng, first + HOUR, self.end - 1))
        return sorted(out)

    # -- sites --

    def site_state(self, site: PlatformSite) -> dict[str, Any]:
        a = site.address
        w = site.physical.workforce
        if site.platform == "sedex":
            addr: dict[str, Any] = {"street": a.street, "city": a.city}
            if a.postal_code:
                addr["postalCode"] = a.postal_code
            addr["country"] = a.country
            p: dict[str, Any] = {"siteName": site.name, "address": addr}
            if site.os_id:
                p["osId"] = site.os_id
            p["productCategory"] = {"unspsc": site.product_code}
            p["workers"] = {
                "total": w.total,
                "female": w.female,
                "migrant": w.migrant,
                "temporary": w.temporary,
            }
            p["linkedCustomers"] = [_sedex_customer(m) for m in site.members]
            return p
        country = COUNTRY_BY_ALPHA2[a.country]
        addr = {"street": a.street, "city": a.city}
        if a.postal_code:
            addr["zip"] = a.postal_code
        addr["country"] = {"numeric": country.numeric, "name": country.name}
        d: dict[str, Any] = {"name": site.name, "localName": site.local_name, "address": addr}
        if site.os_id:
            d["osId"] = site.os_id
        d["gicsSubIndustry"] = site.product_code
        d["workforce"] = {
            "total": w.total,
            "femalePct": _pct(w.female, w.total),
            "migrantPct": _pct(w.migrant, w.total),
        }
        d["businessPartners"] = [_amfori_partner(m, i == 0) for i, m in enumerate(site.members)]
        return d

    def site_events(self, site: PlatformSite, t0: int) -> int:
        """Version 1 and the revisions of a site; returns the time of the last one."""
        rng = self.rng
        sedex = site.platform == "sedex"
        etype = "SiteUpserted" if sedex else "site.updated"
        make = self.sedex if sedex else self.amfori
        topic, key = (SEDEX_TOPIC, site.ref) if sedex else (AMFORI_TOPIC, site.ref)
        state = self.site_state(site)
        prev = make(etype, t0, 1, site, state)
        self.emit(t0, topic, key, prev, etype)
        n = rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]
        times = sorted(ri(rng, t0 + DAY, self.end - 1) for _ in range(n)) if self.end - t0 > 2 * DAY else []
        gained = False
        version, last = 1, t0
        for t in times:
            version += 1
            state = _copy_state(state)
            r = rng.random()
            if site.os_id_later and not gained:
                state = _with_os_id(state, site.os_id_later, sedex)
                gained = True
            elif r < 0.4:
                _change_workforce(rng, state, sedex)
            elif r < 0.65 and site.match is None:
                state["address"]["street"] += rng.choice(
                    (", Gate 2", ", Ground Floor", " (Building B)", ", Unit 3")
                )
            else:
                pool = self.world.sedex_members if sedex else self.world.amfori_members
                member = rng.choice(pool)
                listed = state["linkedCustomers" if sedex else "businessPartners"]
                ref = member.sedex_ref if sedex else member.amfori_id
                if all(x.get("companyRef", x.get("amforiId")) != ref for x in listed):
                    listed.append(_sedex_customer(member) if sedex else _amfori_partner(member, False))
                elif len(listed) > 1:
                    listed.pop()
                else:
                    _change_workforce(rng, state, sedex)
            obj = make(etype, t, version, site, state)
            self.emit(t, topic, key, obj, etype, previous=prev)
            prev, last = obj, t
        self.site_versions[site.ref] = version
        return last

    def removed(self, site: PlatformSite, t: int) -> None:
        version = self.site_versions.pop(site.ref) + 1
        if site.platform == "sedex":
            self.emit(
                t, SEDEX_TOPIC, site.ref, self.sedex("SiteRemoved", t, version, site, {}), "SiteRemoved"
            )
        else:
            self.emit(
                t, AMFORI_TOPIC, site.ref, self.amfori("site.deleted", t, version, site, {}), "site.deleted"
            )

    # -- Sedex audits --

    def audit(self, site: PlatformSite, plan: AuditPlan) -> int:
        rng = self.rng
        n = self.next_id()
        year = time.gmtime(plan.end).tm_year
        audit_ref = f"SMETA-{year}-{n:07d}"
        p70 = 0.25 if year < 2025 else 0.6 if year == 2025 else 0.85
        version = "7.0" if rng.random() < p70 else "6.1"
        pillars = 4 if rng.random() < 0.4 else 2
        firm_name, firm_id, unannounced, below, factor = plan.firm
        w = site.physical.workforce.total
        min_days = min_auditor_days(w)
        days = (
            min_days + rng.choice((0.0, 0.0, 0.5, 1.0))
            if rng.random() >= below
            else max(0.5, min_days - rng.choice((0.5, 1.0)))
        )
        if plan.follow_up:
            days = rng.choice((0.5, 1.0, 1.5))
        r = rng.random()
        announcement = (
            "Unannounced" if r < unannounced else "Semi-announced" if r < unannounced + 0.35 else "Announced"
        )
        lead_name, apsca = self.auditor(firm_id)
        clauses, weights = SMETA_POOLS[(version, pillars)]
        mean = (0.8 + 5 * site.physical.risk) * factor * (0.3 if plan.follow_up else 1.0)
        findings: list[dict[str, Any]] = []
        tag = f"{n:x}".upper()
        for i in range(min(14, int(rng.expovariate(1.0 / mean)))):
            findings.append(self.sedex_finding(site, version, clauses, weights, f"NC-{tag}-{i + 1}"))
        for i in range(rng.choice((0, 0, 1, 1, 2))):
            kind = "Observation" if rng.random() < 0.7 else "GoodExample"
            findings.append(
                {
                    "findingRef": f"OB-{tag}-{i + 1}",
                    "type": kind,
                    "clause": rng.choices(clauses, weights)[0],
                    "flTags": [],
                    "description": self.text(rng.choice(OBSERVATIONS), site),
                }
            )
        rep = _representation(rng, site)
        payload: dict[str, Any] = {
            "auditRef": audit_ref,
            "methodology": {"scheme": "SMETA", "version": version, "pillars": pillars},
            "auditType": rng.choice(("Full Follow-up", "Partial Follow-up", "Desktop Follow-up"))
            if plan.follow_up
            else ("Full Initial" if rng.random() < 0.3 else "Periodic"),
            "announcement": announcement,
            "auditStart": iso_day(plan.end - rng.choice((0, 0, DAY, 2 * DAY))),
            "auditEnd": iso_day(plan.end),
            "auditorDays": float(days),
            "auditCompany": {"name": firm_name, "apscaFirmId": firm_id},
            "leadAuditor": {"name": lead_name, "apscaNumber": apsca},
            "workersInterviewed": min(w, 4 + int(w**0.5 * rng.uniform(0.6, 1.4))),
            "workerRepresentation": rep,
            "findings": findings,
        }
        t = plan.published
        obj = self.sedex("AuditPublished", t, 1, site, payload)
        self.emit(t, SEDEX_TOPIC, site.ref, obj, "AuditPublished")
        last, av = t, 1
        revisions = 1 if rng.random() < 0.12 else 0
        revisions += 1 if revisions and rng.random() < 0.15 else 0
        for _ in range(revisions):
            t = min(self.end - 1, t + ri(rng, DAY, 30 * DAY))
            payload = dict(payload, findings=[dict(f) for f in payload["findings"]])
            nc = [f for f in payload["findings"] if "severity" in f]
            r = rng.random()
            if nc and r < 0.4:
                f = rng.choice(nc)
                f["severity"] = {"Minor": "Major", "Major": "Critical", "Critical": "Major"}[f["severity"]]
            elif r < 0.7:
                payload["findings"].append(
                    self.sedex_finding(
                        site, version, clauses, weights, f"NC-{tag}-{len(payload['findings']) + 1}"
                    )
                )
            else:
                payload["auditorDays"] = float(payload["auditorDays"] + 0.5)
            av += 1
            new = self.sedex("AuditRevised", t, av, site, payload)
            self.emit(t, SEDEX_TOPIC, site.ref, new, "AuditRevised", previous=obj)
            obj, last = new, t
        withdrawn = self.end
        if rng.random() < 0.03:
            withdrawn = last + ri(rng, DAY, 45 * DAY)
            if withdrawn < self.end:
                av += 1
                self.emit(
                    withdrawn,
                    SEDEX_TOPIC,
                    site.ref,
                    self.sedex("AuditWithdrawn", withdrawn, av, site, {"auditRef": audit_ref}),
                    "AuditWithdrawn",
                )
                last = withdrawn
        for f in payload["findings"]:
            if "severity" in f:
                last = max(last, self.corrective_actions(site, audit_ref, f, plan, min(withdrawn, self.end)))
        return last

    def sedex_finding(
        self, site: PlatformSite, version: str, clauses: tuple[str, ...], weights: tuple[float, ...], ref: str
    ) -> dict[str, Any]:
        rng = self.rng
        clause = rng.choices(clauses, weights)[0]
        issue = SMETA_CLAUSES[version][clause]
        risk = site.physical.risk
        r = rng.random()
        severity = "Critical" if r < 0.04 + 0.12 * risk else "Major" if r < 0.45 else "Minor"
        tags: list[str] = []
        pool = SEDEX_TAGS_BY_ISSUE.get(issue)
        if pool and rng.random() < 0.15 + 0.35 * risk:
            tags = sorted(set(rng.choices(pool, k=rng.choice((1, 1, 2)))))
        return {
            "findingRef": ref,
            "type": "NonCompliance" if rng.random() < 0.85 else "CollaborativeActionRequired",
            "clause": clause,
            "severity": severity,
            "flTags": tags,
            "description": self.text(rng.choice(TEMPLATES[issue]), site),
        }

    def corrective_actions(
        self, site: PlatformSite, audit_ref: str, finding: dict[str, Any], plan: AuditPlan, until: int
    ) -> int:
        rng = self.rng
        sev = finding["severity"]
        due = plan.end + {"Critical": 30, "Major": 60, "Minor": 90}[sev] * DAY
        verification = "OnSite" if sev == "Critical" or rng.random() < 0.2 else "Desktop"
        t = plan.published + ri(rng, HOUR, 7 * DAY)
        steps: list[tuple[int, str, int | None]] = [(t, "Open", None)]
        if rng.random() < 0.6:
            t += ri(rng, 5 * DAY, 50 * DAY)
            steps.append((t, "ProgressMade", None))
        if rng.random() < 0.7:
            closed = (
                ri(rng, max(t, plan.end + DAY), max(t, due) + DAY)
                if rng.random() < 0.7
                else ri(rng, max(t, due) + DAY, max(t, due) + 90 * DAY)
            )
            steps.append((closed + ri(rng, 0, 3 * DAY), "Closed", midnight(closed)))
        last, prev = plan.published, None
        for v, (t, status, closed_day) in enumerate(steps, start=1):
            if t >= until:
                break
            payload: dict[str, Any] = {
                "auditRef": audit_ref,
                "findingRef": finding["findingRef"],
                "status": status,
                "dueDate": iso_day(due),
            }
            if closed_day is not None:
                payload["closedDate"] = iso_day(min(closed_day, t))
            payload["verification"] = verification
            obj = self.sedex("CorrectiveActionUpdated", t, v, site, payload)
            self.emit(t, SEDEX_TOPIC, site.ref, obj, "CorrectiveActionUpdated", previous=prev)
            prev, last = obj, t
        return last

    # -- amfori monitorings --

    def monitoring(self, site: PlatformSite, plan: AuditPlan) -> int:
        rng = self.rng
        n = self.next_id()
        monitoring_id = f"MON-{n:07d}"
        firm_name, firm_id, unannounced, below, factor = plan.firm
        w = site.physical.workforce.total
        min_days = min_auditor_days(w)
        days = (
            min_days + rng.choice((0.0, 0.0, 0.5, 1.0))
            if rng.random() >= below
            else max(0.5, min_days - rng.choice((0.5, 1.0)))
        )
        if plan.follow_up:
            days = rng.choice((0.5, 1.0, 1.5))
        r = rng.random()
        announcement = (
            "UNANNOUNCED"
            if r < unannounced
            else "SEMI_ANNOUNCED"
            if r < unannounced + 0.45
            else "FULLY_ANNOUNCED"
        )
        risk = site.physical.risk
        scale = (0.12 + 0.35 * risk) * factor * (0.3 if plan.follow_up else 1.0)
        tag = f"{n:x}".upper()
        areas: list[dict[str, Any]] = []
        k = 0
        for pa in range(1, 14):
            found: list[dict[str, Any]] = []
            for _ in range(min(5, int(rng.expovariate(1.0 / (scale * PA_WEIGHTS[pa - 1]))))):
                k += 1
                crucial = rng.random() < 0.35
                answer = "NO" if rng.random() < 0.55 else "PARTIALLY"
                indicators: list[str] = []
                pool = AMFORI_INDICATORS_BY_PA.get(pa)
                if pool and rng.random() < 0.2 + 0.3 * risk:
                    indicators = sorted(set(rng.choices(pool, k=rng.choice((1, 1, 2)))))
                found.append(
                    {
                        "findingId": f"F-{tag}-{k}",
                        "questionRef": f"PA{pa}.Q{ri(rng, 1, 9)}",
                        "crucial": crucial,
                        "answer": answer,
                        "indicators": indicators,
                        "comment": self.text(rng.choice(TEMPLATES[BSCI_PERFORMANCE_AREAS[pa]]), site),
                    }
                )
            if not found:
                rating = "A" if rng.random() < 0.8 else "B"
            elif any(f["crucial"] and f["answer"] == "NO" for f in found):
                rating = "E" if len(found) > 2 else "D"
            else:
                rating = "C" if any(f["crucial"] for f in found) else "B"
            areas.append({"pa": pa, "rating": rating, "findings": found})
        zt: list[dict[str, Any]] = []
        if rng.random() < (0.015 + 0.05 * risk) * (0.3 if plan.follow_up else 1.0):
            category = rng.choice(ZT_CATEGORIES)
            issue = ZERO_TOLERANCE_CATEGORIES[category]
            zt.append(
                {
                    "findingId": f"ZT-{tag}-1",
                    "category": category,
                    "comment": self.text(rng.choice(TEMPLATES[issue]), site),
                }
            )
        ratings = [a["rating"] for a in areas]
        n_de = sum(1 for x in ratings if x in "DE")
        overall = (
            "E"
            if zt or ratings.count("E") > 1
            else "D"
            if n_de >= 3
            else "C"
            if n_de
            else "B"
            if "C" in ratings
            else "A"
        )
        voice = _workers_voice(rng, site)
        data: dict[str, Any] = {
            "monitoringId": monitoring_id,
            "monitoringInitiative": "amfori BSCI",
            "methodologyVersion": "2.0",
            "monitoringType": "FOLLOW_UP_AUDIT" if plan.follow_up else "FULL_AUDIT",
            "announcementType": announcement,
            "auditDate": plan.end * 1000,
            "manDays": float(days),
            "auditingCompany": {"name": firm_name, "apscaFirmId": firm_id},
            "auditor": {"name": self.auditor(firm_id)[0]},
            "overallRating": overall,
            "performanceAreas": areas,
            "zeroTolerance": zt,
            "workersVoice": voice,
        }
        t = plan.published
        obj = self.amfori("monitoring.completed", t, 1, site, data)
        self.emit(t, AMFORI_TOPIC, site.ref, obj, "monitoring.completed")
        last, mv = t, 1
        if rng.random() < 0.12:
            t = min(self.end - 1, t + ri(rng, DAY, 30 * DAY))
            data = dict(
                data,
                manDays=float(data["manDays"] + 0.5),
                overallRating="C" if data["overallRating"] in "AB" else data["overallRating"],
            )
            mv += 1
            new = self.amfori("monitoring.updated", t, mv, site, data)
            self.emit(t, AMFORI_TOPIC, site.ref, new, "monitoring.updated", previous=obj)
            obj, last = new, t
        until = self.end
        if rng.random() < 0.03:
            cancelled = last + ri(rng, DAY, 45 * DAY)
            if cancelled < self.end:
                mv += 1
                self.emit(
                    cancelled,
                    AMFORI_TOPIC,
                    site.ref,
                    self.amfori("monitoring.cancelled", cancelled, mv, site, {"monitoringId": monitoring_id}),
                    "monitoring.cancelled",
                )
                last = until = cancelled
        for area in areas:
            for f in area["findings"]:
                if f["answer"] == "NO" or f["crucial"]:
                    last = max(
                        last, self.remediation(site, monitoring_id, f["findingId"], plan, until, f["crucial"])
                    )
        for z in zt:
            last = max(last, self.remediation(site, monitoring_id, z["findingId"], plan, until, True))
        return last

    def remediation(
        self,
        site: PlatformSite,
        monitoring_id: str,
        finding_id: str,
        plan: AuditPlan,
        until: int,
        urgent: bool,
    ) -> int:
        rng = self.rng
        deadline = plan.end + (30 if urgent else rng.choice((60, 90))) * DAY
        t = plan.published + ri(rng, HOUR, 7 * DAY)
        steps: list[tuple[int, str, int | None]] = [(t, "OPEN", None)]
        if rng.random() < 0.6:
            t += ri(rng, 5 * DAY, 50 * DAY)
            steps.append((t, "IN_PROGRESS", None))
        r = rng.random()
        if r < 0.65:
            resolved = (
                ri(rng, max(t, plan.end + DAY), max(t, deadline) + DAY)
                if rng.random() < 0.7
                else ri(rng, max(t, deadline) + DAY, max(t, deadline) + 90 * DAY)
            )
            steps.append((resolved + ri(rng, 0, 2 * DAY), "RESOLVED", resolved))
        elif r < 0.75:
            steps.append((max(t, deadline) + ri(rng, DAY, 20 * DAY), "NOT_RESOLVED", None))
        last, prev = plan.published, None
        for v, (t, state, resolved_at) in enumerate(steps, start=1):
            if t >= until:
                break
            data: dict[str, Any] = {
                "monitoringId": monitoring_id,
                "findingId": finding_id,
                "state": state,
                "deadline": deadline * 1000,
            }
            if resolved_at is not None:
                data["resolvedAt"] = min(resolved_at, t) * 1000
            obj = self.amfori("remediation.updated", t, v, site, data)
            self.emit(t, AMFORI_TOPIC, site.ref, obj, "remediation.updated", previous=prev)
            prev, last = obj, t
        return last

    # -- trainings and consent --

    def campaign(self, site: PlatformSite, first: int) -> None:
        """Capacity-building campaigns: most quarters a site sends people to a course, on a few popular
        topics (health and safety, wages, forced labour) more than on the rest, so that the trained
        groups of `capacity-building` reach the disclosure thresholds at the demo's and a year's scale.

        Drawn from a generator of its own and numbered apart, with nothing else of the feed touched
        (the main generator, the id sequence, the samples of malformed variants, the valid count), so
        every other event of the feed is the same as without campaigns."""
        saved = (self.rng, self.counter, self.seen, self.samples, self.valid)
        self.rng = random.Random(f"{self.seed}:campaign:{site.ref}")
        self.counter, self.seen = self.campaign_ids, Counter()
        self.samples = {k: [] for k in self.SAMPLE_KINDS}
        try:
            rng, weights = self.rng, CAMPAIGN_WEIGHTS[site.platform]
            choices = SEDEX_TRAINING_CHOICES if site.platform == "sedex" else AMFORI_TRAINING_CHOICES
            engaged = rng.random()
            step = 91 * DAY
            for begin in range(first, self.end, step):
                if rng.random() < engaged and min(begin + step, self.end) - begin > DAY:
                    t = ri(rng, begin + HOUR, min(begin + step, self.end) - 1)
                    topic = rng.choices(choices, weights=[weights.get(c, 1.0) for c in choices])[0]
                    self.training(site, t, topic)
        finally:
            self.campaign_ids = self.counter
            self.rng, self.counter, self.seen, self.samples, self.valid = saved

    def training(self, site: PlatformSite, t: int, campaign_topic: str | None = None) -> int:
        rng = self.rng
        n = self.next_id()
        participants = ri(rng, 1, max(1, min(60, site.physical.workforce.total // 4)))
        make: Callable[..., dict[str, Any]]
        if site.platform == "sedex":
            topic = campaign_topic or rng.choice(SEDEX_TRAINING_CHOICES)
            payload: dict[str, Any] = {
                "trainingRef": f"TRN-{n:08d}",
                "courseCode": f"SDX-{topic[:3]}-{ri(rng, 100, 140)}",
                "topic": topic,
                "completedOn": iso_day(t - ri(rng, 0, 3 * DAY)),
                "participants": participants,
            }
            make, topic_name, etype = self.sedex, SEDEX_TOPIC, "TrainingCompleted"
        else:
            topic = campaign_topic or rng.choice(AMFORI_TRAINING_CHOICES)
            payload = {
                "completionId": f"AC-{n:08d}",
                "courseId": f"ACAD-{ri(rng, 1000, 1099)}",
                "topic": topic,
                "completedAt": (t - ri(rng, 0, 3 * DAY)) * 1000,
                "participants": participants,
            }
            make, topic_name, etype = self.amfori, AMFORI_TOPIC, "academy.completion"
        obj = make(etype, t, 1, site, payload)
        self.emit(t, topic_name, site.ref, obj, etype)
        if rng.random() < 0.05 and self.end - t > 2 * DAY:  # participants corrected
            t2 = ri(rng, t + DAY, self.end - 1)
            new = make(etype, t2, 2, site, dict(payload, participants=participants + ri(rng, 1, 10)))
            self.emit(t2, topic_name, site.ref, new, etype, previous=obj)
            t = t2
        return t

    def consent(self, site: PlatformSite) -> None:
        """A few companies say yes explicitly, a few withdraw, and half of those come back."""
        rng, S, E = self.rng, self.start, self.end
        sedex = site.platform == "sedex"
        times: list[tuple[int, bool]] = []
        if rng.random() < 0.05:
            times.append((S + ri(rng, 0, (E - S) // 3), True))
        if rng.random() < 0.06:
            off = ri(rng, max(S, times[-1][0] + DAY) if times else S, E - 2)
            times.append((off, False))
            if rng.random() < 0.5 and E - off > 2 * DAY:
                times.append((ri(rng, off + DAY, E - 1), True))
        prev = None
        for v, (t, granted) in enumerate(times, start=1):
            if sedex:
                obj = self.sedex(
                    "ConsentChanged",
                    t,
                    v,
                    site,
                    {"scope": "AGGREGATE_EXCHANGE", "granted": granted},
                    company_level=True,
                )
                self.emit(t, SEDEX_TOPIC, site.company_ref, obj, "ConsentChanged", previous=prev)
            else:
                obj = self.amfori(
                    "consent.updated",
                    t,
                    v,
                    site,
                    {"purpose": "aggregate-exchange", "status": "GRANTED" if granted else "REVOKED"},
                    company_level=True,
                )
                self.emit(t, AMFORI_TOPIC, site.company_ref, obj, "consent.updated", previous=prev)
            prev = obj


def _sedex_customer(m: Member) -> dict[str, str]:
    assert m.sedex_ref is not None
    return {"companyRef": m.sedex_ref, "lei": m.lei} if m.lei else {"companyRef": m.sedex_ref}


def _amfori_partner(m: Member, holder: bool) -> dict[str, str]:
    assert m.amfori_id is not None
    d = {"amforiId": m.amfori_id, "role": "RSP_HOLDER" if holder else "PARTNER"}
    if m.lei:
        d["lei"] = m.lei
    return d


def _pct(part: int, total: int) -> float:
    return round(100.0 * part / total, 1) if total else 0.0


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (dict(v) if isinstance(v, dict) else [dict(x) for x in v] if isinstance(v, list) else v)
        for k, v in state.items()
    }


def _with_os_id(state: dict[str, Any], os_id: str, sedex: bool) -> dict[str, Any]:
    """Put osId where the platform itself puts it, so a revision looks like the platform's own output."""
    before = "productCategory" if sedex else "gicsSubIndustry"
    out: dict[str, Any] = {}
    for k, v in state.items():
        if k == before:
            out["osId"] = os_id
        if k != "osId":
            out[k] = v
    return out


def _change_workforce(rng: random.Random, state: dict[str, Any], sedex: bool) -> None:
    if sedex:
        w = state["workers"]
        total = max(5, round(w["total"] * rng.uniform(0.75, 1.3)))
        scale = total / w["total"]
        state["workers"] = {
            "total": total,
            "female": min(total, round(w["female"] * scale)),
            "migrant": min(total, round(w["migrant"] * scale)),
            "temporary": min(total, round(w["temporary"] * scale)),
        }
    else:
        w = state["workforce"]
        state["workforce"] = {
            "total": max(5, round(w["total"] * rng.uniform(0.75, 1.3))),
            "femalePct": min(100.0, max(0.0, round(w["femalePct"] + rng.uniform(-5, 5), 1))),
            "migrantPct": min(100.0, max(0.0, round(w["migrantPct"] + rng.uniform(-2, 2), 1))),
        }


def _representation(rng: random.Random, site: PlatformSite) -> dict[str, bool]:
    # Drawn from a per-site stream so that every audit of a site tells roughly the same story.
    r = random.Random(site.physical.index * 7 + 1)
    union = r.random() < 0.25
    return {
        "tradeUnion": union,
        "workerCommittee": r.random() < 0.7,
        "collectiveAgreement": union and r.random() < 0.6,
        "grievanceMechanism": rng.random() < 0.8,
    }


def _workers_voice(rng: random.Random, site: PlatformSite) -> dict[str, Any]:
    r = random.Random(site.physical.index * 7 + 1)
    union = r.random() < 0.25
    committee = r.random() < 0.7
    return {
        "union": "PRESENT" if union else "ABSENT",
        "workersRepresentative": "ELECTED" if committee else rng.choice(("APPOINTED", "NONE")),
        "cba": union and r.random() < 0.6,
        "grievanceChannel": rng.random() < 0.8,
    }
