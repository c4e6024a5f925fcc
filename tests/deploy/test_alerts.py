"""The Prometheus alerts (deploy/prometheus): valid, unit-tested by promtool on series that must and
must not fire them, and written against metrics the services really export.

promtool comes from Debian's `prometheus` package, which `scripts/test` installs; run alone, the
promtool tests are skipped unless SX_REQUIRE_TOOLS=1 (which scripts/test sets), so CI cannot skip them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.aggregate.metrics import AggregateMetrics
from services.ingest.metrics import IngestMetrics
from services.normalize.metrics import NormalizeMetrics

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and os.environ.get("SX_REQUIRE_TOOLS") != "1", reason="promtool is not installed"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, "promtool is required (Debian package prometheus; scripts/test installs it)"
    return subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_the_rules_and_the_scrape_config_are_valid() -> None:
    for args in (("check", "rules", "alerts.yml"), ("check", "config", "prometheus.yml")):
        done = promtool(*args)
        assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_each_alert_fires_on_its_series_and_not_on_healthy_ones() -> None:
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def exported_metric_names() -> set[str]:
    names = {"up", "sx_broker_reachable"}  # Prometheus's own, and services.web's probe gauge
    for metrics in (IngestMetrics, NormalizeMetrics, AggregateMetrics):
        registry = CollectorRegistry()
        metrics(registry)
        for family in registry.collect():  # a labelled counter has no sample until a label is used
            names.update(sample.name for sample in family.samples)
            names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def test_every_alert_reads_a_metric_a_service_exports() -> None:
    text = (PROMETHEUS / "alerts.yml").read_text()
    expressions = re.findall(r"^\s+expr: (.+)$", text, flags=re.MULTILINE)
    assert len(expressions) >= 8
    used = {name for expr in expressions for name in re.findall(r"\b(?:sx_[a-z_]+|up)\b(?=[{\[ ]|$)", expr)}
    assert used and used <= exported_metric_names(), used - exported_metric_names()
