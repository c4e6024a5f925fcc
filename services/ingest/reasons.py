"""Why a message was dead-lettered, in two forms.

The reason *class* is a small closed set: it is the only thing that goes into metric labels and log lines,
because a reason's text may quote the message (an identifier, a clause) and logs must carry no raw ids.
The reason *text* is specific and readable, and travels only in the dead-letter message's headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.exchange.dead_letter import IngestReasonClass

ReasonClass = IngestReasonClass  # the contract's closed set, declared with the dead-letter schema


@dataclass(frozen=True)
class Rejection:
    reason_class: ReasonClass
    reason: str
