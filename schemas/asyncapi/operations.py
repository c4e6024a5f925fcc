"""The operations: which service sends to or receives from which channel, and why.

Read with ``channels``: an operation names a channel by its id, and carries every message of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.asyncapi.channels import NORMALIZED, normalized_channel, table_channel
from schemas.exchange.aggregates import TABLES


@dataclass(frozen=True)
class Operation:
    service: str
    action: Literal["send", "receive"]
    channel: str
    summary: str

    @property
    def id(self) -> str:
        return f"{self.service}_{self.action}_{self.channel}"


def operations() -> tuple[Operation, ...]:
    normalized = [normalized_channel(model) for model in NORMALIZED]
    return (
        Operation("ingest", "receive", "sedexChanges", "Validate each Sedex change event."),
        Operation("ingest", "receive", "amforiChanges", "Validate each amfori change event."),
        Operation("ingest", "send", "ingestAccepted", "Forward an admitted event in the common envelope."),
        Operation("ingest", "send", "ingestDeadLetters", "Dead-letter a rejected platform message."),
        Operation("ingest", "send", "ingestSeen", "Record the positions that carried a forwarded event."),
        Operation("ingest", "receive", "ingestSeen", "Load the forwarded events before starting."),
        Operation("normalize", "receive", "ingestAccepted", "Map accepted events to shared records."),
        *(Operation("normalize", "send", c, "Write the current record, or a tombstone.") for c in normalized),
        Operation("normalize", "send", "normalizeDeadLetters", "Dead-letter an envelope it cannot map."),
        Operation("normalize", "send", "normalizeVersions", "Record the version applied to an entity."),
        Operation("normalize", "receive", "normalizeVersions", "Load the versions applied so far."),
        Operation("normalize", "receive", "normalizeQuarantine", "Load the quarantined events."),
        *(
            Operation("aggregate", "receive", c, "Maintain the aggregates' inputs.")
            for c in normalized  # aggregate reads every normalized topic
        ),
        *(Operation("aggregate", "send", table_channel(t), f"Release the {t} cells.") for t in TABLES),
        Operation(
            "aggregate", "send", "aggregatesForecasts", "Forecast the published issue-prevalence series."
        ),
        Operation("aggregate", "send", "aggregateReleaseState", "Record each cell's release and the marker."),
        Operation("aggregate", "receive", "aggregateReleaseState", "Load the release history."),
        *(
            Operation(
                "deliver", "receive", table_channel(t), "Gather each release's messages for the webhooks."
            )
            for t in TABLES
        ),
        Operation("deliver", "receive", "aggregateReleaseState", "Read the release markers (nothing else)."),
        Operation("deliver", "send", "deliverState", "Record the last release done for an endpoint."),
        Operation("deliver", "receive", "deliverState", "Load what each endpoint has had."),
        Operation("deliver", "send", "deliverDeadLetters", "Dead-letter a release for one endpoint."),
    )
