"""deliver's Prometheus alerts (deploy/prometheus/alerts-deliver.yml): valid, unit-tested by promtool
on series that must and must not fire them, and written against metrics deliver really exports.

Like tests/deploy/test_alerts.py: promtool comes from Debian's `prometheus` package; run alone, the
promtool tests are skipped unless SX_REQUIRE_TOOLS=1 (which scripts/test sets).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # stubs (types-PyYAML) are not a dev dependency
from prometheus_client import CollectorRegistry

from services.deliver.metrics import DeliverMetrics

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = "alerts-deliver.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and os.environ.get("SX_REQUIRE_TOOLS") != "1", reason="promtool is not installed"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, "promtool is required (Debian package prometheus; scripts/test installs it)"
    return subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_the_rules_are_valid() -> None:
    done = promtool("check", "rules", RULES)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_each_alert_fires_on_its_series_and_not_on_healthy_ones() -> None:
    done = promtool("test", "rules", "alerts-deliver.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def exported_metric_names() -> set[str]:
    names = {"up"}  # Prometheus's own
    registry = CollectorRegistry()
    DeliverMetrics(registry, endpoints=["sedex-main"])
    for family in registry.collect():
        names.update(sample.name for sample in family.samples)
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def test_every_alert_reads_a_metric_deliver_exports() -> None:
    rules = [
        rule
        for group in yaml.safe_load((PROMETHEUS / RULES).read_text())["groups"]
        for rule in group["rules"]
    ]
    assert len(rules) == 4
    names = re.compile(r"\b(?:sx_[a-z_]+|up)\b(?=[{\[ )]|$)")
    used = {name for rule in rules for name in names.findall(rule["expr"])}
    assert {
        "sx_deliver_attempts_total",
        "sx_deliver_dead_letters_total",
        "sx_deliver_backlog_releases",
    } <= used
    assert used <= exported_metric_names(), used - exported_metric_names()


def test_the_metric_names_other_engineers_build_on() -> None:
    """Alerts and dashboards elsewhere use these exact names: renaming one must fail here first."""
    assert {
        "sx_deliver_attempts_total",
        "sx_deliver_failures_total",
        "sx_deliver_dead_letters_total",
        "sx_deliver_latency_seconds_bucket",
        "sx_deliver_latency_seconds_count",
        "sx_deliver_backlog_releases",
    } <= exported_metric_names()
