"""The platform -> shared mapping: one accepted platform event in, the shared records it implies out.

``map_event(accepted, ctx)`` is pure (no I/O, no state): it neither checks versions (the app keeps
the version table, keyed by ``Output.version_entity``) nor resolves sites. Everything it cannot map
raises ``MappingError``, whose message never quotes raw identifiers or free text, for the app to
dead-letter. The crosswalk it applies is data (``Crosswalk``, defaulting to ``schemas.taxonomy``).
"""

from __future__ import annotations

from schemas.exchange.accepted import AcceptedEvent
from schemas.platform import amfori as af
from schemas.platform import sedex as sx

from . import ids
from .amfori import map_amfori
from .records import (
    DEFAULT_CROSSWALK,
    OUTPUT_MODELS,
    Crosswalk,
    MappingContext,
    MappingError,
    MappingErrorCode,
    Output,
    OutputKind,
)
from .sedex import map_sedex

_SEDEX_TYPES = (
    sx.SiteUpserted,
    sx.SiteRemoved,
    sx.AuditPublished,
    sx.AuditRevised,
    sx.AuditWithdrawn,
    sx.CorrectiveActionUpdated,
    sx.ConsentChanged,
    sx.TrainingCompleted,
)
_AMFORI_TYPES = (
    af.SiteUpdated,
    af.SiteDeleted,
    af.MonitoringCompleted,
    af.MonitoringUpdated,
    af.MonitoringCancelled,
    af.RemediationUpdated,
    af.ConsentUpdated,
    af.AcademyCompletion,
)


def map_event(accepted: AcceptedEvent, ctx: MappingContext) -> list[Output]:
    """The shared records (or tombstones) one accepted event implies, in a deterministic order."""
    event = accepted.event
    if isinstance(event, _SEDEX_TYPES):
        if accepted.platform != "sedex":
            raise MappingError(
                MappingErrorCode.INCONSISTENT_ENVELOPE, "a Sedex event in a non-Sedex envelope"
            )
        return map_sedex(event, ctx)
    if isinstance(event, _AMFORI_TYPES):
        if accepted.platform != "amfori":
            raise MappingError(
                MappingErrorCode.INCONSISTENT_ENVELOPE, "an amfori event in a non-amfori envelope"
            )
        return map_amfori(event, ctx)
    raise MappingError(MappingErrorCode.UNKNOWN_EVENT, "not a platform event the mapping knows")


__all__ = [
    "DEFAULT_CROSSWALK",
    "OUTPUT_MODELS",
    "Crosswalk",
    "MappingContext",
    "MappingError",
    "MappingErrorCode",
    "Output",
    "OutputKind",
    "ids",
    "map_amfori",
    "map_event",
    "map_sedex",
]
