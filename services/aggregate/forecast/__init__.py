"""Next-period forecasts of issue-prevalence `rate_pct`, from the published view alone (docs/aggregate.md,
"Forecasts"): `series` reads the published messages, `model` fits statsforecast, `messages` makes the
records of a release."""

from .messages import ForecastPlan, plan_forecasts

__all__ = ["ForecastPlan", "plan_forecasts"]
