"""Fitting and predicting one series: statsforecast's models on the published values, one step ahead.

The models are statsforecast's (Nixtla), called directly on a numpy array (no data frame, no process
pool): a fit is deterministic (same input, same floats), and a release fits each changed series once.
`METHOD` is the model the service publishes; the others are there for the backtest
(`python -m bench.forecast`), which is what chose it (docs/aggregate.md, "Forecasts").

statsforecast 2.x has no JIT (its kernels are compiled C++); it is imported at the first fit, so a
service pays the import (pandas, statsmodels: about 1.5 s) inside its first release, which is planned
in a worker thread, and a standby that never releases never pays it. `warm_up` measures that cost for
the backtest.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import numpy as np

log = logging.getLogger("sx.aggregate.forecast")

LEVEL: Final = 80
"""The prediction interval's nominal coverage, in %."""
METHOD: Final = "AutoETS"
"""What the service publishes (`ForecastMessage.method`)."""
MIN_PERIODS: Final = 7
"""The shortest series forecast: AutoETS needs seven values to fit even its simplest model."""


@dataclass(frozen=True, slots=True)
class Forecast:
    """A one-step forecast of a rate in %, rounded half up to one decimal and clamped to [0, 100], with
    lower <= point <= upper."""

    point: float
    lower: float
    upper: float


def round_pct(value: float) -> float:
    """Half up to one decimal, clamped to [0, 100], as the tables' shares are rounded."""
    clamped = min(100.0, max(0.0, value))
    return float(Decimal(repr(clamped)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _models() -> dict[str, Callable[[int], Any]]:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive

    return {
        "AutoETS": lambda season: AutoETS(season_length=season),
        "AutoTheta": lambda season: AutoTheta(season_length=season),
        "AutoARIMA": lambda season: AutoARIMA(season_length=season),
        "Naive": lambda season: Naive(),
    }


MIN_PERIODS_OF: Final[dict[str, int]] = {"AutoETS": 7, "AutoTheta": 4, "AutoARIMA": 4, "Naive": 2}
"""The shortest series each model fits (statsforecast refuses shorter ones as "tiny datasets")."""


def predict(values: Sequence[float], season_length: int, method: str = METHOD) -> Forecast | None:
    """The next value of `values` (oldest first) with its `LEVEL` % interval, or None when the model
    fails or gives no finite forecast (the caller then publishes none)."""
    if len(values) < MIN_PERIODS_OF[method]:
        raise ValueError(f"{method} needs at least {MIN_PERIODS_OF[method]} values, got {len(values)}")
    y = np.asarray(values, dtype=np.float64)
    model = _models()[method](season_length)
    try:
        with warnings.catch_warnings():
            # Short or flat series make statsforecast warn (zero variance, few residuals); the result is
            # checked below instead.
            warnings.simplefilter("ignore")
            result = model.forecast(y=y, h=1, level=[LEVEL])
    except Exception:
        # A series the model cannot fit must not stop the release of the tables: no forecast for it.
        log.warning("%s could not fit a series of %d values", method, len(values), exc_info=True)
        return None
    point, lower, upper = (
        float(np.asarray(result[name], dtype=np.float64).ravel()[0])
        for name in ("mean", f"lo-{LEVEL}", f"hi-{LEVEL}")
    )
    if not all(math.isfinite(v) for v in (point, lower, upper)):
        return None
    p = round_pct(point)
    return Forecast(p, min(p, round_pct(lower)), max(p, round_pct(upper)))


def warm_up() -> float:
    """Import statsforecast and run `METHOD` once; returns the seconds it took."""
    import time

    started = time.perf_counter()
    predict([10.0, 11.0, 12.0, 11.0, 10.0, 11.0, 12.0, 11.0], 4)
    return time.perf_counter() - started
