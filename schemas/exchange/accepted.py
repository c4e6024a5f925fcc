"""The envelope ingest writes to `exchange.ingest.accepted.v1`, read by normalize.

The envelope repeats the platform event's identity (platform, event id, entity and version) in
one shape for both platforms, so that normalize can order and de-duplicate without knowing either
format; the `event` itself is the validated platform event re-serialised from its model, so a field
the model does not know never travels past ingest.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
)

from schemas.platform import AmforiEvent, AmforiEventFromJson, SedexEvent, SedexEventFromJson
from schemas.platform.common import JSON_PARSING

Platform = Literal["sedex", "amfori"]
EntityKind = Literal["site", "audit", "finding", "company", "training"]


def _platform_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return "sedex" if "eventType" in value else "amfori" if "type" in value else None
    return "sedex" if hasattr(value, "payload") else "amfori"


PlatformEventUnion = Annotated[
    Annotated[SedexEvent, Tag("sedex")] | Annotated[AmforiEvent, Tag("amfori")],
    Discriminator(_platform_of),
]


class SourcePosition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


CE_SPECVERSION: Final = b"1.0"
ACCEPTED_CE_SOURCE: Final = "urn:sourcing-exchange:ingest"
"""CloudEvents `ce_source` of accepted envelopes, followed by `/<platform>`."""


class AcceptedEvent(BaseModel):
    """One admitted platform event. Key on the topic: the platform message's own key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    platform: Platform
    event_id: str
    event_type: str
    entity_kind: EntityKind
    entity_id: str
    entity_version: int = Field(ge=1)
    company_ref: str
    site_ref: str | None
    occurred_at_ms: int = Field(ge=0)
    source: SourcePosition
    event: PlatformEventUnion


def _fast_envelope(platform: Platform, event: Any) -> type[BaseModel]:
    """`AcceptedEvent`'s fields, with `platform` fixed and `event` of that platform's union without
    its error-relocating guard (whose wrap validator makes pydantic validate python objects)."""
    fields: dict[str, Any] = {name: (f.annotation, f) for name, f in AcceptedEvent.model_fields.items()}
    fields["platform"] = (Literal[platform], ...)
    fields["event"] = (event, ...)
    return create_model(
        f"_{platform.capitalize()}AcceptedEvent", __config__=AcceptedEvent.model_config, **fields
    )


_FAST_ENVELOPE: Final[TypeAdapter[Any]] = TypeAdapter(
    Annotated[  # type: ignore[arg-type]
        _fast_envelope("sedex", SedexEventFromJson) | _fast_envelope("amfori", AmforiEventFromJson),
        Field(discriminator="platform"),
    ],
    config=JSON_PARSING,
)


def parse_accepted(value: bytes) -> AcceptedEvent:
    """An accepted envelope from its bytes, as `AcceptedEvent.model_validate_json` reads it, in
    pydantic-core's JSON mode: the envelope's event validated through its platform's union without the
    guard took a tenth of normalize's time in python mode (py-spy, `bench.normalize`). Whatever the fast
    path refuses is read again by `AcceptedEvent` itself, so the same values are refused with the same
    errors; what it accepts, `AcceptedEvent` accepts as the same model (tests/schemas)."""
    try:
        fast = _FAST_ENVELOPE.validate_json(value)
    except ValidationError:
        return AcceptedEvent.model_validate_json(value)
    return AcceptedEvent.model_construct(fast.model_fields_set, **fast.__dict__)
