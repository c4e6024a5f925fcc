"""The shared schema both platforms are normalised to: what normalize writes and aggregate reads."""

from schemas.shared.models import (
    SHARED_RECORDS,
    SHARED_TOPICS,
    Announcement,
    Audit,
    AuditType,
    Consent,
    CorrectiveAction,
    CorrectiveActionStatus,
    Finding,
    LabourRelations,
    MemberRef,
    MemberRole,
    Platform,
    PlatformSite,
    SharedRecord,
    Training,
)

__all__ = [
    "SHARED_RECORDS",
    "SHARED_TOPICS",
    "Announcement",
    "Audit",
    "AuditType",
    "Consent",
    "CorrectiveAction",
    "CorrectiveActionStatus",
    "Finding",
    "LabourRelations",
    "MemberRef",
    "MemberRole",
    "Platform",
    "PlatformSite",
    "SharedRecord",
    "Training",
]
