"""docker-compose.yml must stay runnable although no Docker engine is here to run it.

Docker users are not in CI, so a stale compose file would only be found by them. The structural checks below
(always run) catch what drifts silently: the broker version against deploy/kafka/pom.xml, dangling
depends_on, commands naming modules that do not exist, and a healthcheck probing a port other than the one
published. `docker compose config` and the compose-spec JSON schema add full validation where available.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # stubs (types-PyYAML) are not a dev dependency

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
POM = REPO / "deploy" / "kafka" / "pom.xml"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    svcs = compose()["services"]
    assert isinstance(svcs, dict)
    return svcs


def pom_kafka_version() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    assert node is not None and node.text, "deploy/kafka/pom.xml has no <kafka.version>"
    return node.text.strip()


def command_argv(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def compose_cli() -> list[str] | None:
    """The compose CLI to use, or None: the plugin form first, then the standalone v2 binary."""
    candidates: list[list[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for cli in candidates:
        try:
            probe = subprocess.run([*cli, "version"], check=False, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return cli
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip(
            "`docker compose version` failed: no compose plugin or docker-compose binary on this machine"
        )
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE), "config", "-q"],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_kafka_image_matches_the_broker_version_in_the_pom() -> None:
    image = services()["kafka"]["image"]
    name, _, tag = image.partition(":")
    assert name == "apache/kafka"
    assert tag == pom_kafka_version()


def test_kafka_mirrors_the_broker_script_settings() -> None:
    env = {k: str(v) for k, v in services()["kafka"]["environment"].items()}
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS"] == "6"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert "kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "healthcheck" in services()["kafka"]


def test_every_depends_on_target_is_a_service() -> None:
    svcs = services()
    for name, svc in svcs.items():
        deps = svc.get("depends_on", {})
        targets = list(deps) if isinstance(deps, (dict, list)) else []
        for target in targets:
            assert target in svcs, f"{name} depends on undeclared service {target}"
            assert target != name


def test_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, svc in services().items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


@pytest.mark.parametrize("service", ["topics", "ingest", "simulator"])
def test_python_module_commands_name_modules_in_the_repo(service: str) -> None:
    argv = command_argv(services()[service])
    assert argv[:2] == ["python", "-m"], argv
    parts = argv[2].split(".")
    base = REPO.joinpath(*parts)
    # `python -m pkg` needs pkg/__main__.py; a module needs pkg/mod.py. Checked on disk, not imported,
    # so a module with heavy imports or side effects is not run by the test.
    found = base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()
    assert found, (
        f"{service}: `python -m {argv[2]}` names no module in the repo ({base}.py or {base}/__main__.py)"
    )


def test_ingest_healthcheck_probes_the_published_port() -> None:
    ingest = services()["ingest"]
    probe = " ".join(ingest["healthcheck"]["test"])
    match = re.search(r"https?://(?:localhost|127\.0\.0\.1):(\d+)/health", probe)
    assert match, probe
    published = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in ingest["ports"]}
    assert match.group(1) in published
    assert str(ingest["environment"]["INGEST_WEB_PORT"]) == match.group(1)


def test_python_services_get_the_in_network_bootstrap_address() -> None:
    for name in ("topics", "ingest", "simulator"):
        assert services()[name]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name


def compose_spec_schema() -> dict[str, Any] | None:
    """The compose-spec schema from local disk only: SX_COMPOSE_SCHEMA, else check-jsonschema's
    vendored copy."""
    explicit = os.environ.get("SX_COMPOSE_SCHEMA")
    if explicit:
        loaded: dict[str, Any] = json.loads(Path(explicit).read_text())
        return loaded
    try:
        vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        return None
    resource = vendor / "compose-spec.json"
    if not resource.is_file():
        return None
    vendored: dict[str, Any] = json.loads(resource.read_text())
    return vendored


def test_compose_file_matches_the_compose_spec_schema() -> None:
    try:
        jsonschema = importlib.import_module("jsonschema")
    except ModuleNotFoundError:
        pytest.skip("jsonschema is not installed; schema validation needs it and no network at test time")
    schema = compose_spec_schema()
    if schema is None:
        pytest.skip("no compose-spec schema on disk (set SX_COMPOSE_SCHEMA or install check-jsonschema)")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
