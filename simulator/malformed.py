"""Malformed platform messages, one or more per rejection class of platform-events.md.

Each one is a real event of the feed with exactly one thing broken, so that a consumer which rejects
it for any other reason, or accepts it, is visibly wrong: ``expect`` is ``invalid:<class>`` and the
class is the only one that applies. Every malformed message gets a fresh event id, so it can never be
mistaken for a redelivery of the event it was made from.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from schemas.taxonomy import SMETA_CLAUSES
from simulator.message import DAY, FeedMessage, encode, random_uuid
from simulator.world import World

REASON_CLASSES: Final[tuple[str, ...]] = (
    "not_utf8",
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "bad_pattern",
    "unknown_event_type",
    "unknown_enum",
    "unknown_schema_version",
    "bad_date",
    "out_of_range",
    "too_large",
    "key_mismatch",
    "unknown_code",
)
MAX_VALUE_BYTES: Final = 1024 * 1024

Obj = dict[str, Any]
# (rng, parsed event, key, world) -> (key, value)
Mutation = Callable[[random.Random, Obj, str, World], tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    reason: str
    base_kind: str
    mutate: Mutation


def _body(obj: Obj) -> Obj:
    body: Obj = obj["payload"] if "payload" in obj else obj["data"]
    return body


def _ok(obj: Obj, key: str) -> tuple[str, bytes]:
    return key, encode(obj)


def _latin1_name(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    # A producer that encoded as Latin-1: valid JSON text, invalid UTF-8 bytes.
    field = "siteName" if "payload" in obj else "name"
    _body(obj)[field] = "@@NAME@@"
    return key, encode(obj).replace(b"@@NAME@@", "Confecções São João Lda.".encode("latin-1"))


def _truncated(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    text = encode(obj).decode()
    return key, text[: len(text) // 2].encode()


def _python_repr(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    return key, repr(obj).encode()


def _array(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    return key, encode([obj])


def _double_encoded(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    return key, encode(encode(obj).decode())


def _drop(*path: str) -> Mutation:
    def mutate(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
        target = obj
        for p in path[:-1]:
            target = target[p]
        del target[path[-1]]
        return _ok(obj, key)

    return mutate


def _set(path: Sequence[str | int], value: Any) -> Mutation:
    def mutate(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
        target: Any = obj
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value(obj) if callable(value) else value
        return _ok(obj, key)

    return mutate


def _address_as_text(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    a = obj["payload"]["address"]
    obj["payload"]["address"] = f"{a['street']}, {a['city']}"
    return _ok(obj, key)


def _workforce_as_number(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    obj["data"]["workforce"] = obj["data"]["workforce"]["total"]
    return _ok(obj, key)


def _os_id(value: Callable[[str], str]) -> Mutation:
    def mutate(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
        body = _body(obj)
        country = body["address"]["country"]
        alpha2 = country if isinstance(country, str) else "BD"
        good = body.get("osId") or f"{alpha2}2023{rng.randint(100, 999)}K7Q2ZX"
        new: Obj = {}
        for k, v in body.items():  # keep the platform's field order
            if k in ("productCategory", "gicsSubIndustry"):
                new["osId"] = value(good)
            if k != "osId":
                new[k] = v
        obj["payload" if "payload" in obj else "data"] = new
        return _ok(obj, key)

    return mutate


def _bad_company_ref(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    obj["companyRef"] = "ZC-" + obj["companyRef"][2:]
    return _ok(obj, key)


def _audit_end(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    year = obj["payload"]["auditEnd"][:4]
    obj["payload"]["auditStart"] = f"{year}-02-27"
    obj["payload"]["auditEnd"] = f"{year}-02-30"
    return _ok(obj, key)


def _due_date(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    y, m, d = obj["payload"]["dueDate"].split("-")
    obj["payload"]["dueDate"] = f"{d}/{m}/{y}"
    return _ok(obj, key)


def _pa_14(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    obj["data"]["performanceAreas"][-1]["pa"] = 14
    return _ok(obj, key)


def _huge_sedex(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    # An auditor pasted a whole worker-interview transcript into one finding.
    placeholder = _smeta_finding("OB-PASTE-1", "Observation", "3", None, "")
    _a_smeta_finding(obj["payload"], placeholder)["description"] = _transcript(rng)
    return _ok(obj, key)


def _huge_amfori(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    placeholder = _bsci_finding("F-PASTE-1", "PA1.Q1", False, "PARTIALLY", "")
    _a_bsci_finding(obj["data"], 0, placeholder)["comment"] = _transcript(rng)
    return _ok(obj, key)


def _transcript(rng: random.Random) -> str:
    line = (
        "Interview {i}: worker said the line supervisor shouts when targets are missed; "
        "overtime is voluntary. "
    )
    parts: list[str] = []
    size = 0
    i = 0
    while size <= MAX_VALUE_BYTES + 4096:
        i += 1
        s = line.format(i=i)
        parts.append(s)
        size += len(s)
    return "".join(parts)


def _key_company(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    # A producer bug: the site event keyed by its owner, so it lands on the wrong partition.
    return obj.get("companyRef") or obj["legalEntityAmforiId"], encode(obj)


def _key_other_site(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    sites = world.sedex_sites if "payload" in obj else world.amfori_sites
    other = key
    while other == key and len(sites) > 1:
        other = rng.choice(sites).ref
    return (other if other != key else key + "0"), encode(obj)


def _key_consent_site(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    return f"{obj['legalEntityAmforiId']}-001", encode(obj)


def _clause_not_in_70(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    p = obj["payload"]
    p["methodology"]["version"] = "7.0"
    for f in p["findings"]:
        if f["clause"] not in SMETA_CLAUSES["7.0"]:
            f["clause"] = "3"
    placeholder = _smeta_finding(
        "NC-ENV-1", "NonCompliance", "3", "Minor", "Waste oil stored outside the bunded area."
    )
    _a_smeta_finding(p, placeholder)["clause"] = "10B2"  # SMETA 6.1's 2-pillar environment clause
    return _ok(obj, key)


def _unknown_fl_tag(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    placeholder = _smeta_finding(
        "NC-OT-1", "NonCompliance", "6", "Major", "Overtime above legal limits in peak season."
    )
    f = _a_smeta_finding(obj["payload"], placeholder, lambda f: "severity" in f)
    f["flTags"] = sorted(set(f["flTags"]) | {"FORCED_OT"})
    return _ok(obj, key)


def _unknown_indicator(rng: random.Random, obj: Obj, key: str, world: World) -> tuple[str, bytes]:
    placeholder = _bsci_finding("F-OT-1", "PA6.Q2", True, "NO", "Overtime above legal limits.")
    _a_bsci_finding(obj["data"], 5, placeholder, rating="D")["indicators"] = ["UNPAID_OVERTIME"]
    return _ok(obj, key)


def _smeta_finding(ref: str, kind: str, clause: str, severity: str | None, description: str) -> Obj:
    """A finding as Sedex writes it (an observation has no severity), in the platform's field order."""
    finding: Obj = {"findingRef": ref, "type": kind, "clause": clause}
    if severity is not None:
        finding["severity"] = severity
    finding["flTags"] = []
    finding["description"] = description
    return finding


