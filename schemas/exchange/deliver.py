"""What the webhook `deliver` service sends and keeps (docs/deliver.md).

* `ReleaseWebhook` is the body of every POST: one release of the public aggregate tables, restricted
  to the tables the endpoint subscribed to, shaped as the Standard Webhooks payload (`type`,
  `timestamp`, `data`). It carries only public messages, exactly as they are on the public topics.
* `DeliveryRecord` is deliver's own state (compacted, key = the endpoint's name): the last release an
  endpoint acknowledged or that was dead-lettered for it. A restarted deliver resumes after it.
* `DeliverDeadLetter` says which release could not be delivered to which endpoint and why: a pointer
  (release id, tables, webhook id), never the payload, the URL or the secret.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.exchange.aggregates import TABLES, AggregateMessage, ReleaseTime

RELEASE_WEBHOOK_TYPE: Final = "aggregates.release"
ENDPOINT_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,62}$"
"""An endpoint's configured name: short and bounded, so it may label metrics (the URL never does)."""
WEBHOOK_ID_PATTERN: Final = r"^msg_[0-9a-f]{32}$"

EndpointName = Annotated[str, Field(pattern=ENDPOINT_NAME_PATTERN)]
WebhookId = Annotated[str, Field(pattern=WEBHOOK_ID_PATTERN)]
TableName = Literal[
    "issue-prevalence",
    "forced-labour",
    "labour-relations",
    "audit-quality",
    "remediation",
    "capacity-building",
]
assert set(TableName.__args__) == set(TABLES)  # type: ignore[attr-defined]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class ReleaseData(_Model):
    release_id: ReleaseTime = Field(description="The release: its scheduled time.")
    tables: list[TableName] = Field(description="The tables the endpoint subscribed to, in registry order.")
    messages: list[AggregateMessage] = Field(
        description="Every message of the release on those tables, as on the public topics, "
        "ordered by table then cell key. A cell absent here did not change in this release."
    )


class ReleaseWebhook(_Model):
    """The body of a webhook POST: one release (Standard Webhooks payload structure). The request's
    `webhook-id` is the same for every attempt of this release to this endpoint, across restarts."""

    type: Literal["aggregates.release"]
    timestamp: ReleaseTime = Field(description="The release time (the release id).")
    data: ReleaseData


DeliveryOutcome = Literal["delivered", "dead_lettered"]


class DeliveryRecord(_Model):
    """INTERNAL STATE of deliver (compacted, key = the endpoint's name): the last release that is done
    for the endpoint, delivered (a 2xx answer) or dead-lettered. Releases are delivered to an endpoint
    in order, so every release up to this one is done too."""

    schema_version: Literal[1]
    endpoint: EndpointName
    release_id: ReleaseTime
    webhook_id: WebhookId
    outcome: DeliveryOutcome
    attempts: Annotated[int, Field(ge=1)]


DeadLetterReason = Literal["http_4xx", "http_5xx", "http_other", "timeout", "connect", "transport"]


class DeliverDeadLetter(_Model):
    """A release deliver gave up on for one endpoint after its configured number of attempts. A
    pointer: the release's messages are on the public topics (`release_id`, `tables`); the payload,
    the URL and the secret are never copied here. Key: the endpoint's name."""

    schema_version: Literal[1]
    endpoint: EndpointName
    organisation: Annotated[str, Field(min_length=1, max_length=64)]
    release_id: ReleaseTime
    tables: list[TableName]
    webhook_id: WebhookId
    messages: Annotated[int, Field(ge=0, description="How many messages the payload held.")]
    attempts: Annotated[int, Field(ge=1)]
    reason_class: DeadLetterReason = Field(description="Why the last attempt failed.")
    last_status: Annotated[int, Field(ge=100, le=599)] | None = Field(
        description="The HTTP status of the last attempt, if it got an answer."
    )
