"""The accepted envelope is written without building its model: byte for byte what the model writes,
and read back by it, for every admitted event of the simulator's feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from schemas.exchange.accepted import AcceptedEvent, SourcePosition
from schemas.platform.common import MAX_EPOCH_MS, ChangeEvent
from schemas.topics import AMFORI_TOPIC, SEDEX_TOPIC
from services.ingest.admit import AMFORI, SEDEX, Admitted, admit
from services.ingest.envelopes import _rfc3339_ms, accepted_record
from simulator.feed import generate_feed

FORMATS = {SEDEX_TOPIC: SEDEX, AMFORI_TOPIC: AMFORI}


def envelope_by_the_model(
    platform: str, event: ChangeEvent, topic: str, partition: int, offset: int
) -> bytes:
    """The envelope through its model (`AcceptedEvent`, constructed without a second validation, as
    ingest built it before it wrote the JSON itself): the reference `accepted_record` must equal."""
    # A dict: the pydantic plugin types model_construct's arguments like the validated fields.
    fields: dict[str, Any] = {
        "platform": platform,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "entity_kind": event.entity_kind,
        "entity_id": event.entity_id,
        "entity_version": event.entity_version,
        "company_ref": event.company_ref,
        "site_ref": event.site_ref,
        "occurred_at_ms": event.occurred_at_ms,
        "source": SourcePosition(topic=topic, partition=partition, offset=offset),
        "event": event,
    }
    return AcceptedEvent.model_construct(**fields).model_dump_json(by_alias=True).encode()


def test_the_envelope_is_the_models_bytes_and_reads_back() -> None:
    admitted = 0
    for offset, m in enumerate(generate_feed(seed=7, sites_per_platform=60).messages):
        outcome = admit(FORMATS[m.topic], m.key, m.value)
        if not isinstance(outcome, Admitted):
            continue
        admitted += 1
        value, headers = accepted_record(outcome.platform, outcome.event, m.topic, 3, offset)
        assert value == envelope_by_the_model(outcome.platform, outcome.event, m.topic, 3, offset)
        back = AcceptedEvent.model_validate_json(value)
        assert back.event == outcome.event and back.source.offset == offset
        ce_time = dict(headers)["ce_time"].decode()
        assert datetime.fromisoformat(ce_time) == datetime.fromtimestamp(back.occurred_at_ms / 1000, UTC)
    assert admitted > 500


def test_ce_time_is_rfc3339_to_the_millisecond() -> None:
    for ms in (0, 1, 999, 1_000, 1_767_225_599_999, 1_767_225_600_000, 4_102_444_800_123):
        assert _rfc3339_ms(ms) == _reference(ms)


@given(st.integers(min_value=0, max_value=MAX_EPOCH_MS))
def test_ce_time_equals_the_standard_library_s_at_any_millisecond_the_contract_allows(ms: int) -> None:
    assert _rfc3339_ms(ms) == _reference(ms)


def _reference(ms: int) -> str:
    """The standard library's RFC 3339 text of `ms`, from integers: `fromtimestamp(ms / 1000)` rounds in
    binary floating point past the year 2255."""
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