def _bsci_finding(finding_id: str, question: str, crucial: bool, answer: str, comment: str) -> Obj:
    """A finding as amfori writes it, in the platform's field order."""
    return {
        "findingId": finding_id,
        "questionRef": question,
        "crucial": crucial,
        "answer": answer,
        "indicators": [],
        "comment": comment,
    }


def _a_smeta_finding(payload: Obj, placeholder: Obj, wanted: Callable[[Obj], bool] = lambda f: True) -> Obj:
    """The audit's first finding that is ``wanted``; ``placeholder``, added last, if it has none."""
    found: list[Obj] = [f for f in payload["findings"] if wanted(f)]
    if not found:
        payload["findings"].append(placeholder)
        found = [placeholder]
    return found[0]


def _a_bsci_finding(data: Obj, area: int, placeholder: Obj, rating: str | None = None) -> Obj:
    """The monitoring's first finding; ``placeholder``, added to performance area ``area`` (counted from
    0, which then gets ``rating`` if one is given), if it has none."""
    areas = data["performanceAreas"]
    with_findings = [a for a in areas if a["findings"]]
    if not with_findings:
        areas[area]["findings"].append(placeholder)
        if rating is not None:
            areas[area]["rating"] = rating
        with_findings = [areas[area]]
    finding: Obj = with_findings[0]["findings"][0]
    return finding


