"""The published aggregate messages: the spec's example, the suppressed and withheld shapes, strictness."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.exchange.aggregates import (
    AGGREGATE_MESSAGE,
    RELEASE_STATE,
    ForcedLabourMessage,
    IssuePrevalenceMessage,
    dump_message,
    parse_message,
    share_pct,
)
from schemas.taxonomy import ForcedLabourIndicator

# aggregates.md, "Message format" (verbatim).
SPEC_EXAMPLE = """{"table":"issue-prevalence","schema_version":1,"release_id":"2026-05-01T00:00:00Z","released_at":"2026-05-01T00:00:04Z",
 "revision":0,"cell":{"period":"2026-Q1","country":"BD","sector":"APPAREL_TEXTILES","issue":"WAGES"},
 "status":"published","measures":{"audited_sites":41,"sites_with_issue":12,"by_severity":{"critical":0,"major":7,"minor":5},"rate_pct":29.3}}"""


def example() -> dict[str, Any]:
    return dict(json.loads(SPEC_EXAMPLE))


def forced_labour(**measures: Any) -> dict[str, Any]:
    by_indicator = dict.fromkeys((c.value for c in ForcedLabourIndicator), 0)
    by_indicator.update(DEBT_BONDAGE=3, EXCESSIVE_OVERTIME=4)
    return {
        "table": "forced-labour",
        "schema_version": 1,
        "release_id": "2026-05-01T00:00:00Z",
        "released_at": "2026-05-01T00:00:04Z",
        "revision": 2,
        "cell": {"period": "2026-Q1", "country": "ALL", "sector": "ALL"},
        "status": "published",
        "measures": {
            "audited_sites": 30,
            "sites_with_indicator": 5,
            "by_indicator": by_indicator,
            **measures,
        },
    }


def test_the_spec_example_round_trips_to_the_same_json() -> None:
    message = parse_message(SPEC_EXAMPLE)
    assert isinstance(message, IssuePrevalenceMessage)
    assert message.release_id == datetime(2026, 5, 1, tzinfo=UTC)
    assert json.loads(dump_message(message)) == example()
    # Compact, in the spec's field order (including the cell's).
    assert dump_message(message) == json.dumps(example(), separators=(",", ":")).encode()


def test_equal_content_gives_equal_bytes() -> None:
    a = parse_message(SPEC_EXAMPLE)
    b = parse_message(json.dumps(example(), indent=3, sort_keys=True))
    assert a == b and dump_message(a) == dump_message(b)
    assert b"29.3" in dump_message(a)


def test_forced_labour_lists_all_eleven_indicators_in_order() -> None:
    message = parse_message(json.dumps(forced_labour()))
    assert isinstance(message, ForcedLabourMessage)
    dumped = json.loads(dump_message(message))
    assert list(dumped["measures"]["by_indicator"]) == [c.value for c in ForcedLabourIndicator]
    assert dumped == forced_labour()
    missing = forced_labour()
    del missing["measures"]["by_indicator"]["ISOLATION"]
    with pytest.raises(ValidationError):
        parse_message(json.dumps(missing))


def test_a_suppressed_cell_has_null_measures_and_nothing_else() -> None:
    value = {**example(), "status": "suppressed", "measures": None}
    message = parse_message(json.dumps(value))
    assert message.measures is None and json.loads(dump_message(message)) == value
    with pytest.raises(ValidationError, match="suppressed"):
        parse_message(json.dumps({**example(), "status": "suppressed"}))
    with pytest.raises(ValidationError, match="suppressed"):
        parse_message(json.dumps({**example(), "measures": None}))


def test_withheld_outcomes_are_null_and_population_stays() -> None:
    value = example()
    value["measures"] = {"audited_sites": 7, "sites_with_issue": None, "by_severity": None, "rate_pct": None}
    assert json.loads(dump_message(parse_message(json.dumps(value)))) == value
    fl = forced_labour(sites_with_indicator=None, by_indicator=None)
    assert json.loads(dump_message(parse_message(json.dumps(fl)))) == fl
    # All outcomes or none: a half-withheld cell is refused.
    value["measures"]["rate_pct"] = 0.0
    with pytest.raises(ValidationError, match="all shown or all null"):
        parse_message(json.dumps(value))
    with pytest.raises(ValidationError, match="all shown or all null"):
        parse_message(json.dumps(forced_labour(by_indicator=None)))
    with pytest.raises(ValidationError):
        parse_message(json.dumps(forced_labour(audited_sites=None)))


@pytest.mark.parametrize(
    ("n", "d", "pct"), [(12, 41, 29.3), (1, 8, 12.5), (1, 16, 6.3), (1, 3, 33.3), (2, 3, 66.7), (5, 5, 100.0)]
)
def test_share_pct_rounds_half_up_to_one_decimal(n: int, d: int, pct: float) -> None:
    assert share_pct(n, d) == pct


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("measures", "rate_pct"), 29.27),  # two decimals
        (("measures", "rate_pct"), 29.4),  # not 12/41
        (("measures", "sites_with_issue"), 13),  # by_severity adds up to 12
        (("measures", "audited_sites"), 0),
        (("measures", "audited_sites"), "41"),  # strict
        (("measures", "audited_sites"), True),
        (("schema_version",), True),
        (("schema_version",), 2),
        (("revision",), -1),
        (("status",), "withheld"),
        (("cell", "country"), "bd"),
        (("cell", "sector"), "SHIPBUILDING"),
        (("cell", "issue"), "ALL"),
        (("cell", "period"), "2026-Q5"),
        (("cell", "period"), "2026-13"),
        (("release_id",), "2026-05-01T00:00:00+00:00"),
        (("release_id",), "2026-05-01T00:00:00.5Z"),
        (("released_at",), "2026-05-01 00:00:04Z"),
        (("table",), "forced-labour"),
    ],
)
def test_invalid_values_are_refused(path: tuple[str, ...], bad: Any) -> None:
    value = example()
    node = value
    for name in path[:-1]:
        node = node[name]
    node[path[-1]] = bad
    with pytest.raises(ValidationError):
        parse_message(json.dumps(value))


def test_unknown_fields_are_forbidden_and_models_are_frozen() -> None:
    for extra in ({"site_id": "x"}, {"cell": {**example()["cell"], "city": "Dhaka"}}):
        with pytest.raises(ValidationError):
            parse_message(json.dumps({**example(), **extra}))
    message = parse_message(SPEC_EXAMPLE)
    with pytest.raises(ValidationError):
        message.revision = 1  # type: ignore[misc]


def test_forced_labour_counts_are_consistent() -> None:
    with pytest.raises(ValidationError, match="between"):
        parse_message(json.dumps(forced_labour(sites_with_indicator=8)))  # more than 3 + 4
    with pytest.raises(ValidationError, match="between"):
        parse_message(json.dumps(forced_labour(sites_with_indicator=3)))  # fewer than the 4 with overtime


def test_release_times_in_python_must_be_aware_whole_seconds_and_are_written_in_utc() -> None:
    value = example()
    value["release_id"] = datetime(2026, 5, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    value["released_at"] = datetime(2026, 5, 1, 0, 0, 4, tzinfo=UTC)
    message = AGGREGATE_MESSAGE.validate_python(value)
    assert json.loads(dump_message(message))["release_id"] == "2026-05-01T00:00:00Z"
    for bad in (datetime(2026, 5, 1), datetime(2026, 5, 1, 0, 0, 4, 1, tzinfo=UTC)):
        with pytest.raises(ValidationError):
            AGGREGATE_MESSAGE.validate_python({**value, "released_at": bad})


def test_a_version_1_release_state_record_reads_as_unknown_contributions() -> None:
    v1 = {"schema_version": 1, "message": example(), "site_ids": ["a", "b"]}
    assert RELEASE_STATE.validate_json(json.dumps(v1)).contributions == {"a": None, "b": None}
    for bad in (["b", "a"], ["a", "a"], [""], "a"):
        with pytest.raises(ValidationError):
            RELEASE_STATE.validate_json(json.dumps({**v1, "site_ids": bad}))
    with pytest.raises(ValidationError):  # version 2 has no site_ids
        RELEASE_STATE.validate_json(json.dumps({**v1, "schema_version": 2}))


def test_release_state_record_keys_contributions_by_site_in_order() -> None:
    record = {"schema_version": 2, "message": example(), "contributions": {"a": "", "b": "MAJOR"}}
    assert RELEASE_STATE.validate_json(json.dumps(record)).contributions == {"a": "", "b": "MAJOR"}
    for bad in ({"b": "", "a": ""}, {"": "MAJOR"}, ["a", "b"]):
        with pytest.raises(ValidationError):
            RELEASE_STATE.validate_json(json.dumps({**record, "contributions": bad}))


def test_the_exported_json_schemas_accept_the_spec_example_and_refuse_a_bad_time() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from schemas import export

    issue = export.GENERATORS["jsonschema/aggregates/issue-prevalence.v1.json"]()
    jsonschema.validate(example(), issue)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**example(), "released_at": "2026-05-01T00:00:04+00:00"}, issue)
    fl = export.GENERATORS["jsonschema/aggregates/forced-labour.v1.json"]()
    jsonschema.validate(forced_labour(), fl)
    jsonschema.validate({**forced_labour(), "status": "suppressed", "measures": None}, fl)
