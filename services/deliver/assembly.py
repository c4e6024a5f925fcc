"""Gathering one release's public messages from the table topics. Pure: no Kafka.

Aggregate writes a release's public messages and its release marker in one transaction; the follower
(`follow.py`) reads them read_committed and calls `complete` once the marker is visible *and* it has
read every table partition past the records written before the marker (so all the release's messages
are in). Messages are kept per release until then; the assembler forgets what no endpoint still
needs (`floor`) and everything of a release once it is complete, so memory holds only releases in
flight, not the tables' history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.exchange.aggregates import TABLES, AnyMessage, parse_message
from schemas.exchange.deliver import RELEASE_WEBHOOK_TYPE, ReleaseData, ReleaseWebhook


@dataclass(frozen=True)
class CompleteRelease:
    """Every public message of one release, by table, ordered by cell key (deterministic bodies)."""

    release_id: datetime
    messages: dict[str, tuple[AnyMessage, ...]]

    def count(self, tables: tuple[str, ...]) -> int:
        return sum(len(self.messages.get(t, ())) for t in tables)

    def body_for(self, tables: tuple[str, ...]) -> bytes | None:
        """The webhook body for an endpoint subscribed to `tables`; None when the release changed no
        cell of those tables (nothing to tell that endpoint)."""
        chosen = [t for t in TABLES if t in tables]
        messages = [m for t in chosen for m in self.messages.get(t, ())]
        if not messages:
            return None
        webhook = ReleaseWebhook(
            type=RELEASE_WEBHOOK_TYPE,
            timestamp=self.release_id,
            data=ReleaseData(release_id=self.release_id, tables=chosen, messages=messages),
        )
        return webhook.model_dump_json().encode()


class ReleaseAssembler:
    def __init__(self, floor: datetime | None = None) -> None:
        # Releases at or before `floor` are done for every endpoint: their messages are not kept.
        self.floor = floor
        self._pending: dict[datetime, dict[tuple[str, bytes], AnyMessage]] = {}

    def add(self, table: str, key: bytes, value: bytes) -> None:
        """Keep one public message (raises pydantic.ValidationError on an unreadable one). A cell
        written twice in one release (a republished transaction) counts once, the last value."""
        message = parse_message(value)
        if message.table != table:
            raise ValueError(f"a {message.table} message on the {table} topic")
        if self.floor is not None and message.release_id <= self.floor:
            return
        self._pending.setdefault(message.release_id, {})[(table, key)] = message

    def complete(self, release_id: datetime) -> CompleteRelease | None:
        """The release, complete; None if it is at or before the floor (already done everywhere, or
        a marker seen twice). Forgets it and everything before it."""
        if self.floor is not None and release_id <= self.floor:
            return None
        cells = self._pending.pop(release_id, {})
        by_table: dict[str, list[tuple[bytes, AnyMessage]]] = {}
        for (table, key), message in cells.items():
            by_table.setdefault(table, []).append((key, message))
        self.floor = release_id
        for earlier in [r for r in self._pending if r <= release_id]:
            del self._pending[earlier]  # a release without a marker (aborted ones are never read)
        ordered = {t: tuple(m for _, m in sorted(by_table[t], key=lambda km: km[0])) for t in by_table}
        return CompleteRelease(release_id, {t: ordered[t] for t in TABLES if t in ordered})

    @property
    def releases_held(self) -> int:
        return len(self._pending)
