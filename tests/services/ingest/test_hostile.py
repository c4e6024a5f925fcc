"""Hostile input, property-based (issue 14): whatever a platform topic carries, `admit` answers with an
admitted event or a rejection whose class the contract names; it never raises and never blames itself
(`internal_error`), and a reason carries at most a short excerpt of the message. The generator
(`simulator.hostile`) covers arbitrary bytes, invalid UTF-8, truncated and deeply nested JSON, NaN and
Infinity, 5,000-digit integers, duplicate keys, garbage prefixes, any JSON, missing values, and valid
events of the feed with any field replaced by a hostile value."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings

from services.ingest.admit import AMFORI, SEDEX, Admitted, _refusal, admit
from services.ingest.reasons import ReasonClass, Rejection
from simulator.feed import generate_feed
from simulator.hostile import HostileMessage, hostile

FORMATS = {"sedex.changes.v1": SEDEX, "amfori.changes.v1": AMFORI}
BASES = [m for m in generate_feed(5, 8, start=date(2025, 1, 1), months=3).messages if m.expect == "valid"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile(BASES))
def test_hostile_input_is_answered_never_raised(message: HostileMessage) -> None:
    outcome = admit(FORMATS[message.topic], message.key, message.value)
    assert isinstance(outcome, Admitted | Rejection)
    if isinstance(outcome, Rejection):
        assert outcome.reason_class is not ReasonClass.INTERNAL_ERROR, outcome.reason
        assert len(outcome.reason) < 2_000  # a reason names the problem; it does not carry the message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile(BASES))
def test_parsing_once_answers_as_the_full_checks_do(message: HostileMessage) -> None:
    """`admit` parses once and reads a refused message again; `_refusal` runs every check from the
    bytes (the algorithm before the fast path). Same answer, reason text included, on hostile input."""
    fmt = FORMATS[message.topic]
    if message.value is not None and len(message.value) <= 1024 * 1024:
        assert admit(fmt, message.key, message.value) == _refusal(fmt, message.key, message.value)
