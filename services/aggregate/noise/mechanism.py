"""The noise itself: OpenDP's discrete Gaussian mechanism, and what it costs in zCDP.

OpenDP (the contract names it) samples the noise with a cryptographically secure generator and does
the privacy arithmetic: `cost` asks the measurement itself what a draw of a given sensitivity spends,
rather than trusting a formula copied here. The exchange never seeds or replays the sampler: a value,
once drawn, is stored on the release-state topic and read back (`ledger.py`), so nothing is redrawn.

`Sampler` is the seam tests use to count calls or to switch the noise off (a test of the protection
must fail then); production always uses `discrete_gaussian`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

import opendp.prelude as dp

dp.enable_features("contrib")


class Sampler(Protocol):
    def __call__(self, values: Sequence[int], scale: float) -> list[int]: ...


@cache
def _measurement(scale: float) -> Any:
    return dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=float), scale=scale)


def discrete_gaussian(values: Sequence[int], scale: float) -> list[int]:
    """Each value plus independent discrete Gaussian noise of the given scale (sigma)."""
    if not values:
        return []
    return [int(v) for v in _measurement(scale)(list(values))]


def scale_for(sensitivity: float, rho: float) -> float:
    """The smallest scale whose draw of that L2 sensitivity costs at most rho (zCDP): Delta/sqrt(2 rho),
    nudged up so OpenDP's rounded-up arithmetic stays within rho."""
    scale = sensitivity / math.sqrt(2 * rho) * (1 + 1e-9)
    while cost(sensitivity, scale) > rho:
        scale *= 1 + 1e-9
    return scale


def cost(sensitivity: float, scale: float) -> float:
    """rho (zCDP) of one draw of that L2 sensitivity at that scale, as OpenDP accounts it."""
    return float(_measurement(scale).map(sensitivity))
