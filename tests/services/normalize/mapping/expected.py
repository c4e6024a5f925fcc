"""The outputs a golden test expects: shared records built from the raw refs the test writes out.

The pseudonyms come from the test's own ``Pseudonymiser`` (conftest ``P``), never from the mapping.
Only what the envelope decides (platform, company, site, time) is filled in here; every field the
event's body decides stays written out in the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from schemas.shared import models as shared
from schemas.taxonomy import ForcedLabourIndicator, Issue, Severity
from services.normalize.mapping import Output, OutputKind
from services.normalize.pseudonymise import IdKind

Pseud = Callable[[IdKind, str], str]


def labour_relations(*, union: bool, committee: bool, cba: bool, grievance: bool) -> shared.LabourRelations:
    return shared.LabourRelations(
        has_union=union,
        has_worker_committee=committee,
        has_collective_agreement=cba,
        has_grievance_mechanism=grievance,
    )


@dataclass(frozen=True)
class Expected:
    """One platform's golden envelope: its refs, written out as the test's envelope writes them."""

    P: Pseud
    platform: Literal["sedex", "amfori"]
    company_ref: str
    site_ref: str
    at_ms: int

    def id(self, kind: IdKind, ref: str) -> str:
        return self.P(kind, f"{self.platform}:{ref}")

    @property
    def site_id(self) -> str:
        return self.id(IdKind.PLATFORM_SITE, self.site_ref)

    @property
    def company_id(self) -> str:
        return self.id(IdKind.COMPANY, self.company_ref)

    def output(self, kind: OutputKind, key: str, value: shared.SharedRecord | None, version: int) -> Output:
        """Keyed, versioned and timed by the entity itself, as every golden output is."""
        return Output(kind, key, value, key, version, self.at_ms)

    def platform_site(self, version: int, **body: Any) -> Output:
        value = shared.PlatformSite(
            site_id=self.site_id,
            platform=self.platform,
            company_id=self.company_id,
            version=version,
            updated_at_ms=self.at_ms,
            **body,
        )
        return self.output(OutputKind.PLATFORM_SITE, self.site_id, value, version)

    def finding(
        self,
        audit_ref: str,
        ref: str,
        source_code: str,
        issue: Issue,
        severity: Severity,
        *fl_indicators: ForcedLabourIndicator,
    ) -> shared.Finding:
        return shared.Finding(
            finding_id=self.id(IdKind.FINDING, f"{audit_ref}/{ref}"),
            source_code=source_code,
            issue=issue,
            severity=severity,
            fl_indicators=list(fl_indicators),
        )

    def audit(self, ref: str, version: int, **body: Any) -> Output:
        audit_id = self.id(IdKind.AUDIT, ref)
        value = shared.Audit(
            audit_id=audit_id,
            platform=self.platform,
            site_id=self.site_id,
            company_id=self.company_id,
            version=version,
            updated_at_ms=self.at_ms,
            **body,
        )
        return self.output(OutputKind.AUDIT, audit_id, value, version)

    def corrective_action(self, audit_ref: str, finding_ref: str, version: int, **body: Any) -> Output:
        finding_id = self.id(IdKind.FINDING, f"{audit_ref}/{finding_ref}")
        value = shared.CorrectiveAction(
            finding_id=finding_id,
            audit_id=self.id(IdKind.AUDIT, audit_ref),
            platform=self.platform,
            site_id=self.site_id,
            version=version,
            updated_at_ms=self.at_ms,
            **body,
        )
        return self.output(OutputKind.CORRECTIVE_ACTION, finding_id, value, version)

    def training(self, ref: str, version: int, **body: Any) -> Output:
        training_id = self.id(IdKind.TRAINING, ref)
        value = shared.Training(
            training_id=training_id,
            platform=self.platform,
            site_id=self.site_id,
            company_id=self.company_id,
            version=version,
            updated_at_ms=self.at_ms,
            **body,
        )
        return self.output(OutputKind.TRAINING, training_id, value, version)

    def consent(self, version: int, *, granted: bool) -> Output:
        value = shared.Consent(
            company_id=self.company_id,
            platform=self.platform,
            version=version,
            updated_at_ms=self.at_ms,
            granted=granted,
        )
        return self.output(OutputKind.CONSENT, self.company_id, value, version)

    def tombstone(self, kind: OutputKind, key: str, version: int) -> Output:
        return self.output(kind, key, None, version)
