"""Rolling-origin backtest of the issue-prevalence forecasts on the simulator's feed of several years.

The simulator's feed of both platforms over `--years` years from `--start` is admitted as ingest admits
it and normalised in this process (`bench.normalize`'s path, demo key). Aggregate's state follows the
normalised records in feed order, and a release is planned in process (`plan_release`, default
disclosure parameters, quarters, 30 days' grace) at each quarter's closing time, as the service would
release it; the release log carries over from release to release, so late audits are revisions and the
revision rule holds cells as in production.

Each release is an origin. At that origin, every series the service would forecast (its cell at the
latest period is published with outcomes; `--min-periods` consecutive published values ending there;
`services.aggregate.forecast.series`) is forecast one period ahead by every method, from the published
view at the origin only. The forecast is scored against the value the *next* release publishes for the
target cell (pairs whose target is not published with outcomes then are not scored). Figures per method,
over the pairs every method could fit:

* MAE in percentage points, and the relative MAE against the naive last-value forecast;
* MASE: mean over pairs of |error| / the series' in-sample naive error (mean |y_t - y_{t-1}| of the
  values the forecast used); pairs with a flat history (scale 0) are left out of MASE and counted;
* the share of published values inside the 80 % interval (the naive forecast's interval is
  statsforecast's, from the in-sample one-step errors).

    python -m bench.forecast --years 4 --sites 600 [--seed 42] [--min-periods 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from bench.accepted import admitted
from bench.inprocess import demo_normalizer
from schemas.exchange.accepted import AcceptedEvent
from services.aggregate.forecast import model
from services.aggregate.forecast.series import Series, published_rates, season_length, series_of
from services.aggregate.planner import plan_release
from services.aggregate.population import INPUT_TOPICS, NormalizedState
from services.aggregate.release import ReleaseLog
from services.aggregate.schedule import closes_at, period_of
from services.aggregate.settings import AggregateSettings
from services.normalize.mapping import MappingError
from simulator.feed import generate_feed

METHODS = ("Naive", "AutoETS", "AutoTheta", "AutoARIMA")


def _quarters(start: date, years: int) -> list[str]:
    out, day = [], start
    while day < date(start.year + years, start.month, 1):
        if (p := period_of(day)) not in out:
            out.append(p)
        day += timedelta(days=31)
    return out


def releases(
    years: int, sites: int, seed: int, start: date, failed: list[str]
) -> Iterator[tuple[datetime, ReleaseLog, float]]:
    """(release time, the log after that release, seconds the release took to plan) for each quarter of
    the feed, the state following the normalised records in feed order up to each release. A release
    whose plan raises is noted in `failed` and leaves the log as it was (as a failed release does in the
    service, which retries it later with the state of then)."""
    feed = generate_feed(seed, sites, start=start, months=12 * years)
    settings = AggregateSettings()
    params = settings.disclosure_params()
    normalizer = demo_normalizer()
    wanted = frozenset(INPUT_TOPICS)
    state, log = NormalizedState(), ReleaseLog()
    due = [closes_at(p, settings.grace) for p in _quarters(start, years)]

    def release(at: datetime) -> tuple[datetime, ReleaseLog, float]:
        nonlocal log
        started = time.perf_counter()
        planned = log.copy()
        try:
            plan_release(state, planned, params, at, granularity="quarter", grace=settings.grace)
        except RuntimeError as exc:  # a release that fails is noted; the service would retry it
            failed.append(f"{at:%Y-%m-%d}: {exc}")
            return at, log, time.perf_counter() - started
        log = planned
        return at, log, time.perf_counter() - started

    for envelope in admitted(feed.messages):
        if envelope is None:
            continue
        event = AcceptedEvent.model_validate_json(envelope.value)
        occurred = datetime.fromtimestamp(event.occurred_at_ms / 1000, UTC)
        while due and occurred >= due[0]:
            yield release(due.pop(0))
        try:
            outcome = normalizer.process(event)
        except MappingError:
            continue
        for record in outcome.records:
            if record.topic in wanted:
                state.apply(record.topic, record.key, record.value)
    for at in due:
        yield release(at)


@dataclass
class Scores:
    errors: list[float] = field(default_factory=list)
    scaled: list[float] = field(default_factory=list)
    inside: list[bool] = field(default_factory=list)
    fit_seconds: float = 0.0
    fits: int = 0


def _scale(values: tuple[float, ...]) -> float:
    return statistics.fmean(abs(b - a) for a, b in pairwise(values))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--sites", type=int, default=600, help="sites per platform")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2022, 1, 1))
    parser.add_argument("--min-periods", type=int, default=model.MIN_PERIODS)
    args = parser.parse_args(argv)
    if args.min_periods < max(model.MIN_PERIODS_OF[m] for m in METHODS):
        parser.error(f"--min-periods must be at least {max(model.MIN_PERIODS_OF.values())}")

    started = time.perf_counter()
    warm = model.warm_up()
    pending: list[Series] = []  # the previous origin's series, scored at this release
    forecasts: dict[tuple[bytes, str], model.Forecast | None] = {}
    scores = {m: Scores() for m in METHODS}
    origins, series_seen, flat, unpublished = 0, set(), 0, 0
    plan_seconds: list[float] = []
    failed: list[str] = []
    for at, log, seconds in releases(args.years, args.sites, args.seed, args.start, failed):
        plan_seconds.append(seconds)
        messages = [released.message for _, released in log.items()]
        rates = published_rates(messages)
        for s in pending:  # score the previous origin's forecasts against what this release shows
            actual = rates.get((s.country, s.sector, s.issue), {}).get(s.target)
            if actual is None:
                unpublished += 1
                continue
            results = {m: forecasts[(s.key, m)] for m in METHODS}
            if any(r is None for r in results.values()):
                continue
            scale = _scale(s.values)
            flat += scale == 0
            for m, r in results.items():
                assert r is not None
                scores[m].errors.append(abs(r.point - actual))
                scores[m].inside.append(r.lower <= actual <= r.upper)
                if scale > 0:
                    scores[m].scaled.append(abs(r.point - actual) / scale)
        pending = series_of(messages, args.min_periods)
        forecasts.clear()
        if pending:
            origins += 1
        for s in pending:
            series_seen.add((s.country, s.sector, s.issue))
            for m in METHODS:
                t = time.perf_counter()
                forecasts[(s.key, m)] = model.predict(s.values, season_length(s.last_period), m)
                scores[m].fit_seconds += time.perf_counter() - t
                scores[m].fits += 1
        failure = (
            " (plan FAILED, log unchanged)" if failed and failed[-1].startswith(f"{at:%Y-%m-%d}:") else ""
        )
        print(
            f"release {at:%Y-%m-%d}: planned in {seconds:.1f} s{failure}, {len(pending)} series to forecast",
            flush=True,
        )
    naive = statistics.fmean(scores["Naive"].errors) if scores["Naive"].errors else float("nan")
    pairs = len(scores["Naive"].errors)
    print()
    print(
        f"{args.years} years x {args.sites} sites per platform (seed {args.seed}), quarters; "
        f"min {args.min_periods} published periods; {origins} origins, {len(series_seen)} series, "
        f"{pairs} scored pairs ({flat} with a flat history, out of MASE; {unpublished} targets not "
        "published with outcomes at the next release)"
    )
    print(f"{'method':<10} {'MAE pp':>7} {'rel MAE':>8} {'MASE':>6} {'80% cover':>9} {'fit ms':>7}")
    for m in METHODS:
        sc = scores[m]
        if not sc.errors:
            continue
        mae = statistics.fmean(sc.errors)
        mase = statistics.fmean(sc.scaled) if sc.scaled else float("nan")
        cover = 100 * sum(sc.inside) / len(sc.inside)
        per_fit = 1000 * sc.fit_seconds / max(1, sc.fits)
        print(f"{m:<10} {mae:7.2f} {mae / naive:8.2f} {mase:6.2f} {cover:8.1f}% {per_fit:7.1f}")
    for failure in failed:
        print(f"release {failure}: plan failed, the release log carried over unchanged")
    print(
        f"warm-up (import + first fit) {warm:.1f} s; releases planned in {sum(plan_seconds):.1f} s "
        f"(forecasts included); run time {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
