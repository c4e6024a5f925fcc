"""Sedex's change events as the simulator writes them: the envelope, a site's state, a SMETA audit with
its non-compliances and corrective actions, a training completion and a consent change.

A deliberate mirror of amfori.py, name for name and in order: one life of a site in each platform's words.

generator.py decides when each event happens and calls the site's platform module (`PlatformEvents`);
what both platforms' audits draw alike is in audits.py. Every function draws from ``out.rng`` in the
order its statements run: reordering them changes the feed.
"""

from __future__ import annotations

import random
import time
from typing import Any, Final

from schemas import topics as schema_topics
from schemas.taxonomy import SMETA_CLAUSES
from simulator.audits import AuditPlan, auditor_days, put_right, remediation_opened, withdrawn, workers_story
from simulator.emitter import Emitter, iso_day, iso_time, midnight, ri
from simulator.members import Member
from simulator.message import DAY
from simulator.sites import PlatformSite
from simulator.vocabulary import (
    OBSERVATIONS,
    SEDEX_TAGS_BY_ISSUE,
    SEDEX_TRAINING_CHOICES,
    SMETA_POOLS,
    TEMPLATES,
)
from simulator.world import World

# The names `PlatformEvents` (generator.py) asks of a platform module, and documents.
TOPIC: Final = schema_topics.SEDEX_TOPIC
HEADERS: Final[tuple[tuple[str, bytes], ...]] = (
    ("content-type", b"application/json"),
    ("producer", b"sedex-platform"),
)
SITE: Final = "SiteUpserted"
SITE_REMOVED: Final = "SiteRemoved"
CONSENT: Final = "ConsentChanged"
TRAINING: Final = "TrainingCompleted"
MEMBERS: Final = "linkedCustomers"
OS_ID_BEFORE: Final = "productCategory"
TRAINING_CHOICES: Final = SEDEX_TRAINING_CHOICES
CAMPAIGN_WEIGHTS: Final[dict[str, float]] = {
    "HEALTH_AND_SAFETY": 8.0,
    "WAGES_AND_HOURS": 4.0,
    "FORCED_LABOUR_MODERN_SLAVERY": 3.0,
}


def envelope(
    out: Emitter,
    etype: str,
    t: int,
    version: int,
    site: PlatformSite,
    payload: dict[str, Any],
    company_level: bool = False,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "schemaVersion": 1,
        "eventId": out.uuid(),
        "eventType": etype,
        "occurredAt": iso_time(t),
        "entityVersion": version,
        "companyRef": site.company_ref,
    }
    if not company_level:
        d["siteRef"] = site.ref
    d["payload"] = payload
    return d


# -- sites --


def site_state(site: PlatformSite) -> dict[str, Any]:
    a = site.address
    w = site.physical.workforce
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
    p["linkedCustomers"] = [member(m) for m in site.members]
    return p


def members(world: World) -> list[Member]:
    return world.sedex_members


def member_ref(m: Member) -> str | None:
    return m.sedex_ref


def member(m: Member, holder: bool = False) -> dict[str, str]:
    """A linked customer; Sedex has no holder role (``holder`` is for amfori's RSP holder)."""
    assert m.sedex_ref is not None
    return {"companyRef": m.sedex_ref, "lei": m.lei} if m.lei else {"companyRef": m.sedex_ref}


def change_workforce(rng: random.Random, state: dict[str, Any]) -> None:
    w = state["workers"]
    total = max(5, round(w["total"] * rng.uniform(0.75, 1.3)))
    scale = total / w["total"]
    state["workers"] = {
        "total": total,
        "female": min(total, round(w["female"] * scale)),
        "migrant": min(total, round(w["migrant"] * scale)),
        "temporary": min(total, round(w["temporary"] * scale)),
    }


# -- audits --


