"""amfori's change events as the simulator writes them: the envelope, a site's state, a BSCI monitoring
with its findings and remediations, an Academy completion and a consent change.

A deliberate mirror of sedex.py, name for name and in order: one life of a site in each platform's words.

generator.py decides when each event happens and calls the site's platform module (`PlatformEvents`);
what both platforms' audits draw alike is in audits.py. Every function draws from ``out.rng`` in the
order its statements run: reordering them changes the feed.
"""

from __future__ import annotations

import random
from typing import Any, Final

from schemas import topics as schema_topics
from schemas.taxonomy import BSCI_PERFORMANCE_AREAS, ZERO_TOLERANCE_CATEGORIES
from simulator.audits import AuditPlan, auditor_days, put_right, remediation_opened, withdrawn, workers_story
from simulator.countries import COUNTRY_BY_ALPHA2
from simulator.emitter import Emitter, ri
from simulator.members import Member
from simulator.message import DAY
from simulator.sites import PlatformSite
from simulator.vocabulary import (
    AMFORI_INDICATORS_BY_PA,
    AMFORI_TRAINING_CHOICES,
    PA_WEIGHTS,
    TEMPLATES,
    ZT_CATEGORIES,
)
from simulator.world import World

# The names `PlatformEvents` (generator.py) asks of a platform module, and documents.
TOPIC: Final = schema_topics.AMFORI_TOPIC
HEADERS: Final[tuple[tuple[str, bytes], ...]] = (
    ("content-type", b"application/json"),
    ("producer", b"amfori-platform"),
)
SITE: Final = "site.updated"
SITE_REMOVED: Final = "site.deleted"
CONSENT: Final = "consent.updated"
TRAINING: Final = "academy.completion"
MEMBERS: Final = "businessPartners"
OS_ID_BEFORE: Final = "gicsSubIndustry"
TRAINING_CHOICES: Final = AMFORI_TRAINING_CHOICES
CAMPAIGN_WEIGHTS: Final[dict[str, float]] = {"ohs": 8.0, "fair-remuneration": 4.0, "forced-labour": 3.0}


def envelope(
    out: Emitter,
    etype: str,
    t: int,
    version: int,
    site: PlatformSite,
    data: dict[str, Any],
    company_level: bool = False,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "specVersion": "1",
        "id": out.uuid(),
        "type": etype,
        "timestamp": t * 1000 + out.rng.randrange(1000),
        "version": version,
        "legalEntityAmforiId": site.company_ref,
    }
    if not company_level:
        d["siteAmforiId"] = site.ref
    d["data"] = data
    return d


# -- sites --


def site_state(site: PlatformSite) -> dict[str, Any]:
    a = site.address
    w = site.physical.workforce
    country = COUNTRY_BY_ALPHA2[a.country]
    addr: dict[str, Any] = {"street": a.street, "city": a.city}
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
    d["businessPartners"] = [member(m, i == 0) for i, m in enumerate(site.members)]
    return d


def members(world: World) -> list[Member]:
    return world.amfori_members


def member_ref(m: Member) -> str | None:
    return m.amfori_id


def member(m: Member, holder: bool = False) -> dict[str, str]:
    """A business partner; the site's first member holds its RSP (responsible sourcing programme)."""
    assert m.amfori_id is not None
    d = {"amforiId": m.amfori_id, "role": "RSP_HOLDER" if holder else "PARTNER"}
    if m.lei:
        d["lei"] = m.lei
    return d


def change_workforce(rng: random.Random, state: dict[str, Any]) -> None:
    w = state["workforce"]
    state["workforce"] = {
        "total": max(5, round(w["total"] * rng.uniform(0.75, 1.3))),
        "femalePct": min(100.0, max(0.0, round(w["femalePct"] + rng.uniform(-5, 5), 1))),
        "migrantPct": min(100.0, max(0.0, round(w["migrantPct"] + rng.uniform(-2, 2), 1))),
    }


# -- audits --


