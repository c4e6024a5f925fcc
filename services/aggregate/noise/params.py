"""The differential-privacy mode's parameters (aggregates.md, "Differential-privacy mode").

Off by default: a deployment lists the tables it wants noisy. The budget is zero-concentrated DP
(zCDP, rho) per period, for every noisy table and every revision together: each noisy table may draw a
period's values `draws_per_period` times (its first release and that many minus one revisions), and
each draw costs `rho_per_period / (noisy tables x draws_per_period)`, so a period can never spend more
than `rho_per_period` whatever happens. A revision the budget cannot pay for is held (the cell keeps
its last release), exactly as a change the revision rule does not let through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from schemas.exchange.aggregates import AUDIT_QUALITY, CAPACITY_BUILDING, REMEDIATION, TABLES

# Tables with no differential-privacy mode, and why (a deployment that lists one is refused at start-up).
NOT_NOISY: Final = {
    AUDIT_QUALITY: (
        "audit-quality publishes shares of audits and a mean, not site counts: its counts are per audit "
        "(one site can move several of them), critical_missed_pct divides by a count that is itself an "
        "outcome, and the consistency step has no rule for them; it is released exact, under the "
        "withholding rules"
    ),
    REMEDIATION: (
        "remediation counts findings, not sites: one site may bring any number of findings to a cell, so "
        "a per-site sensitivity needs a bound on findings per site (clipping) that the contract does not "
        "give, and its median and on-time share have no noisy form here; publish it with exact values "
        "under the disclosure rules instead"
    ),
    CAPACITY_BUILDING: "its rates are shares of unpublished groups tied to issue-prevalence's next period; "
    "the differential-privacy mode has no noisy form of them (docs/aggregate.md, capacity-building)",
}
NOISY_TABLES: Final = tuple(t for t in TABLES if t not in NOT_NOISY)


class NoiseParamsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class NoiseParams:
    tables: frozenset[str] = field(default_factory=frozenset)
    rho_per_period: float = 2.0
    draws_per_period: int = 3

    def __post_init__(self) -> None:
        refused = sorted(self.tables & set(NOT_NOISY))
        if refused:
            raise NoiseParamsError(
                "; ".join(f"no differential-privacy mode for table {t}: {NOT_NOISY[t]}" for t in refused)
            )
        unknown = sorted(self.tables - set(NOISY_TABLES))
        if unknown:
            raise NoiseParamsError(f"no differential-privacy mode for table(s) {', '.join(unknown)}")
        if not self.rho_per_period > 0:
            raise NoiseParamsError(f"rho_per_period must be positive, got {self.rho_per_period!r}")
        if isinstance(self.draws_per_period, bool) or self.draws_per_period < 1:
            raise NoiseParamsError(f"draws_per_period must be at least 1, got {self.draws_per_period!r}")

    @property
    def enabled(self) -> bool:
        return bool(self.tables)

    def rho_per_draw(self) -> float:
        """What one draw of one table's period may cost: the period's budget split evenly."""
        return self.rho_per_period / (len(self.tables) * self.draws_per_period)
