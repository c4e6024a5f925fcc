"""What normalize dead-letters: a pointer to the accepted record it could not map, and why.

Not a copy: the accepted envelope holds raw platform data, which never leaves normalize. An operator
reads the original at `source_topic`/`source_partition`/`source_offset` of the accepted topic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NormalizeDeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    source_topic: str
    source_partition: int = Field(ge=0)
    source_offset: int = Field(ge=0)
    reason_class: str = Field(
        description="A small closed set (mapping error codes, invalid_envelope, internal_error)."
    )
    reason: str = Field(description="Names codes and field locations, never a raw identifier or free text.")
