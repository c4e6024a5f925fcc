"""The differential-privacy mode (aggregates.md, "Differential-privacy mode"), chosen per table.

In this mode the threshold, insider and outcome rules still decide what is shown, from populations
alone; the residual and exact-recovery rules withhold nothing, because no published outcome count is
exact. Every outcome count of a noisy table is drawn once per table and period with OpenDP's discrete
Gaussian (`mechanism`), with one site as the unit of privacy (`sensitivity`), post-processed so margins
are the sums of their cells and counts lie in [0, population] (`consistent`), stored before it is
published and never redrawn (`draw`), and paid for from a per-period zCDP budget shared by every
noisy table and every revision (`params`).
"""

from .consistent import consistent_counts
from .draw import Fingerprints, StoredDraw, budget_left, draw_period, fingerprint, period_spent, spent_ratio
from .mechanism import Sampler, cost, discrete_gaussian, scale_for
from .params import NOISY_TABLES, NoiseParams, NoiseParamsError
from .sensitivity import BASE_COUNTS, sensitivity, squared_sensitivity

__all__ = [
    "BASE_COUNTS",
    "NOISY_TABLES",
    "Fingerprints",
    "NoiseParams",
    "NoiseParamsError",
    "Sampler",
    "StoredDraw",
    "budget_left",
    "consistent_counts",
    "cost",
    "discrete_gaussian",
    "draw_period",
    "fingerprint",
    "period_spent",
    "scale_for",
    "sensitivity",
    "spent_ratio",
    "squared_sensitivity",
]