def audit(out: Emitter, site: PlatformSite, plan: AuditPlan) -> int:
    rng = out.rng
    n = out.next_id()
    monitoring_id = f"MON-{n:07d}"
    firm_name, firm_id, unannounced, _, factor = plan.firm
    days = auditor_days(rng, site, plan)
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
                    "comment": out.text(rng.choice(TEMPLATES[BSCI_PERFORMANCE_AREAS[pa]]), site),
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
                "comment": out.text(rng.choice(TEMPLATES[issue]), site),
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
    voice = workers_voice(rng, site)
    data: dict[str, Any] = {
        "monitoringId": monitoring_id,
        "monitoringInitiative": "amfori BSCI",
        "methodologyVersion": "2.0",
        "monitoringType": "FOLLOW_UP_AUDIT" if plan.follow_up else "FULL_AUDIT",
        "announcementType": announcement,
        "auditDate": plan.end * 1000,
        "manDays": float(days),
        "auditingCompany": {"name": firm_name, "apscaFirmId": firm_id},
        "auditor": {"name": out.auditor(firm_id)[0]},
        "overallRating": overall,
        "performanceAreas": areas,
        "zeroTolerance": zt,
        "workersVoice": voice,
    }
    t = plan.published
    obj = envelope(out, "monitoring.completed", t, 1, site, data)
    out.emit(t, TOPIC, site.ref, obj, "monitoring.completed")
    last, mv = t, 1
    if rng.random() < 0.12:
        t = min(out.end - 1, t + ri(rng, DAY, 30 * DAY))
        data = dict(
            data,
            manDays=float(data["manDays"] + 0.5),
            overallRating="C" if data["overallRating"] in "AB" else data["overallRating"],
        )
        mv += 1
        new = envelope(out, "monitoring.updated", t, mv, site, data)
        out.emit(t, TOPIC, site.ref, new, "monitoring.updated", previous=obj)
        obj, last = new, t
    until = out.end
    cancelled = withdrawn(rng, last, out.end)
    if cancelled is not None:
        mv += 1
        out.emit(
            cancelled,
            TOPIC,
            site.ref,
            envelope(out, "monitoring.cancelled", cancelled, mv, site, {"monitoringId": monitoring_id}),
            "monitoring.cancelled",
        )
        last = until = cancelled
    for area in areas:
        for f in area["findings"]:
            if f["answer"] == "NO" or f["crucial"]:
                last = max(
                    last, remediation(out, site, monitoring_id, f["findingId"], plan, until, f["crucial"])
                )
    for z in zt:
        last = max(last, remediation(out, site, monitoring_id, z["findingId"], plan, until, True))
    return last


def remediation(
    out: Emitter,
    site: PlatformSite,
    monitoring_id: str,
    finding_id: str,
    plan: AuditPlan,
    until: int,
    urgent: bool,
) -> int:
    rng = out.rng
    deadline = plan.end + (30 if urgent else rng.choice((60, 90))) * DAY
    t, steps = remediation_opened(rng, plan, "OPEN", "IN_PROGRESS")
    r = rng.random()
    if r < 0.65:
        resolved = put_right(rng, t, plan, deadline)
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
        obj = envelope(out, "remediation.updated", t, v, site, data)
        out.emit(t, TOPIC, site.ref, obj, "remediation.updated", previous=prev)
        prev, last = obj, t
    return last


def workers_voice(rng: random.Random, site: PlatformSite) -> dict[str, Any]:
    union, committee, agreement = workers_story(site)
    return {
        "union": "PRESENT" if union else "ABSENT",
        "workersRepresentative": "ELECTED" if committee else rng.choice(("APPOINTED", "NONE")),
        "cba": agreement,
        "grievanceChannel": rng.random() < 0.8,
    }


# -- trainings and consent --


def training(rng: random.Random, n: int, t: int, participants: int, topic: str | None) -> dict[str, Any]:
    topic = topic or rng.choice(TRAINING_CHOICES)
    return {
        "completionId": f"AC-{n:08d}",
        "courseId": f"ACAD-{ri(rng, 1000, 1099)}",
        "topic": topic,
        "completedAt": (t - ri(rng, 0, 3 * DAY)) * 1000,
        "participants": participants,
    }


def consent(granted: bool) -> dict[str, Any]:
    return {"purpose": "aggregate-exchange", "status": "GRANTED" if granted else "REVOKED"}


def _pct(part: int, total: int) -> float:
    return round(100.0 * part / total, 1) if total else 0.0
