"""`FromJson`: the fields whose JSON mode is validated inside pydantic-core accept exactly what their
python mode accepts, with the same value, on text generated near each format.

The python mode is what the contract's error messages come from (the union guard validates in it);
JSON mode is ingest's fast path (`validate_json` of the unguarded union) and normalize's reading of
the accepted envelope. If they disagreed, ingest would accept an event the guard refuses, or refuse
one and then find no reason for it. Each type is validated as the one field of a strict model, once
from a JSON document and once from the python object json.loads makes of it.
"""

from __future__ import annotations

import copy
import json
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError, create_model

from schemas.platform import amfori, common, sedex
from schemas.taxonomy import AMFORI_FL_INDICATORS, SEDEX_FL_TAGS
from tests.schemas.platform.test_sedex import AUDIT

_RUNS = settings(max_examples=400, deadline=None)


def _adapter(field_type: Any) -> TypeAdapter[Any]:
    model = create_model("One", __base__=common.StrictModel, v=(field_type, ...))
    return TypeAdapter(model)


def _outcomes(adapter: TypeAdapter[Any], value: Any) -> tuple[object, object]:
    """(JSON mode, python mode): the validated value, or "refused"."""
    document = json.dumps({"v": value})
    try:
        in_json: object = adapter.validate_json(document).v
    except ValidationError:
        in_json = "refused"
    try:
        in_python: object = adapter.validate_python(json.loads(document)).v
    except ValidationError:
        in_python = "refused"
    return in_json, in_python


def _agree(adapter: TypeAdapter[Any], value: Any) -> object:
    in_json, in_python = _outcomes(adapter, value)
    assert in_json == in_python, (value, in_json, in_python)
    assert type(in_json) is type(in_python)
    return in_json


# --- dates and times ----------------------------------------------------------------------------------

_DATE = _adapter(common.IsoDate)
_DATETIME = _adapter(common.UtcDateTime)
_NEAR_DATE = st.text(alphabet="0123456789-T: Zz+.", max_size=14) | st.from_regex(
    r"[0-9]{4}-[0-9]{1,3}-[0-9]{1,3}", fullmatch=True
)


@_RUNS
@given(st.dates().map(date.isoformat) | _NEAR_DATE | st.integers() | st.none() | st.booleans())
@example("2026-02-30")
@example(
    "\u0662\u0660\u0662\u0666-\u0660\u0662-\u0661\u0660"
)  # Arabic-Indic digits: Python's \d matches them
@example("2026-02-10T00:00:00")
@example("20260210")
@example("2026-02-10\n")
def test_a_date_is_accepted_alike(value: Any) -> None:
    accepted = _agree(_DATE, value)
    if accepted != "refused":  # and only YYYY-MM-DD of a real day, ASCII digits (the contract)
        assert isinstance(value, str) and value == accepted.isoformat()  # type: ignore[attr-defined]


_OFFSETS = st.sampled_from(["Z", "z", "", "+00:00", "-05:30", "+14:00", "+24:00", "-23:59", "+1:00"])
_FRACTIONS = st.sampled_from(["", ".", ".1", ".123", ".123456", ".123456789", ".1234567891"])


@st.composite
def _near_datetimes(draw: st.DrawFn) -> str:
    at = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    sep = draw(st.sampled_from(["T", "t", " ", "_"]))
    return f"{at.date().isoformat()}{sep}{at.strftime('%H:%M:%S')}{draw(_FRACTIONS)}{draw(_OFFSETS)}"


@_RUNS
@given(
    _near_datetimes()
    | st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
    | st.text(alphabet="0123456789-T: Zz+.", max_size=30)
    | st.integers()
    | st.floats(allow_nan=False)
)
@example("2026-02-12T08:30:00Z")
@example("2026-02-12T08:30:00")  # no offset: refused by both (bad_date)
@example("2026-02-12T24:00:00Z")
@example("0001-01-01T00:00:00+01:00")  # outside the range in UTC
@example("2026-02-12T08:30:60Z")
def test_a_datetime_is_accepted_alike(value: Any) -> None:
    accepted = _agree(_DATETIME, value)
    if accepted != "refused":
        assert isinstance(accepted, datetime) and accepted.utcoffset() == timedelta(0)
        assert accepted.tzinfo is UTC


# --- codes and ids ------------------------------------------------------------------------------------

_CODE_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-", max_size=5)


@_RUNS
@given(_CODE_TEXT | st.sampled_from(["GB", "gb", "XK", "ZZ", "UK", "826", "004", "000", "999", "8260"]))
def test_country_codes_are_accepted_alike(value: str) -> None:
    _agree(_adapter(common.Alpha2Country), value)
    _agree(_adapter(common.NumericCountry), value)


@_RUNS
@given(
    st.from_regex(r"[0-9]{3}-[0-9]{5,8}(-[0-9]{2,4})?", fullmatch=True)
    | st.builds(
        "{}-{}".format,
        st.sampled_from(["826", "004", "156", "000", "999"]),
        st.from_regex(r"[0-9]{6,7}(-[0-9]{3})?", fullmatch=True),
    )
)
def test_amfori_ids_are_accepted_alike(value: str) -> None:
    _agree(_adapter(amfori.LegalEntityId), value)
    _agree(_adapter(amfori.SiteId), value)


@_RUNS
@given(
    st.integers(min_value=-2, max_value=common.MAX_EPOCH_MS + 2)
    | st.sampled_from([0, common.MAX_EPOCH_MS, common.MAX_EPOCH_MS + 1, -1, 2**63, True, 1.0, "1", None])
)
def test_epoch_milliseconds_are_accepted_alike(value: Any) -> None:
    _agree(_adapter(common.EpochMs), value)
    _agree(_adapter(common.EpochMs | None), value)


@_RUNS
@given(
    st.sampled_from(sorted(SEDEX_FL_TAGS))
    | st.sampled_from(sorted(AMFORI_FL_INDICATORS))
    | _CODE_TEXT
    | st.integers()
)
def test_known_codes_are_accepted_alike(value: Any) -> None:
    _agree(_adapter(sedex.FlTag), value)
    _agree(_adapter(amfori.Indicator), value)


def test_the_python_mode_reports_the_contract_s_errors() -> None:
    """The guarded unions validate their members in python mode: a refusal carries the contract's
    error type (`unknown_code`), not the literal error of the JSON branch."""
    with_tag = _adapter(sedex.FlTag)
    try:
        with_tag.validate_python({"v": "NOT_A_TAG"})
    except ValidationError as exc:
        assert [e["type"] for e in exc.errors()] == ["unknown_code"]
    else:
        raise AssertionError("an unknown tag was accepted")
    # The guard: JSON in, the python mode's error out.
    doc = copy.deepcopy(AUDIT)  # the contract's example
    doc["payload"]["findings"][0]["flTags"] = ["NOT_A_TAG"]
    try:
        sedex.SEDEX_EVENT.validate_json(json.dumps(doc))
    except ValidationError as exc:
        assert [e["type"] for e in exc.errors()] == ["unknown_code"]
    else:
        raise AssertionError("an unknown tag was accepted")
