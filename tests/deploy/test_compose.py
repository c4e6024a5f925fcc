"""docker-compose.yml must stay runnable although no Docker engine is here to run it.

Docker users are not in CI, so a stale compose file would only be found by them. The checks below catch
what drifts silently: the file against the compose-spec JSON schema (vendored, tests/deploy/schemas), the
broker version against deploy/kafka/pom.xml and its settings against broker.sh, the broker's security
(SCRAM on every reachable listener, an authorizer, every principal's credential), each service's
principal and its secret, no literal password anywhere, dangling depends_on, commands naming modules
that do not exist, a healthcheck probing a port other than the one published, and Prometheus's scrape
targets against the services. `docker compose config` adds the real parser where one is installed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev dependencies
import pytest
import yaml  # type: ignore[import-untyped]  # stubs (types-PyYAML) are not a dev dependency

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
POM = REPO / "deploy" / "kafka" / "pom.xml"
BROKER_SH = REPO / "deploy" / "kafka" / "broker.sh"
COMPOSE_BROKER = REPO / "deploy" / "kafka" / "compose-broker.sh"
SCHEMA = Path(__file__).with_name("schemas") / "compose-spec.json"
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"  # schemas/README.md

# Who each container is to the broker (services/kafka_auth.py reads these).
PRINCIPALS = {
    "setup": "sx-admin",
    "ingest": "sx-ingest",
    "normalize": "sx-normalize",
    "aggregate": "sx-aggregate",
    "aggregate-standby": "sx-aggregate",
    "deliver": "sx-deliver",
    "simulator": "sx-admin",  # plays both platforms, which no platform principal may (the compose comment)
}
ALL_PRINCIPALS = {"sx-admin", "sx-ingest", "sx-normalize", "sx-aggregate", "sx-deliver", "sedex", "amfori"}
WEB_SERVICES = {
    "ingest": 6066,
    "normalize": 6067,
    "aggregate": 6068,
    "deliver": 6069,
    "aggregate-standby": 6070,
}


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


COMMON_PROPERTIES = REPO / "deploy" / "kafka" / "broker-common.properties"


def heredoc_properties(script: Path) -> dict[str, str]:
    """The `key=value` lines of the `<<PROPS` heredocs of a shell script: the broker's config (broker.sh
    writes it in parts: the common settings and the secured or plaintext listeners; later parts win),
    plus broker-common.properties when the script appends it to the config."""
    text = script.read_text()
    found = re.findall(r"<<'?PROPS'?\n(.*?)\nPROPS\n", text, flags=re.DOTALL)
    assert found, f"{script.name} writes no server.properties heredoc"
    if re.search(r'/broker-common\.properties" >> "', text):
        found.insert(0, COMMON_PROPERTIES.read_text())
    return dict(
        line.split("=", 1)
        for part in found
        for line in part.splitlines()
        if "=" in line and not line.startswith("#")
    )


def command_argv(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def python_modules(service: dict[str, Any]) -> list[str]:
    """The modules a service runs with `python -m`, also inside an `sh -c "... && ..."` command."""
    return re.findall(r"python -m ([\w.]+)", " ".join(command_argv(service)))


def module_in_repo(module: str) -> bool:
    base = REPO.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()


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
            "`docker compose version` failed: no compose plugin or docker-compose binary on this machine "
            "(the compose-spec schema test below validates the file instead)"
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


def compose_spec_validator() -> Any:
    raw = SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "schema changed: update schemas/README.md"
    schema = json.loads(raw)
    return jsonschema.validators.validator_for(schema)(schema)


def test_compose_file_matches_the_compose_spec_schema() -> None:
    errors = sorted(compose_spec_validator().iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_rejects_what_compose_would_reject() -> None:
    """The vendored schema is strict enough to matter: a misspelt key and a wrong type both fail."""
    validator = compose_spec_validator()
    broken: list[tuple[str, str, Any]] = [
        ("ingest", "healthcheck", {"tset": ["CMD", "true"]}),  # a misspelt key
        ("kafka", "ports", "29092"),  # a string where a list belongs
        ("ingest", "depends_on", {"kafka": {"condition": "healthy"}}),  # no such condition
    ]
    for service, key, value in broken:
        data = compose()
        data["services"][service][key] = value
        assert list(validator.iter_errors(data)), f"the schema accepted {service}.{key} = {value!r}"


def test_kafka_image_matches_the_broker_version_in_the_pom() -> None:
    image = services()["kafka"]["image"]
    name, _, tag = image.partition(":")
    assert name == "apache/kafka"
    assert tag == pom_kafka_version()


def test_the_compose_broker_mirrors_the_broker_script_settings() -> None:
    """Everything broker.sh sets that is not about listeners or paths, the compose broker sets alike."""
    ours, theirs = heredoc_properties(COMPOSE_BROKER), heredoc_properties(BROKER_SH)
    local = {"log.dirs", "listeners", "advertised.listeners", "listener.security.protocol.map"}
    local |= {"inter.broker.listener.name", "controller.quorum.bootstrap.servers", "controller.quorum.voters"}
    local |= {"super.users"}  # the compose broker's controller listener differs (see compose-broker.sh)
    shared = {
        k: v for k, v in theirs.items() if k not in local and not k.startswith(("sasl.", "listener.name."))
    }
    assert shared, "found no broker.sh settings to compare"
    differing = {k: (ours.get(k), v) for k, v in shared.items() if ours.get(k) != v}
    assert not differing, f"compose broker differs from broker.sh (compose, broker.sh): {differing}"
    assert ours["auto.create.topics.enable"] == "false" and ours["offsets.topic.num.partitions"] == "6"


def test_the_broker_authenticates_every_reachable_listener_and_authorizes_every_request() -> None:
    props = heredoc_properties(COMPOSE_BROKER)
    protocols = dict(entry.split(":") for entry in props["listener.security.protocol.map"].split(","))
    listeners = dict(entry.split("://", 1) for entry in props["listeners"].split(","))
    for name, address in listeners.items():
        if name == props["controller.listener.names"]:
            # The one unauthenticated listener: the controller's, on the container's loopback only.
            assert address.startswith("127.0.0.1:"), f"controller listener exposed: {address}"
        else:
            assert protocols[name] in {"SASL_PLAINTEXT", "SASL_SSL"}, f"{name} does not authenticate"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert set(props["super.users"].split(";")) == {"User:sx-admin", "User:ANONYMOUS"}
    loop = re.search(r"for principal in ([^;]+); do", COMPOSE_BROKER.read_text())
    assert loop and set(loop.group(1).split()) == ALL_PRINCIPALS, "not every principal gets a credential"
    assert set(services()["kafka"]["secrets"]) == ALL_PRINCIPALS


def test_the_broker_script_runs_as_the_entrypoint_from_the_repo() -> None:
    kafka = services()["kafka"]
    mount = next(v for v in kafka["volumes"] if v.startswith("./deploy/kafka/compose-broker.sh:"))
    target = mount.split(":")[1]
    assert kafka["entrypoint"][-1] == target
    # The shared settings the script appends are mounted beside it.
    common = f"./deploy/kafka/broker-common.properties:{Path(target).parent}/broker-common.properties:ro"
    assert common in kafka["volumes"]
    probe = " ".join(kafka["healthcheck"]["test"])
    assert "--command-config /tmp/sx-kafka/admin.properties" in probe  # the probe logs in, too
    script = COMPOSE_BROKER.read_text()
    assert (
        "conf=${SX_KAFKA_CONF:-/tmp/sx-kafka}" in script and "admin_config=$conf/admin.properties" in script
    )


@pytest.mark.parametrize("name", sorted(PRINCIPALS))
def test_each_python_container_logs_in_as_its_principal_with_only_its_secret(name: str) -> None:
    svc = services()[name]
    env = {k: str(v) for k, v in svc["environment"].items()}
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["KAFKA_SASL_USERNAME"] == PRINCIPALS[name]
    assert env["KAFKA_SASL_PASSWORD_FILE"] == f"/run/secrets/{PRINCIPALS[name]}"
    assert svc["secrets"] == [PRINCIPALS[name]], "a container gets its own secret and no other"


def test_no_password_is_written_in_the_file() -> None:
    declared = compose()["secrets"]
    assert set(declared) == ALL_PRINCIPALS | {"grafana-admin"}
    for name, secret in declared.items():
        assert set(secret) == {"file"}, f"secret {name} must come from a file"
        assert secret["file"].startswith("./deploy/secrets/"), secret
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/secrets/sx-admin.password"], cwd=REPO, check=False
    )
    assert ignored.returncode == 0, "deploy/secrets/ must be git-ignored"
    for name, svc in services().items():
        for key, value in (svc.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|KEY", key) and not key.endswith(("_FILE", "__FILE")):
                # Only an interpolation from the operator's environment, never a value in the repo.
                assert re.fullmatch(r"\$\{\w+(:-)?\}", str(value)), f"{name}: {key} has a literal value"
    text = COMPOSE.read_text() + COMPOSE_BROKER.read_text()
    # A password= is followed by a shell variable (possibly quoted), never by a value.
    literal = re.search(r'password=(?!\\?"?\$)\S+', text)
    assert literal is None, f"a literal password: {literal and literal.group()}"


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, svc in services().items():
        if svc.get("restart", "no") != "no":
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


@pytest.mark.parametrize(("name", "port"), sorted(WEB_SERVICES.items()))
def test_each_service_probes_health_on_its_published_port(name: str, port: int) -> None:
    svc = services()[name]
    probe = " ".join(svc["healthcheck"]["test"])
    match = re.search(r"https?://(?:localhost|127\.0\.0\.1):(\d+)/health", probe)
    assert match, probe
    assert int(match.group(1)) == port
    assert f"127.0.0.1:{port}:{port}" in svc["ports"]
    web_port = [v for k, v in svc["environment"].items() if k.endswith("_WEB_PORT")]
    assert web_port == [str(port)]


def test_host_ports_are_unique_and_on_the_loopback() -> None:
    published = [p for svc in services().values() for p in svc.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in published), published
    host_ports = [p.split(":")[1] for p in published]
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_every_depends_on_target_is_a_service() -> None:
    svcs = services()
    for name, svc in svcs.items():
        deps = svc.get("depends_on", {})
        targets = list(deps) if isinstance(deps, (dict, list)) else []
        for target in targets:
            assert target in svcs, f"{name} depends on undeclared service {target}"
            assert target != name


def test_the_services_wait_for_the_set_up() -> None:
    for name in ("ingest", "normalize", "aggregate", "deliver"):
        deps = services()[name]["depends_on"]
        assert deps["setup"] == {"condition": "service_completed_successfully"}, name
    assert python_modules(services()["setup"]) == ["services.topics", "services.acls"]


def test_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, svc in services().items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
            elif source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repo"


# Written in parallel on other branches; until they land, their absence is reported, not failed.
ELSEWHERE = {"services.acls", "services.deliver"}


@pytest.mark.parametrize("module", sorted({m for svc in services().values() for m in python_modules(svc)}))
def test_python_module_commands_name_modules_in_the_repo(module: str) -> None:
    # `python -m pkg` needs pkg/__main__.py; a module needs pkg/mod.py. Checked on disk, not imported,
    # so a module with heavy imports or side effects is not run by the test.
    if not module_in_repo(module) and module in ELSEWHERE:
        pytest.skip(f"{module} is written on another branch and not merged here yet")
    assert module_in_repo(module), f"`python -m {module}` names no module in the repo"


def test_prometheus_scrapes_every_web_service_at_its_compose_address() -> None:
    prometheus = services()["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = REPO / "deploy" / "prometheus" / Path(config_arg.split("=", 1)[1]).name
    config = yaml.safe_load(config_path.read_text())
    targets: set[tuple[str, int]] = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                targets.add((host, int(port)))
        for dns in job.get("dns_sd_configs", []):
            targets.update((name, int(dns["port"])) for name in dns["names"])
    assert targets == set(WEB_SERVICES.items())


def test_grafana_gets_the_provisioning_and_a_secret_admin_password() -> None:
    grafana = services()["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana-admin"
    assert grafana["environment"]["PROMETHEUS_URL"] == "http://prometheus:9090"


def test_the_secrets_stay_out_of_the_image() -> None:
    """deploy/Dockerfile copies the build context (`COPY . .`): the secret files must not be in it."""
    assert "COPY . ." in (REPO / "deploy" / "Dockerfile").read_text()
    ignored = [line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()]
    assert "deploy/secrets" in ignored
    for secret in compose()["secrets"].values():
        assert Path(secret["file"]).parent == Path("deploy/secrets")
