"""The accepted envelope is written without building its model: byte for byte what the model writes,
and read back by it, for every admitted event of the simulator's feed."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.exchange.accepted import AcceptedEvent
from services.ingest.admit import AMFORI, SEDEX, Admitted, admit
from services.ingest.envelopes import _rfc3339_ms, accepted_record, envelope_by_the_model
from simulator.feed import generate_feed

FORMATS = {"sedex.changes.v1": SEDEX, "amfori.changes.v1": AMFORI}


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
        reference = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
        assert _rfc3339_ms(ms) == reference.replace("+00:00", "Z")
