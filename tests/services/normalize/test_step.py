"""`engine.step`: one value of the accepted topic to its verdict, as the service and the key rotation's
replay both take it (docs/normalize.md "Dead letters"; the brief: every message ends accepted or
dead-lettered with a reason, and bad input never stops a service).

The platform a verdict carries labels the service's metrics (`platform`, bounded): it is the
envelope's platform whenever the envelope could be read, whatever happened to the event after."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from services.ingest.admit import AMFORI, SEDEX, Admitted, admit
from services.ingest.envelopes import accepted_record
from services.normalize.engine import Mapped, MappedEvent, Normalizer, Outcome, Rejected, map_value, step
from services.normalize.keys import load_key
from services.normalize.mapping import MappingContext
from tests.fixtures.examples import amfori_monitoring, encode, sedex_audit

CTX = MappingContext.from_keys(load_key({"NORMALIZE_DEMO_MODE": "1"}))


def accepted(platform: str) -> bytes:
    """An exchange.ingest.accepted.v1 value for the contract's example event of the platform."""
    fmt, key, event = (
        (SEDEX, b"ZS1098453", sedex_audit())
        if platform == "sedex"
        else (AMFORI, b"050-0012345-001", amfori_monitoring())
    )
    admitted = admit(fmt, key, encode(event))
    assert isinstance(admitted, Admitted)
    value, _ = accepted_record(admitted.platform, admitted.event, f"{platform}.changes.v1", 0, 7)
    return value


@pytest.mark.parametrize("platform", ["sedex", "amfori"])
def test_an_event_normalize_can_map_gives_its_records_under_its_platform(platform: str) -> None:
    verdict = step(Normalizer.fresh(CTX), accepted(platform))
    assert verdict.platform == platform
    assert isinstance(verdict.result, Outcome) and verdict.result.records


def test_a_value_that_is_no_envelope_is_rejected_with_no_platform() -> None:
    for value in (None, b"", b"{}", b"not json"):
        verdict = step(Normalizer.fresh(CTX), value)
        assert verdict.platform is None
        assert isinstance(verdict.result, Rejected) and verdict.result.reason_class == "invalid_envelope"


def test_a_mapping_error_is_rejected_with_its_code_under_the_envelopes_platform() -> None:
    """An envelope that says amfori around a Sedex event: the mapping refuses it as
    `inconsistent_envelope`, and the verdict is counted under the platform the envelope names."""
    doc = json.loads(accepted("sedex"))
    doc["platform"] = "amfori"
    verdict = step(Normalizer.fresh(CTX), json.dumps(doc).encode())
    assert verdict.platform == "amfori"
    assert isinstance(verdict.result, Rejected)
    assert verdict.result.reason_class == "inconsistent_envelope"
    assert "a Sedex event in a non-Sedex envelope" in verdict.result.reason
    assert verdict.result.error is None  # a refusal, not a failure: nothing for the log's traceback


class Broken(Normalizer):
    """A normalizer with a bug in stage 2: what a poison message meets."""

    def apply(self, event_id: str, outputs: Iterable[Mapped]) -> Outcome:
        raise KeyError("a bug")


@dataclass(frozen=True)
class BrokenContext(MappingContext):
    """A mapping with a bug in stage 1 (which may run in another process, mappers.py)."""

    def audit_id(self, platform: str, audit_ref: str) -> str:
        raise KeyError("a bug")


def test_an_unexpected_failure_is_an_internal_error_under_the_envelopes_platform() -> None:
    broken = Broken(CTX, Normalizer.fresh(CTX).resolver)
    verdict = step(broken, accepted("amfori"))
    assert verdict.platform == "amfori"
    assert isinstance(verdict.result, Rejected)
    assert verdict.result.reason_class == "internal_error"
    assert isinstance(verdict.result.error, KeyError)  # kept for the log, never for the dead letter
    assert "a bug" not in verdict.result.reason


@pytest.mark.parametrize("platform", ["sedex", "amfori"])
def test_a_failure_in_the_mapping_is_an_internal_error_and_changes_no_state(platform: str) -> None:
    broken = BrokenContext(CTX.pseudonymiser, CTX.sealer, CTX.crosswalk)
    normalizer = Normalizer.fresh(broken)
    verdict = step(normalizer, accepted(platform))
    assert verdict.platform == platform
    assert isinstance(verdict.result, Rejected)
    assert verdict.result.reason_class == "internal_error"
    assert isinstance(verdict.result.error, KeyError)
    assert normalizer.versions == {}


def test_a_quarantined_event_is_refused_whatever_its_mapping_would_say() -> None:
    """The operator's quarantine comes before the mapping's verdict, as it did when the mapping ran
    after it in one pass."""
    value = accepted("sedex")
    ordinary = Normalizer.fresh(CTX).settle(map_value(CTX, value))
    assert isinstance(ordinary.result, Outcome)  # it maps
    mapped = map_value(CTX, value)
    assert isinstance(mapped, MappedEvent)
    for ctx in (CTX, BrokenContext(CTX.pseudonymiser, CTX.sealer, CTX.crosswalk)):
        quarantining = Normalizer.fresh(ctx, quarantined=frozenset({mapped.event_id}))
        verdict = step(quarantining, value)
        assert isinstance(verdict.result, Rejected)
        assert verdict.result.reason_class == "quarantined"
        assert quarantining.versions == {}
