"""The simulated feed keeps its promises: deterministic, every case present, and every label true.

The labels (``expect``) are what later tests of ingest and the aggregates are judged against, so they
are checked here against the strict platform models and against the version rules of the contract.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.platform import AMFORI_EVENT, AMFORI_EVENT_TYPES, SEDEX_EVENT, SEDEX_EVENT_TYPES
from schemas.taxonomy import SMETA_CLAUSES
from simulator import REASON_CLASSES, SEDEX_TOPIC, Feed, FeedMessage, generate_feed
from simulator.spelling import fold_ascii
from simulator.world import build_world

_to_ascii: Callable[[str], str]
try:
    from anyascii import anyascii as _to_ascii
except ImportError:  # pragma: no cover - the fallback folds the same Latin accents
    _to_ascii = fold_ascii

START = date(2025, 1, 1)
ONE_MIB = 1024 * 1024


@pytest.fixture(scope="module")
def feed() -> Feed:
    return generate_feed(7, 120, START, 12)


def _adapter(m: FeedMessage) -> Any:
    return SEDEX_EVENT if m.topic == SEDEX_TOPIC else AMFORI_EVENT


def _accepted(feed: Feed) -> list[tuple[FeedMessage, dict[str, Any]]]:
    return [(m, json.loads(m.value)) for m in feed.messages if not m.expect.startswith("invalid:")]


def _entity(obj: dict[str, Any]) -> tuple[str, ...]:
    """The versioned entity of an event (platform-events.md, Versions)."""
    if "eventType" in obj:
        t, p, company = obj["eventType"], obj["payload"], obj["companyRef"]
        if t in ("SiteUpserted", "SiteRemoved"):
            return ("sedex-site", obj["siteRef"])
        if t in ("AuditPublished", "AuditRevised", "AuditWithdrawn"):
            return ("sedex-audit", p["auditRef"])
        if t == "CorrectiveActionUpdated":
            return ("sedex-finding", p["auditRef"], p["findingRef"])
        if t == "ConsentChanged":
            return ("sedex-company", company)
        return ("sedex-training", p["trainingRef"])
    t, d = obj["type"], obj["data"]
    if t.startswith("site."):
        return ("amfori-site", obj["siteAmforiId"])
    if t.startswith("monitoring."):
        return ("amfori-monitoring", d["monitoringId"])
    if t == "remediation.updated":
        return ("amfori-finding", d["monitoringId"], d["findingId"])
    if t == "consent.updated":
        return ("amfori-company", obj["legalEntityAmforiId"])
    return ("amfori-training", d["completionId"])


def _version(obj: dict[str, Any]) -> int:
    return int(obj.get("entityVersion") or obj["version"])


def _without_id(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("eventId", "id")}


def _event_second(obj: dict[str, Any]) -> int:
    if "occurredAt" in obj:
        return int(datetime.fromisoformat(obj["occurredAt"]).timestamp())
    return int(obj["timestamp"]) // 1000


def _address_key(name: str, street: str, city: str, country: str) -> str:
    def clean(text: str) -> str:
        text = _to_ascii(text).lower()
        return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())

    return "|".join((clean(name), clean(street), clean(city), country))


# --- determinism --------------------------------------------------------------------------------------


def test_same_seed_gives_a_byte_identical_feed() -> None:
    a = generate_feed(11, 40, START, 6)
    b = generate_feed(11, 40, START, 6)
    assert a.messages == b.messages
    assert b"".join(m.value for m in a.messages) == b"".join(m.value for m in b.messages)


def test_different_seed_gives_a_different_feed() -> None:
    a = generate_feed(11, 40, START, 6)
    b = generate_feed(12, 40, START, 6)
    assert [m.value for m in a.messages] != [m.value for m in b.messages]


def test_sizes_are_parameters() -> None:
    world = build_world(3, 57)
    assert len(world.sedex_sites) == len(world.amfori_sites) == 57
    short = generate_feed(3, 57, START, 3, world=world)
    long = generate_feed(3, 57, START, 24, world=world)
    assert len(long) > len(short)


# --- the mix ------------------------------------------------------------------------------------------


def test_every_expect_category_is_present(feed: Feed) -> None:
    expects = set(feed.counts)
    assert {"valid", "redelivery", "stale"} <= expects
    assert {f"invalid:{r}" for r in REASON_CLASSES} <= expects
    assert sum(feed.counts.values()) == len(feed)
    assert feed.counts["valid"] > 20 * feed.counts["redelivery"] / 2  # redeliveries stay a small fraction


def test_malformed_can_be_switched_off() -> None:
    clean = generate_feed(7, 60, START, 6, malformed=False)
    assert not [m for m in clean.messages if m.expect.startswith("invalid:")]


def test_every_event_type_appears(feed: Feed) -> None:
    kinds = {m.kind for m in feed.messages if m.expect == "valid"}
    assert kinds >= SEDEX_EVENT_TYPES | AMFORI_EVENT_TYPES, "every event type of the contract"


def test_content_covers_both_methodologies_and_the_hard_cases(feed: Feed) -> None:
    smeta: Counter[tuple[str, int]] = Counter()
    clauses: dict[str, set[str]] = defaultdict(set)
    fl_tags = indicators = zero_tolerance = 0
    consent: dict[str, list[bool]] = defaultdict(list)
    os_id_gained = 0
    first_os: dict[str, str | None] = {}
    for m, obj in _accepted(feed):
        if m.expect != "valid":
            continue
        t = obj.get("eventType") or obj["type"]
        body = obj.get("payload") or obj.get("data") or {}
        if t == "AuditPublished":
            meth = body["methodology"]
            smeta[(meth["version"], meth["pillars"])] += 1
            for f in body["findings"]:
                clauses[meth["version"]].add(f["clause"])
                fl_tags += bool(f["flTags"])
        elif t == "monitoring.completed":
            indicators += sum(
                bool(f["indicators"]) for pa in body["performanceAreas"] for f in pa["findings"]
            )
            zero_tolerance += bool(body["zeroTolerance"])
        elif t == "ConsentChanged":
            consent[obj["companyRef"]].append(body["granted"])
        elif t == "consent.updated":
            consent[obj["legalEntityAmforiId"]].append(body["status"] == "GRANTED")
        elif t in ("SiteUpserted", "site.updated"):
            site = obj.get("siteRef") or obj["siteAmforiId"]
            if site not in first_os:
                first_os[site] = body.get("osId")
            elif first_os[site] is None and body.get("osId"):
                os_id_gained += 1
                first_os[site] = body["osId"]
    assert set(smeta) == {("6.1", 2), ("6.1", 4), ("7.0", 2), ("7.0", 4)}
    assert clauses["6.1"] <= set(SMETA_CLAUSES["6.1"]) and "0.A" in clauses["6.1"]
    assert clauses["7.0"] <= set(SMETA_CLAUSES["7.0"]) and "1A" in clauses["7.0"]
    assert fl_tags and indicators and zero_tolerance
    assert any(states[-1] is False for states in consent.values()), "a withdrawal that stays"
    assert any(False in s and s[-1] is True for s in consent.values()), "a withdrawal and a re-grant"
    assert os_id_gained


def test_some_audits_arrive_before_their_site(feed: Feed) -> None:
    seen_sites: set[str] = set()
    early = 0
    for _m, obj in _accepted(feed):
        t = obj.get("eventType") or obj["type"]
        site = str(obj.get("siteRef") or obj.get("siteAmforiId"))
        if t in ("SiteUpserted", "site.updated"):
            seen_sites.add(site)
        elif t in ("AuditPublished", "monitoring.completed") and site not in seen_sites:
            early += 1
    assert early > 0


# --- overlap between platforms --------------------------------------------------------------------------


def test_sites_on_both_platforms_match_by_os_id_and_by_address(feed: Feed) -> None:
    sedex: dict[str, dict[str, Any]] = {}
    amfori: dict[str, dict[str, Any]] = {}
    for _m, obj in _accepted(feed):
        if obj.get("eventType") == "SiteUpserted":
            p = obj["payload"]
            a = p["address"]
            sedex[obj["siteRef"]] = {
                "os": p.get("osId"),
                "key": _address_key(p["siteName"], a["street"], a["city"], a["country"]),
            }
        elif obj.get("type") == "site.updated":
            d = obj["data"]
            a = d["address"]
            alpha2 = {
                "050": "BD",
                "156": "CN",
                "356": "IN",
                "704": "VN",
                "792": "TR",
                "586": "PK",
                "116": "KH",
                "360": "ID",
                "484": "MX",
                "076": "BR",
                "380": "IT",
                "620": "PT",
                "504": "MA",
                "231": "ET",
                "144": "LK",
            }[a["country"]["numeric"]]
            amfori[obj["siteAmforiId"]] = {
                "os": d.get("osId"),
                "key": _address_key(d["name"], a["street"], a["city"], alpha2),
            }
    shared_os = {s["os"] for s in sedex.values() if s["os"]} & {s["os"] for s in amfori.values() if s["os"]}
    no_os_keys = {s["key"] for s in sedex.values() if not s["os"]} & {
        s["key"] for s in amfori.values() if not s["os"]
    }
    assert len(shared_os) >= 5
    assert len(no_os_keys) >= 5
    # ...and the address pairs really are spelt differently on the wire.
    raw = {
        (s.name, s.twin.name) for s in feed.world.sedex_sites if s.twin is not None and s.match == "address"
    }
    assert any(a != b for a, b in raw)
    total = len(feed.world.sedex_sites)
    assert 0.15 * total <= len(feed.world.overlaps) <= 0.35 * total


def test_names_and_addresses_carry_diacritics_and_punctuation(feed: Feed) -> None:
    names = [s.name for s in feed.world.sedex_sites + feed.world.amfori_sites]
    assert any(not n.isascii() for n in names)
    assert any("." in n or "-" in n or "," in n for n in names)
    assert any(not s.address.street.isascii() for s in feed.world.sedex_sites)


# --- labels are true ------------------------------------------------------------------------------------


def test_accepted_messages_parse_and_are_keyed_per_spec(feed: Feed) -> None:
    for m in feed.messages:
        if m.expect.startswith("invalid:"):
            continue
        event = _adapter(m).validate_json(m.value)
        assert m.key == event.message_key.encode(), m.kind


_INVALID_CHECKS: dict[str, Callable[[FeedMessage], None]] = {}


def _check(reason: str) -> Callable[[Callable[[FeedMessage], None]], Callable[[FeedMessage], None]]:
    def register(fn: Callable[[FeedMessage], None]) -> Callable[[FeedMessage], None]:
        _INVALID_CHECKS[reason] = fn
        return fn

    return register


@_check("not_utf8")
def _not_utf8(m: FeedMessage) -> None:
    with pytest.raises(UnicodeDecodeError):
        m.value.decode("utf-8")


@_check("not_json")
def _not_json(m: FeedMessage) -> None:
    text = m.value.decode("utf-8")
    with pytest.raises(ValueError):
        json.loads(text)


@_check("not_object")
def _not_object(m: FeedMessage) -> None:
    assert not isinstance(json.loads(m.value), dict)


@_check("too_large")
def _too_large(m: FeedMessage) -> None:
    assert len(m.value) > ONE_MIB
    event = _adapter(m).validate_json(m.value)  # otherwise valid
    assert m.key == event.message_key.encode()


@_check("key_mismatch")
def _key_mismatch(m: FeedMessage) -> None:
    assert len(m.value) <= ONE_MIB
    event = _adapter(m).validate_json(m.value)  # otherwise valid
    assert m.key is not None and m.key != event.message_key.encode()


def _schema_invalid(m: FeedMessage) -> None:
    assert len(m.value) <= ONE_MIB
    assert isinstance(json.loads(m.value.decode("utf-8")), dict)
    with pytest.raises(ValidationError):
        _adapter(m).validate_json(m.value)


_ERROR_TYPES = {
    "missing_field": {"missing"},
    "wrong_type": {
        "model_type",
        "dict_type",
        "list_type",
        "string_type",
        "int_type",
        "float_type",
        "bool_type",
    },
    "bad_pattern": {"string_pattern_mismatch"},
    "unknown_event_type": {"union_tag_invalid"},
    "unknown_enum": {"literal_error", "enum"},
    "unknown_schema_version": {"unsupported_version"},
    "bad_date": {"date_parsing", "date_from_datetime_parsing", "datetime_parsing", "bad_date"},
    "out_of_range": {"greater_than_equal", "less_than_equal", "greater_than", "less_than", "out_of_range"},
    "unknown_code": {"unknown_code"},
}


def test_invalid_messages_fail_for_exactly_their_reason(feed: Feed) -> None:
    invalid = [m for m in feed.messages if m.expect.startswith("invalid:")]
    assert {m.expect.removeprefix("invalid:") for m in invalid} == set(REASON_CLASSES)
    for m in invalid:
        reason = m.expect.removeprefix("invalid:")
        if reason in _INVALID_CHECKS:
            _INVALID_CHECKS[reason](m)
            continue
        _schema_invalid(m)
        try:
            _adapter(m).validate_json(m.value)
        except ValidationError as exc:
            types = {e["type"] for e in exc.errors()}
            assert types <= _ERROR_TYPES[reason], (m.kind, reason, exc.errors())


def test_redeliveries_are_byte_identical_copies_of_earlier_valid_messages(feed: Feed) -> None:
    earlier: set[tuple[str, bytes | None, bytes]] = set()
    for m in feed.messages:
        ident = (m.topic, m.key, m.value)
        if m.expect == "valid":
            assert ident not in earlier, "a valid message is never a copy"
            earlier.add(ident)
        elif m.expect == "redelivery":
            assert ident in earlier, m.kind


def test_versions_increase_for_valid_events_and_stale_ones_repeat_an_older_version(feed: Feed) -> None:
    applied: dict[tuple[str, ...], int] = {}
    contents: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    event_ids: set[str] = set()
    for m, obj in _accepted(feed):
        entity, version = _entity(obj), _version(obj)
        event_id = obj.get("eventId") or obj["id"]
        if m.expect == "valid":
            assert version > applied.get(entity, 0), (m.kind, entity)
            applied[entity] = version
            contents[entity].append(_without_id(obj))
            assert event_id not in event_ids
            event_ids.add(event_id)
        elif m.expect == "stale":
            assert version < applied[entity], (m.kind, entity)
            assert _without_id(obj) in contents[entity]
            assert event_id not in event_ids, "a stale event has an id of its own"
            event_ids.add(event_id)


def test_event_times_follow_the_feed_order(feed: Feed) -> None:
    seconds = [_event_second(obj) for m, obj in _accepted(feed) if m.expect == "valid"]
    assert seconds == sorted(seconds)
    assert seconds[0] >= int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    assert seconds[-1] < int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


def test_free_text_sometimes_names_people(feed: Feed) -> None:
    people = {p for c in feed.world.physical_sites for p in c.country.people}
    texts = [
        f["description"]
        for m, obj in _accepted(feed)
        if obj.get("eventType") == "AuditPublished"
        for f in obj["payload"]["findings"]
    ]
    assert any(any(p in t for p in people) for t in texts)


def test_confidential_strings_cover_identifiers_and_text_but_not_public_names(feed: Feed) -> None:
    secrets = feed.confidential_strings()
    some = feed.world.sedex_sites[0]
    assert {some.ref, some.company_ref, some.name, some.address.street, some.address.city} <= secrets
    twin = next(s for s in feed.world.amfori_sites if s.twin is None)
    assert {twin.ref, twin.company_ref, twin.name, twin.local_name} <= secrets
    member = next(m for m in feed.world.sedex_members if m.lei)
    linked = any(member in s.members for s in feed.world.sedex_sites)
    assert not linked or member.lei in secrets
    for _m, obj in _accepted(feed)[:200]:
        assert (obj.get("eventId") or obj["id"]) in secrets
        if obj.get("eventType") == "AuditPublished":
            p = obj["payload"]
            assert {p["auditRef"], p["leadAuditor"]["name"], p["leadAuditor"]["apscaNumber"]} <= secrets
            assert p["auditCompany"]["name"] not in secrets  # audit firms are published on purpose
            assert all(f["description"] in secrets and f["findingRef"] in secrets for f in p["findings"])
    assert "Bangladesh" not in secrets and "amfori BSCI" not in secrets


def test_generation_is_fast() -> None:
    started = time.perf_counter()
    big = generate_feed(5, 2000, START, 12)
    elapsed = time.perf_counter() - started
    assert len(big) > 25_000
    assert len(big) / elapsed > 10_000, f"{len(big) / elapsed:.0f} messages/s"