VARIANTS: Final[tuple[Variant, ...]] = (
    Variant("latin1_site_name", "not_utf8", "SiteUpserted", _latin1_name),
    Variant("latin1_site_name", "not_utf8", "site.updated", _latin1_name),
    Variant("truncated", "not_json", "AuditPublished", _truncated),
    Variant("python_repr", "not_json", "monitoring.completed", _python_repr),
    Variant("array", "not_object", "SiteUpserted", _array),
    Variant("double_encoded", "not_object", "remediation.updated", _double_encoded),
    Variant("no_occurred_at", "missing_field", "SiteUpserted", _drop("occurredAt")),
    Variant("no_monitoring_id", "missing_field", "monitoring.completed", _drop("data", "monitoringId")),
    Variant("address_as_text", "wrong_type", "SiteUpserted", _address_as_text),
    Variant("workforce_as_number", "wrong_type", "site.updated", _workforce_as_number),
    Variant("lower_case_os_id", "bad_pattern", "SiteUpserted", _os_id(str.lower)),
    Variant("dashed_os_id", "bad_pattern", "site.updated", _os_id(lambda o: f"{o[:2]}-{o[2:6]}-{o[6:]}")),
    Variant("company_ref", "bad_pattern", "AuditPublished", _bad_company_ref),
    Variant("site_merged", "unknown_event_type", "SiteUpserted", _set(("eventType",), "SiteMerged")),
    Variant(
        "monitoring_archived",
        "unknown_event_type",
        "monitoring.completed",
        _set(("type",), "monitoring.archived"),
    ),
    Variant("audit_type", "unknown_enum", "AuditPublished", _set(("payload", "auditType"), "Full Re-audit")),
    Variant("ca_status", "unknown_enum", "CorrectiveActionUpdated", _set(("payload", "status"), "Reopened")),
    Variant(
        "monitoring_type",
        "unknown_enum",
        "monitoring.completed",
        _set(("data", "monitoringType"), "DESKTOP_REVIEW"),
    ),
    Variant("schema_version_2", "unknown_schema_version", "AuditPublished", _set(("schemaVersion",), 2)),
    Variant("spec_version_2", "unknown_schema_version", "site.updated", _set(("specVersion",), "2")),
    Variant("february_30", "bad_date", "AuditPublished", _audit_end),
    Variant("day_first_due_date", "bad_date", "CorrectiveActionUpdated", _due_date),
    Variant(
        "negative_temporary", "out_of_range", "SiteUpserted", _set(("payload", "workers", "temporary"), -3)
    ),
    Variant("no_participants", "out_of_range", "TrainingCompleted", _set(("payload", "participants"), 0)),
    Variant("pa_14", "out_of_range", "monitoring.completed", _pa_14),
    Variant(
        "female_pct_112", "out_of_range", "site.updated", _set(("data", "workforce", "femalePct"), 112.5)
    ),
    Variant("pasted_transcript", "too_large", "AuditPublished", _huge_sedex),
    Variant("pasted_transcript", "too_large", "monitoring.completed", _huge_amfori),
    Variant("keyed_by_company", "key_mismatch", "SiteUpserted", _key_company),
    Variant("other_site", "key_mismatch", "AuditPublished", _key_other_site),
    Variant("keyed_by_company", "key_mismatch", "site.updated", _key_company),
    Variant("consent_keyed_by_site", "key_mismatch", "consent.updated", _key_consent_site),
    Variant("clause_10B2_on_7.0", "unknown_code", "AuditPublished", _clause_not_in_70),
    Variant("fl_tag_forced_ot", "unknown_code", "AuditPublished", _unknown_fl_tag),
    Variant(
        "country_999", "unknown_code", "site.updated", _set(("data", "address", "country", "numeric"), "999")
    ),
    Variant("indicator_unpaid_overtime", "unknown_code", "monitoring.completed", _unknown_indicator),
)


def make_malformed(rng: random.Random, variant: Variant, base: FeedMessage, world: World) -> FeedMessage:
    obj = json.loads(base.value)
    obj["eventId" if "eventId" in obj else "id"] = random_uuid(rng)
    assert base.key is not None
    key, value = variant.mutate(rng, obj, base.key.decode(), world)
    return FeedMessage(
        base.topic,
        key.encode(),
        value,
        list(base.headers),
        f"{base.kind}/{variant.name}",
        f"invalid:{variant.reason}",
    )


def generate_malformed(
    rng: random.Random,
    samples: Mapping[str, Sequence[tuple[int, FeedMessage]]],
    count: int,
    world: World,
) -> list[tuple[int, FeedMessage]]:
    """``count`` malformed messages (at least one of every variant whose base kind occurs in the feed),
    each timed shortly after the event it was made from."""
    usable = [v for v in VARIANTS if samples.get(v.base_kind)]
    # The (rare, 1 MiB) too_large ones only once each; the others share the rest evenly at random.
    repeatable = [v for v in usable if v.reason != "too_large"]
    chosen = (
        list(usable) + [rng.choice(repeatable) for _ in range(max(0, count - len(usable)))]
        if repeatable
        else []
    )
    out: list[tuple[int, FeedMessage]] = []
    for variant in chosen:
        t, base = rng.choice(samples[variant.base_kind])
        out.append((t + rng.randint(1, 3 * DAY), make_malformed(rng, variant, base, world)))
    return out