def audit(out: Emitter, site: PlatformSite, plan: AuditPlan) -> int:
    rng = out.rng
    n = out.next_id()
    year = time.gmtime(plan.end).tm_year
    audit_ref = f"SMETA-{year}-{n:07d}"
    p70 = 0.25 if year < 2025 else 0.6 if year == 2025 else 0.85
    version = "7.0" if rng.random() < p70 else "6.1"
    pillars = 4 if rng.random() < 0.4 else 2
    firm_name, firm_id, unannounced, _, factor = plan.firm
    w = site.physical.workforce.total
    days = auditor_days(rng, site, plan)
    r = rng.random()
    announcement = (
        "Unannounced" if r < unannounced else "Semi-announced" if r < unannounced + 0.35 else "Announced"
    )
    lead_name, apsca = out.auditor(firm_id)
    clauses, weights = SMETA_POOLS[(version, pillars)]
    mean = (0.8 + 5 * site.physical.risk) * factor * (0.3 if plan.follow_up else 1.0)
    findings: list[dict[str, Any]] = []
    tag = f"{n:x}".upper()
    for i in range(min(14, int(rng.expovariate(1.0 / mean)))):
        findings.append(non_compliance(out, site, version, clauses, weights, f"NC-{tag}-{i + 1}"))
    for i in range(rng.choice((0, 0, 1, 1, 2))):
        kind = "Observation" if rng.random() < 0.7 else "GoodExample"
        findings.append(
            {
                "findingRef": f"OB-{tag}-{i + 1}",
                "type": kind,
                "clause": rng.choices(clauses, weights)[0],
                "flTags": [],
                "description": out.text(rng.choice(OBSERVATIONS), site),
            }
        )
    rep = workers_voice(rng, site)
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
    obj = envelope(out, "AuditPublished", t, 1, site, payload)
    out.emit(t, TOPIC, site.ref, obj, "AuditPublished")
    last, av = t, 1
    revisions = 1 if rng.random() < 0.12 else 0
    revisions += 1 if revisions and rng.random() < 0.15 else 0
    for _ in range(revisions):
        t = min(out.end - 1, t + ri(rng, DAY, 30 * DAY))
        payload = dict(payload, findings=[dict(f) for f in payload["findings"]])
        nc = [f for f in payload["findings"] if "severity" in f]
        r = rng.random()
        if nc and r < 0.4:
            f = rng.choice(nc)
            f["severity"] = {"Minor": "Major", "Major": "Critical", "Critical": "Major"}[f["severity"]]
        elif r < 0.7:
            payload["findings"].append(
                non_compliance(
                    out, site, version, clauses, weights, f"NC-{tag}-{len(payload['findings']) + 1}"
                )
            )
        else:
            payload["auditorDays"] = float(payload["auditorDays"] + 0.5)
        av += 1
        new = envelope(out, "AuditRevised", t, av, site, payload)
        out.emit(t, TOPIC, site.ref, new, "AuditRevised", previous=obj)
        obj, last = new, t
    until = out.end
    t_withdrawn = withdrawn(rng, last, out.end)
    if t_withdrawn is not None:
        av += 1
        out.emit(
            t_withdrawn,
            TOPIC,
            site.ref,
            envelope(out, "AuditWithdrawn", t_withdrawn, av, site, {"auditRef": audit_ref}),
            "AuditWithdrawn",
        )
        last = until = t_withdrawn
    for f in payload["findings"]:
        if "severity" in f:
            last = max(last, remediation(out, site, audit_ref, f, plan, until))
    return last


def non_compliance(
    out: Emitter,
    site: PlatformSite,
    version: str,
    clauses: tuple[str, ...],
    weights: tuple[float, ...],
    ref: str,
) -> dict[str, Any]:
    rng = out.rng
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
        "description": out.text(rng.choice(TEMPLATES[issue]), site),
    }


def remediation(
    out: Emitter, site: PlatformSite, audit_ref: str, finding: dict[str, Any], plan: AuditPlan, until: int
) -> int:
    rng = out.rng
    sev = finding["severity"]
    due = plan.end + {"Critical": 30, "Major": 60, "Minor": 90}[sev] * DAY
    verification = "OnSite" if sev == "Critical" or rng.random() < 0.2 else "Desktop"
    t, steps = remediation_opened(rng, plan, "Open", "ProgressMade")
    if rng.random() < 0.7:
        closed = put_right(rng, t, plan, due)
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
        obj = envelope(out, "CorrectiveActionUpdated", t, v, site, payload)
        out.emit(t, TOPIC, site.ref, obj, "CorrectiveActionUpdated", previous=prev)
        prev, last = obj, t
    return last


def workers_voice(rng: random.Random, site: PlatformSite) -> dict[str, bool]:
    union, committee, agreement = workers_story(site)
    return {
        "tradeUnion": union,
        "workerCommittee": committee,
        "collectiveAgreement": agreement,
        "grievanceMechanism": rng.random() < 0.8,
    }


# -- trainings and consent --


def training(rng: random.Random, n: int, t: int, participants: int, topic: str | None) -> dict[str, Any]:
    topic = topic or rng.choice(TRAINING_CHOICES)
    return {
        "trainingRef": f"TRN-{n:08d}",
        "courseCode": f"SDX-{topic[:3]}-{ri(rng, 100, 140)}",
        "topic": topic,
        "completedOn": iso_day(t - ri(rng, 0, 3 * DAY)),
        "participants": participants,
    }


def consent(granted: bool) -> dict[str, Any]:
    return {"scope": "AGGREGATE_EXCHANGE", "granted": granted}
