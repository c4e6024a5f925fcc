"""The noise is OpenDP's discrete Gaussian at the scale the budget pays for, and costs what it says."""

from __future__ import annotations

import math
import statistics

import pytest

from services.aggregate.noise import NoiseParams, NoiseParamsError, cost, discrete_gaussian, scale_for


@pytest.mark.parametrize(("delta", "rho"), [(1.0, 0.5), (math.sqrt(112), 1 / 6), (math.sqrt(48), 0.01)])
def test_the_scale_spends_the_budget_and_no_more(delta: float, rho: float) -> None:
    scale = scale_for(delta, rho)
    assert cost(delta, scale) <= rho
    assert cost(delta, scale) >= rho * 0.999999  # and not needlessly noisy
    assert scale == pytest.approx(delta / math.sqrt(2 * rho), rel=1e-6)  # zCDP of the Gaussian: Δ²/2σ²


def test_discrete_gaussian_is_integer_centred_and_of_the_scale() -> None:
    values = discrete_gaussian([100] * 20_000, 4.0)
    assert all(isinstance(v, int) for v in values)
    assert statistics.fmean(values) == pytest.approx(100, abs=0.15)
    assert statistics.pstdev(values) == pytest.approx(4.0, rel=0.05)


def test_the_budget_splits_over_tables_and_draws() -> None:
    params = NoiseParams(
        frozenset({"issue-prevalence", "forced-labour"}), rho_per_period=1.2, draws_per_period=3
    )
    assert params.rho_per_draw() == pytest.approx(0.2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tables": frozenset({"audit-quality-x"})},
        {"tables": frozenset({"forced-labour"}), "rho_per_period": 0.0},
        {"tables": frozenset({"forced-labour"}), "draws_per_period": 0},
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(NoiseParamsError):
        NoiseParams(**kwargs)  # type: ignore[arg-type]
