"""Releases as aggregate writes them, for deliver's tests: real messages (`build_message`,
`encode_message`) and, on a broker, the public messages and the release marker in one transaction."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.exchange.aggregates import (
    FORCED_LABOUR,
    ISSUE_PREVALENCE,
    RELEASE_STATE_TOPIC,
    AnyMessage,
    topic_of,
)
from services.aggregate.release import Record, build_message, encode_message, split_phases

START = datetime(2026, 5, 1, tzinfo=UTC)
COUNTRIES = ("BD", "IN", "VN", "TR")


def release_time(n: int) -> datetime:
    """The n-th release of a test (n from 0), an hour apart."""
    return START + timedelta(hours=n)


def issue_cell(release_id: datetime, country: str, revision: int = 0) -> AnyMessage:
    return build_message(
        ISSUE_PREVALENCE,
        {"period": "2026-Q1", "country": country, "sector": "APPAREL_TEXTILES", "issue": "WAGES"},
        "published",
        {
            "audited_sites": 41,
            "sites_with_issue": 12,
            "by_severity": {"critical": 0, "major": 7, "minor": 5},
            "rate_pct": 29.3,
        },
        release_id,
        release_id + timedelta(seconds=4),
        revision,
    )


def forced_labour_cell(release_id: datetime, country: str, revision: int = 0) -> AnyMessage:
    return build_message(
        FORCED_LABOUR,
        {"period": "2026-Q1", "country": country, "sector": "APPAREL_TEXTILES"},
        "suppressed",
        None,
        release_id,
        release_id + timedelta(seconds=4),
        revision,
    )


def release_messages(n: int) -> list[AnyMessage]:
    """Release n: every issue cell again (revision n) and one forced-labour cell in the even ones."""
    at = release_time(n)
    out: list[AnyMessage] = [issue_cell(at, c, revision=n) for c in COUNTRIES]
    if n % 2 == 0:
        out.append(forced_labour_cell(at, COUNTRIES[n % len(COUNTRIES)], revision=n // 2))
    return out


def public_records(messages: Sequence[AnyMessage], prefix: str) -> list[Record]:
    """The release's public phase as aggregate commits it: its messages, then the release marker."""
    records: list[Record] = []
    for message in messages:
        key, value, headers = encode_message(message)
        records.append((topic_of(message.table), key, value, headers))
    # The state phase (split_phases' first list) is aggregate's business; deliver reads the second.
    _, public = split_phases([*records, (RELEASE_STATE_TOPIC, b"{}", b"{}", [])], messages[0].release_id)
    return [(prefix + topic, key, value, headers) for topic, key, value, headers in public]


async def publish_release(
    producer: AIOKafkaProducer, messages: Sequence[AnyMessage], prefix: str, *, abort: bool = False
) -> None:
    """One release in one transaction (`producer` is transactional); `abort=True` writes it and aborts."""
    await producer.begin_transaction()
    for topic, key, value, headers in public_records(messages, prefix):
        await producer.send(topic, value, key=key, headers=headers)
    if abort:
        await producer.abort_transaction()
    else:
        await producer.commit_transaction()


def new_secret(seed: int) -> str:
    """A Standard Webhooks secret (whsec_ + base64 of 32 bytes), different per seed."""
    return "whsec_" + base64.b64encode(bytes((seed * 7 + i) % 256 for i in range(32))).decode()


def dumped(messages: Sequence[AnyMessage]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in messages]
