"""Release messages: key, value, CloudEvents headers, the hygiene guard, revisions and the release state."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.exchange.aggregates import IssuePrevalenceMeasures, dump_message
from services.aggregate.identity import Affiliation
from services.aggregate.model import CellKey
from services.aggregate.release import (
    HygieneError,
    ReleaseLog,
    assert_hygienic,
    build_message,
    encode_message,
    next_revision,
    site_key,
    state_key,
    state_records,
)

RELEASE = datetime(2026, 5, 1, tzinfo=UTC)
SENT = datetime(2026, 5, 1, 0, 0, 4, tzinfo=UTC)
COORDS = {"period": "2026-Q1", "country": "BD", "sector": "APPAREL_TEXTILES", "issue": "WAGES"}
MEASURES: dict[str, Any] = {
    "audited_sites": 41,
    "sites_with_issue": 12,
    "by_severity": {"critical": 0, "major": 7, "minor": 5},
    "rate_pct": 29.3,
}
SPEC_EXAMPLE = json.loads(
    """{"table":"issue-prevalence","schema_version":1,"release_id":"2026-05-01T00:00:00Z","released_at":"2026-05-01T00:00:04Z",
 "revision":0,"cell":{"period":"2026-Q1","country":"BD","sector":"APPAREL_TEXTILES","issue":"WAGES"},
 "status":"published","measures":{"audited_sites":41,"sites_with_issue":12,"by_severity":{"critical":0,"major":7,"minor":5},"rate_pct":29.3}}"""
)
PSEUDONYM = "k1.rsite.0123456789abcdef0123456789abcdef"


def encode(**overrides: Any) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    args: dict[str, Any] = {
        "table": "issue-prevalence",
        "cell_coords": COORDS,
        "status": "published",
        "measures": MEASURES,
        "release_id": RELEASE,
        "released_at": SENT,
        "revision": 0,
        **overrides,
    }
    return encode_message(build_message(**args))


def test_the_spec_example_is_built() -> None:
    key, value, _ = encode()
    assert json.loads(value) == SPEC_EXAMPLE
    assert key == b'{"country":"BD","issue":"WAGES","period":"2026-Q1","sector":"APPAREL_TEXTILES"}'


def test_key_is_compact_sorted_json_whatever_the_order_of_the_coordinates() -> None:
    key, _, _ = encode(cell_coords=dict(reversed(COORDS.items())))
    assert key == CellKey.of("issue-prevalence", **COORDS).message_key()
    assert b" " not in key and list(json.loads(key)) == sorted(COORDS)


def test_the_same_release_gives_the_same_bytes() -> None:
    first = encode()
    again = encode(
        cell_coords=dict(reversed(COORDS.items())),
        measures=IssuePrevalenceMeasures.model_validate(json.loads(json.dumps(MEASURES)), strict=False),
    )
    assert first == again
    assert encode(revision=1)[1] != first[1]


def test_cloudevents_binary_mode_headers() -> None:
    _, _, headers = encode()
    h = dict(headers)
    assert [name for name, _ in headers] == [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "content-type",
    ]
    assert h["ce_specversion"] == b"1.0"
    assert h["ce_source"] == b"urn:sourcing-exchange:aggregate"
    assert h["ce_type"] == b"org.sourcing-exchange.aggregate.issue-prevalence"
    assert h["ce_time"] == b"2026-05-01T00:00:04Z"
    assert h["content-type"] == b"application/json"
    uuid.UUID(h["ce_id"].decode())
    # ce_id is deterministic in table, key, release and revision, and only in those.
    assert dict(encode(released_at=datetime(2026, 5, 1, 0, 1, tzinfo=UTC))[2])["ce_id"] == h["ce_id"]
    others = [
        encode(revision=1),
        encode(release_id=datetime(2026, 5, 1, 1, tzinfo=UTC)),
        encode(cell_coords={**COORDS, "country": "IN"}),
        encode(status="suppressed", measures=None),
    ]
    ids = {dict(o[2])["ce_id"] for o in others[:3]}
    assert h["ce_id"] not in ids and len(ids) == 3
    assert dict(others[3][2])["ce_id"] == h["ce_id"]


def test_suppressed_and_withheld_shapes() -> None:
    _, value, _ = encode(status="suppressed", measures=None)
    assert json.loads(value) == {**SPEC_EXAMPLE, "status": "suppressed", "measures": None}
    withheld = {"audited_sites": 7, "sites_with_issue": None, "by_severity": None, "rate_pct": None}
    _, value, _ = encode(measures=withheld)
    assert json.loads(value)["measures"] == withheld
    with pytest.raises(ValidationError):
        encode(status="suppressed")
    with pytest.raises(ValueError, match="no message model"):
        encode(table="audit-quantity")


def test_forced_labour_cells() -> None:
    by_indicator = {
        "ABUSE_OF_VULNERABILITY": 0,
        "DECEPTION": 1,
        "RESTRICTION_OF_MOVEMENT": 0,
        "ISOLATION": 0,
        "PHYSICAL_SEXUAL_VIOLENCE": 0,
        "INTIMIDATION_THREATS": 0,
        "RETENTION_OF_IDENTITY_DOCUMENTS": 2,
        "WITHHOLDING_OF_WAGES": 0,
        "DEBT_BONDAGE": 0,
        "ABUSIVE_WORKING_LIVING_CONDITIONS": 0,
        "EXCESSIVE_OVERTIME": 0,
    }
    key, value, headers = encode(
        table="forced-labour",
        cell_coords={"period": "2026-Q1", "country": "ALL", "sector": "ALL"},
        measures={"audited_sites": 25, "sites_with_indicator": 2, "by_indicator": by_indicator},
    )
    assert key == b'{"country":"ALL","period":"2026-Q1","sector":"ALL"}'
    assert json.loads(value)["measures"]["by_indicator"] == by_indicator
    assert dict(headers)["ce_type"] == b"org.sourcing-exchange.aggregate.forced-labour"


# --- hygiene ------------------------------------------------------------------------------------------


def test_a_real_message_is_hygienic() -> None:
    assert_hygienic(encode()[1])
    assert_hygienic(json.dumps(SPEC_EXAMPLE).encode())


@pytest.mark.parametrize(
    "dirty",
    [
        {**SPEC_EXAMPLE, "cell": {**SPEC_EXAMPLE["cell"], "country": PSEUDONYM}},
        {**SPEC_EXAMPLE, "note": f"site {PSEUDONYM} only"},
        {**SPEC_EXAMPLE, PSEUDONYM: 1},
        {**SPEC_EXAMPLE, "sites": ["demo-key.site.ffffffffffffffffffffffffffffffff"]},
        {**SPEC_EXAMPLE, "os": "k1.sealed.AbC-_x9"},
        {**SPEC_EXAMPLE, "occurred_at_ms": 1777593600000},
        {**SPEC_EXAMPLE, "updated_at": "2026-04-02"},
        {**SPEC_EXAMPLE, "measures": {**SPEC_EXAMPLE["measures"], "last_audit_date": None}},
        {**SPEC_EXAMPLE, "measures": {**SPEC_EXAMPLE["measures"], "released_at": "2026-05-01T00:00:04Z"}},
        {**SPEC_EXAMPLE, "measures": {**SPEC_EXAMPLE["measures"], "first": "2026-02-03"}},
        {**SPEC_EXAMPLE, "measures": {**SPEC_EXAMPLE["measures"], "n": 1777593600}},
        {**SPEC_EXAMPLE, "timestamp": None},
    ],
)
def test_the_hygiene_guard_catches_pseudonyms_sealed_values_and_event_times(dirty: dict[str, Any]) -> None:
    with pytest.raises(HygieneError):
        assert_hygienic(json.dumps(dirty).encode())


@pytest.mark.parametrize("value", [b"[]", b"not json", b"\xff"])
def test_the_hygiene_guard_wants_a_json_object(value: bytes) -> None:
    with pytest.raises(HygieneError):
        assert_hygienic(value)


# --- revisions and the release state ------------------------------------------------------------------

KEY = CellKey.of("issue-prevalence", **COORDS)
SITES = [f"k1.rsite.{i:032x}" for i in range(41)]


def release(log: ReleaseLog, status: str = "published", measures: Any = MEASURES, hour: int = 0) -> Any:
    when = datetime(2026, 5, 1, hour, tzinfo=UTC)
    message = build_message("issue-prevalence", COORDS, status, measures, when, when, log.next_revision(KEY))
    [record] = log.record(  # a cell this small is one record
        message, dict.fromkeys(SITES[: (measures or {"audited_sites": 41})["audited_sites"]], "")
    )
    return record


def test_revisions_start_at_zero_and_count_up() -> None:
    log = ReleaseLog()
    assert next_revision(None) == 0 and log.next_revision(KEY) == 0 and KEY not in log
    release(log)
    last = log.get(KEY)
    assert last is not None and last.revision == 0 and last.status == "published"
    assert last.measures is not None and len(last.contributions) == 41
    assert log.next_revision(KEY) == 1
    release(log, status="suppressed", measures=None, hour=1)
    last = log.get(KEY)
    assert last is not None and (last.revision, last.status, last.measures) == (1, "suppressed", None)
    assert log.next_revision(KEY) == 2 and len(log) == 1


def test_a_revision_that_is_not_the_next_is_refused() -> None:
    log = ReleaseLog()
    release(log)
    stale = build_message("issue-prevalence", COORDS, "published", MEASURES, RELEASE, SENT, 0)
    with pytest.raises(ValueError, match="not the next revision"):
        log.record(stale, dict.fromkeys(SITES, ""))


def test_the_log_is_rebuilt_from_the_release_state_records() -> None:
    log = ReleaseLog()
    records = [release(log)]
    other = build_message(
        "forced-labour",
        {"period": "2026-Q1", "country": "ALL", "sector": "ALL"},
        "suppressed",
        None,
        RELEASE,
        SENT,
        0,
    )
    records.extend(log.record(other, {"k1.rsite.b": "MAJOR", "k1.rsite.a": ""}))
    records.append(release(log, measures={**MEASURES, "audited_sites": 40, "rate_pct": 30.0}, hour=1))
    assert records[0][0] == records[2][0] == state_key(KEY)
    assert json.loads(records[1][1])["schema_version"] == 3
    # Keyed by site in sorted order, whatever order the caller gave.
    assert list(json.loads(records[1][1])["contributions"].items()) == [
        ("k1.rsite.a", ""),
        ("k1.rsite.b", "MAJOR"),
    ]

    for rebuilt in (ReleaseLog.from_state(records), ReleaseLog.from_state(dict(records))):
        assert list(rebuilt.items()) == list(log.items())
        last = rebuilt.get(KEY)
        assert last is not None and last.revision == 1 and len(last.contributions) == 40
        assert rebuilt.next_revision(KEY) == 2
    # A tombstone forgets the cell.
    assert KEY not in ReleaseLog.from_state([*records, (state_key(KEY), None)])
    # A record under another cell's key is refused.
    with pytest.raises(ValueError, match="does not match"):
        ReleaseLog.from_state([(records[1][0], records[2][1])])


def test_the_release_state_keeps_the_message_byte_for_byte() -> None:
    log = ReleaseLog()
    release(log)
    last = log.get(KEY)
    assert last is not None
    sent = encode_message(
        build_message("issue-prevalence", COORDS, "published", MEASURES, RELEASE, RELEASE, 0)
    )
    assert sent[1] == dump_message(last.message)
    assert encode_message(last.message) == sent
    # Rebuilt from its state, the log holds the very same bytes.
    rebuilt = ReleaseLog.from_state([(state_key(KEY), release(ReleaseLog())[1])])
    again = rebuilt.get(KEY)
    assert again is not None and encode_message(again.message) == sent


def test_affiliations_accumulate_and_survive_a_rebuild() -> None:
    """Who stood behind a platform site is kept (and only grows), so the rules can still judge sites
    that have left by the next release."""
    log = ReleaseLog()
    first = Affiliation("k1.company.a", frozenset({"k1.company.a"}), frozenset({("k1.member.m", None)}))
    written = log.record_affiliations({"k1.site.1": first})
    assert [k for k, _ in written] == [site_key("k1.site.1")]
    assert log.record_affiliations({"k1.site.1": first}) == []  # nothing new, nothing written
    later = Affiliation(
        "k1.company.b", frozenset({"k1.company.b"}), frozenset({("k1.member.m", "k1.member.l")})
    )
    written += log.record_affiliations({"k1.site.1": later})
    merged = log.affiliations["k1.site.1"]
    assert merged.principal == "k1.company.b"
    assert merged.suppliers == {"k1.company.a", "k1.company.b"}
    assert merged.members == {("k1.member.m", None), ("k1.member.m", "k1.member.l")}
    assert ReleaseLog.from_state(written).affiliations == log.affiliations


def test_a_cell_that_stops_showing_outcomes_remembers_what_it_showed() -> None:
    """The subscriber keeps the last outcome values it saw; the log keeps the contributions behind
    them, so the view rules protect the change since then, not only the current values."""
    log = ReleaseLog()
    release(log)
    shown = dict(log.get(KEY).contributions)  # type: ignore[union-attr]
    population_only = {**MEASURES, "sites_with_issue": None, "by_severity": None, "rate_pct": None}
    message = build_message("issue-prevalence", COORDS, "published", population_only, RELEASE, SENT, 1)
    log.record(message, {"k1.site.x": ""})
    last = log.get(KEY)
    assert last is not None and not last.shows_outcomes and last.shown_contributions == shown
    rebuilt = ReleaseLog.from_state(state_records(KEY, last)).get(KEY)
    assert rebuilt is not None and rebuilt.shown_contributions == shown
