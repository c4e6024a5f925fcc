"""The provisioned Grafana dashboard (deploy/grafana): every panel reads metrics the services really
export, through the provisioned datasource, and together the panels show every metric the services
export, so a metric added or renamed without its panel fails here instead of leaving a gap or an
empty panel that nobody notices until an incident."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # stubs (types-PyYAML) are not a dev dependency

from tests.support.metric_names import exported_metric_names, promql_metric_names

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "sourcing-exchange.json"


def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def panels() -> list[dict[str, Any]]:
    """Every panel, rows' collapsed children included."""
    out: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def data_panels() -> list[dict[str, Any]]:
    return [p for p in panels() if p["type"] != "row"]


def provisioned(path: str) -> dict[str, Any]:
    data = yaml.safe_load((GRAFANA / "provisioning" / path).read_text())
    assert isinstance(data, dict)
    return data


def test_the_dashboard_has_a_stable_identity_and_unique_panel_ids() -> None:
    board = dashboard()
    assert board["uid"] == "sourcing-exchange" and board["title"]
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))


def test_every_panel_queries_the_provisioned_datasource() -> None:
    (source,) = provisioned("datasources/prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    for panel in data_panels():
        assert panel["targets"], f"{panel['title']} has no query"
        for ref in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert ref == {"type": "prometheus", "uid": source["uid"]}, panel["title"]


def test_every_expression_reads_only_metrics_the_services_export() -> None:
    exported = exported_metric_names()
    for panel in data_panels():
        for target in panel["targets"]:
            used = promql_metric_names(target["expr"])
            assert used, f"{panel['title']}: {target['expr']} reads no metric of the exchange"
            assert used <= exported, f"{panel['title']} reads {sorted(used - exported)}: not exported"


def test_every_exported_metric_is_on_the_dashboard() -> None:
    used = {name for p in data_panels() for t in p["targets"] for name in promql_metric_names(t["expr"])}
    # A histogram is shown through its buckets (quantiles): its `_sum` and `_count` are optional, and
    # `_created` is prometheus_client's bookkeeping.
    shown = {name for name in exported_metric_names() if not name.endswith(("_sum", "_count", "_created"))}
    assert not shown - used, f"exported but on no panel: {sorted(shown - used)}"


@pytest.mark.parametrize(
    ("title", "metrics"),
    [
        ("Ingest rate", {"sx_ingest_messages_consumed_total"}),
        ("Ingest dead letters", {"sx_ingest_messages_dead_lettered_total"}),
        ("Ingest processing time", {"sx_ingest_processing_seconds_bucket"}),
        ("Normalize rate", {"sx_normalize_events_consumed_total"}),
        ("Normalize failures and version jumps", {"sx_normalize_mapping_failures_total"}),
        ("Normalize processing time", {"sx_normalize_processing_seconds_bucket"}),
        ("Release failures", {"sx_aggregate_release_failures_total"}),
        ("Release duration", {"sx_aggregate_release_duration_seconds_bucket"}),
        ("Consumer lag", {"sx_consumer_lag_messages"}),
        ("Releases", {"sx_aggregate_releases_total"}),
        ("Time since the last release", {"sx_aggregate_last_release_timestamp_seconds"}),
        ("Cells by outcome", {"sx_aggregate_last_release_cells"}),
        ("Withheld cells by rule", {"sx_aggregate_last_release_withheld_cells"}),
        ("Privacy budget spent", {"sx_aggregate_privacy_budget_spent_ratio"}),
    ],
)
def test_the_issue_s_views_are_there(title: str, metrics: set[str]) -> None:
    """Rate, errors, duration and lag per service, the release history, the disclosure utility."""
    (panel,) = [p for p in data_panels() if p["title"] == title]
    assert metrics <= {name for t in panel["targets"] for name in promql_metric_names(t["expr"])}


def test_panels_do_not_overlap() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in panels():
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_the_dashboard_provider_loads_the_folder_compose_mounts() -> None:
    (provider,) = provisioned("dashboards/sourcing-exchange.yml")["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((GRAFANA.parents[1] / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(
    PROMTOOL is None and os.environ.get("SX_REQUIRE_TOOLS") != "1", reason="promtool is not installed"
)
def test_every_expression_parses_as_promql(tmp_path: Path) -> None:
    """promtool parses each panel's query, as a recording rule (Grafana's interval variables replaced
    by a duration), so a typo shows up here and not as "bad_data" on a panel."""
    assert PROMTOOL is not None, "promtool is required (Debian package prometheus; scripts/test installs it)"
    rules = [
        {
            "record": f"dashboard:panel_{p['id']}_{t['refId']}",
            "expr": t["expr"].replace("$__rate_interval", "1m"),
        }
        for p in data_panels()
        for t in p["targets"]
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
