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
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # stubs (types-PyYAML) are not a dev dependency

from tests.support.metric_names import exported_metric_names, promql_metric_names

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and os.environ.get("SX_REQUIRE_TOOLS") != "1", reason="promtool is not installed"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, "promtool is required (Debian package prometheus; scripts/test installs it)"
    return subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)


def rule_files() -> list[Path]:
    """What prometheus.yml loads (`alerts*.yml` beside it): this file's and any other service's rules."""
    found = sorted(PROMETHEUS.glob("alerts*.yml"))
    assert PROMETHEUS / "alerts.yml" in found
    return found


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def test_prometheus_loads_every_rule_file_and_scrapes_every_service() -> None:
    config = load(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == ["alerts*.yml"]
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert jobs == {
        "sx-ingest": ["127.0.0.1:6066"],
        "sx-normalize": ["127.0.0.1:6067"],
        "sx-aggregate": ["127.0.0.1:6068"],
        "sx-deliver": ["127.0.0.1:6069"],
    }
    # The unit tests are not rules: a test file matching the glob would be loaded and fail the config.
    assert not list(PROMETHEUS.glob("alerts*.test.yml"))


@needs_promtool
@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-compose.yml"])
def test_the_rules_and_the_scrape_configs_are_valid(config: str) -> None:
    for args in (("check", "rules", *(p.name for p in rule_files())), ("check", "config", config)):
        done = promtool(*args)
        assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_each_alert_fires_on_its_series_and_not_on_healthy_ones() -> None:
    tests = sorted(p.relative_to(PROMETHEUS) for p in (PROMETHEUS / "tests").glob("*.test.yml"))
    assert Path("tests/alerts.test.yml") in tests
    done = promtool("test", "rules", *map(str, tests))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_rule_is_unit_tested() -> None:
    tested = {
        case["alertname"]
        for path in (PROMETHEUS / "tests").glob("*.test.yml")
        for test in load(path)["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")  # fired at least once, not only "stays quiet"
    }
    rules = {rule["alert"] for path in rule_files() for g in load(path)["groups"] for rule in g["rules"]}
    assert rules <= tested, f"alerts no test sees firing: {sorted(rules - tested)}"


def test_every_alert_reads_a_metric_a_service_exports() -> None:
    rules = [rule for path in rule_files() for group in load(path)["groups"] for rule in group["rules"]]
    assert len(rules) >= 13
    exported = exported_metric_names()
    for rule in rules:
        used = promql_metric_names(rule["expr"])
        assert used, f"{rule['alert']} reads no sx_ metric: {rule['expr']}"
        assert used <= exported, f"{rule['alert']} reads {sorted(used - exported)}, which no service exports"


def test_every_alert_has_a_runbook_entry_in_the_operations_doc() -> None:
    doc = (REPO / "docs" / "operations.md").read_text()
    anchors = {f"#{m.lower()}" for m in re.findall(r"^#+ .*?`?(Sx[A-Za-z]+)`?\s*$", doc, flags=re.MULTILINE)}
    for path in rule_files():
        for group in load(path)["groups"]:
            for rule in group["rules"]:
                runbook = rule["annotations"]["runbook"]
                assert runbook == f"docs/operations.md#{rule['alert'].lower()}", rule["alert"]
                anchor = runbook.partition("docs/operations.md")[2]
                assert anchor in anchors, f"no runbook heading: {rule['alert']}"
