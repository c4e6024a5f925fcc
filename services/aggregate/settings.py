"""Aggregate's configuration: one typed object, read from `AGGREGATE_*` and `KAFKA_BOOTSTRAP_SERVERS`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field, model_validator

from services.config import Port, WorkerSettings

from .disclosure.rules import DisclosureParams
from .noise.params import NoiseParams


def table_names(text: str) -> frozenset[str]:
    """A comma-separated list of table names (`AGGREGATE_DP_TABLES`, a benchmark's table flags)."""
    return frozenset(name.strip() for name in text.split(",") if name.strip())


class AggregateSettings(WorkerSettings):
    ENV_PREFIX = "AGGREGATE_"

    app_id: str = "sx-aggregate"
    web_port: Port = 6068
    data_dir: str = ".faust/aggregate"
    # Prefix of normalize's topics this service reads (normalize's NORMALIZE_TOPIC_PREFIX).
    input_prefix: str = ""
    # Prefix of every topic this service writes (tests use a private one).
    topic_prefix: str = ""
    granularity: Literal["quarter", "month"] = "quarter"
    grace_days: int = Field(default=30, ge=0)
    cadence_seconds: int = Field(default=3600, ge=1)
    # How often the scheduler looks at the clock; releases still happen only on the cadence grid.
    tick_seconds: float = Field(default=1.0, gt=0)
    # A fixed "now" (RFC 3339) instead of the wall clock: demos, tests and replays of history. With
    # `manual_clock`, POST /clock?now=<RFC 3339> moves it (never enable that in production).
    now: datetime | None = None
    manual_clock: bool = False
    # Leadership (lease.py): how long a silent leader keeps the lease before a standby takes it over.
    # The broker's group.min.session.timeout.ms (6 s by default) is the floor.
    lease_session_timeout_ms: int = Field(default=10_000, ge=6_000)
    # How long a transaction left open by a crashed leader blocks read_committed readers when no
    # successor fences it sooner.
    transaction_timeout_ms: int = Field(default=60_000, ge=1_000)
    # Crash tests only (needs manual_clock): keep the transaction of each release that publishes cells
    # open this long after its records are sent, so a test can kill the process mid-transaction.
    hold_transaction_seconds: float = Field(default=0.0, ge=0)
    k_sites: int = 5
    k_insider: int = 3
    outcome_min: int = 20
    k_delta: int = 5
    # Differential-privacy mode (aggregates.md; off by default): the tables to publish with noise,
    # comma-separated (e.g. "forced-labour"), the zCDP budget per period for all of them and every
    # revision together, and how many draws of a period each table may make.
    dp_tables: str = ""
    dp_rho_per_period: float = Field(default=2.0, gt=0)
    dp_draws_per_period: int = Field(default=3, ge=1)

    def noise_params(self) -> NoiseParams:
        """The differential-privacy mode configured; raises `NoiseParamsError` for an unknown table."""
        return NoiseParams(table_names(self.dp_tables), self.dp_rho_per_period, self.dp_draws_per_period)

    def disclosure_params(self) -> DisclosureParams:
        """The disclosure parameters configured; raises `DisclosureParamsError` below the contract's
        floor. Every exact table decides "no exact recovery" from populations alone: no setting
        selects the value LP, which the contract does not allow (`DisclosureParams.value_recovery`)."""
        return DisclosureParams(
            k_sites=self.k_sites,
            k_insider=self.k_insider,
            outcome_min=self.outcome_min,
            k_delta=self.k_delta,
        )

    @model_validator(mode="after")
    def _test_hooks_need_the_manual_clock(self) -> AggregateSettings:
        if self.hold_transaction_seconds and not self.manual_clock:
            raise ValueError("hold_transaction_seconds is a crash-test hook: it needs manual_clock")
        return self

    def input_topic(self, name: str) -> str:
        return f"{self.input_prefix}{name}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def grace(self) -> timedelta:
        return timedelta(days=self.grace_days)

    @property
    def cadence(self) -> timedelta:
        return timedelta(seconds=self.cadence_seconds)

    def start_time(self) -> datetime | None:
        return None if self.now is None else self.now.astimezone(UTC)
