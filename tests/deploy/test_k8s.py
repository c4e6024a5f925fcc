"""The Kubernetes manifests (deploy/k8s): valid against the Kubernetes API's JSON schemas, and right
about this project: each Deployment runs its service with the settings names the service reads, probes
`/health` on the port it serves, requests at least the memory its benchmark measured, and mounts only its
own secret; Secrets hold placeholders only; the ServiceMonitor scrapes every Service.

The schemas come with the `kubernetes-validate` dev dependency (PyPI; the API's OpenAPI schemas as JSON
schema, for each Kubernetes version), so the check runs offline in CI. The ServiceMonitor is a custom
resource, which no Kubernetes schema covers: it is checked against the fields of the Prometheus
Operator's monitoring.coreos.com/v1 ServiceMonitor this project uses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
import yaml  # type: ignore[import-untyped]  # stubs (types-PyYAML) are not a dev dependency

from services.aggregate.settings import AggregateSettings
from services.config import WorkerSettings
from services.ingest.settings import IngestSettings
from services.normalize.settings import NormalizeSettings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"  # the oldest minor still supported upstream when this was written
PORTS = {"ingest": 6066, "normalize": 6067, "aggregate": 6068, "deliver": 6069}
SETTINGS: dict[str, type[WorkerSettings]] = {
    "ingest": IngestSettings,
    "normalize": NormalizeSettings,
    "aggregate": AggregateSettings,
}  # deliver's settings are on its own branch
PLACEHOLDER = "REPLACE-ME"


def documents() -> list[tuple[str, dict[str, Any]]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend((path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc is not None)
    return docs


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


def container(name: str) -> dict[str, Any]:
    (only,) = of_kind("Deployment")[f"sx-{name}"]["spec"]["template"]["spec"]["containers"]
    assert isinstance(only, dict)
    return only


def env_of(name: str) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(name)["env"]}


def mebibytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity)
    assert match, f"memory quantity {quantity!r}: write it in Mi or Gi"
    return float(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)


def benchmark_peak_mib(doc: str) -> float:
    """The largest memory figure of a doc's "Performance" section: the "peak RSS MiB" table columns,
    "N MiB" and "peak N" in the text."""
    text = (REPO / "docs" / doc).read_text()
    section = text.split("## Performance", 1)[1].split("\n## ", 1)[0]
    figures: list[float] = []
    lines = section.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and "peak RSS MiB" in line:
            column = [c.strip() for c in line.strip("|").split("|")].index("peak RSS MiB")
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                cell = row.strip("|").split("|")[column].strip().replace(",", "")
                figures.append(float(cell))
    figures += [float(n.replace(",", "")) for n in re.findall(r"([\d,]+(?:\.\d+)?) MiB\b", section)]
    figures += [float(n.replace(",", "")) for n in re.findall(r"peak ([\d,]+(?:\.\d+)?)", section)]
    assert figures, f"no memory figure in {doc}'s Performance section"
    return max(figures)


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


# Every resource but the ServiceMonitor (a custom resource: test_the_service_monitor_scrapes_every_service).
BUILT_IN = [
    (f"{file}:{doc['kind']}/{doc['metadata']['name']}", index)
    for index, (file, doc) in enumerate(documents())
    if doc["apiVersion"] != "monitoring.coreos.com/v1"
]


@pytest.mark.parametrize(("resource", "index"), BUILT_IN, ids=[r for r, _ in BUILT_IN])
def test_each_built_in_resource_matches_the_kubernetes_schema(resource: str, index: int) -> None:
    _, doc = documents()[index]
    # strict: a misspelt field (readinesProbe) is an error, not silently ignored as the API server would.
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    deployment = of_kind("Deployment")["sx-ingest"]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    spec = broken["spec"]["template"]["spec"]["containers"][0]
    spec["readinesProbe"] = spec.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", sorted(PORTS))
def test_each_deployment_runs_its_service_and_probes_health_on_its_port(name: str) -> None:
    c = container(name)
    assert c["command"] == ["python", "-m", f"services.{name}"]
    assert c["ports"] == [{"name": "http", "containerPort": PORTS[name]}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    # /health is 503 during a broker outage: liveness must outlast a short one (>= 5 minutes).
    liveness = c["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 300
    env = env_of(name)
    assert env["KAFKA_SASL_USERNAME"] == f"sx-{name}"
    assert env["KAFKA_SASL_PASSWORD_FILE"] == "/run/secrets/kafka/password"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_environment_names_are_the_ones_the_service_reads(name: str) -> None:
    """Built by the service's own settings loader, the manifest's values land where they should."""
    literal = {k: v for k, v in env_of(name).items() if isinstance(v, str)}
    settings = SETTINGS[name].from_env(literal)
    assert settings.web_port == PORTS[name] and settings.web_host == "0.0.0.0"
    data = next(m for m in container(name)["volumeMounts"] if m["name"] == "data")
    assert settings.data_dir == data["mountPath"]
    prefixed = {k for k in literal if k.startswith(SETTINGS[name].ENV_PREFIX)}
    known = {SETTINGS[name].ENV_PREFIX + field.upper() for field in SETTINGS[name].model_fields}
    extra = {k for k in prefixed - known if "PSEUDONYM_KEY" not in k}  # keys.py reads those
    assert not extra, f"{name} reads no such variable: {extra}"


@pytest.mark.parametrize(
    ("name", "doc"), [("ingest", "ingest.md"), ("normalize", "normalize.md"), ("aggregate", "aggregate.md")]
)
def test_memory_requests_cover_the_benchmarked_peak(name: str, doc: str) -> None:
    resources = container(name)["resources"]
    request = mebibytes(resources["requests"]["memory"])
    limit = mebibytes(resources["limits"]["memory"])
    peak = benchmark_peak_mib(doc)
    assert request >= peak, f"{name} requests {request} MiB, its benchmark peaked at {peak} MiB"
    assert limit >= request * 1.25, "the limit leaves no headroom over the request"
    # One event loop: a core at its limit rate; normalize's mapper processes take one core each.
    mappers = int(env_of(name).get("NORMALIZE_MAPPER_PROCESSES", 0)) if name == "normalize" else 0
    assert resources["requests"]["cpu"] == str(1 + mappers)


def test_every_pod_mounts_only_its_own_secrets_and_secrets_hold_placeholders() -> None:
    secrets = of_kind("Secret")
    for name, secret in secrets.items():
        assert "data" not in secret, f"{name}: encoded data could hide a real value"
        assert set(secret["stringData"].values()) == {PLACEHOLDER}, f"{name} holds a value"
    for name in PORTS:
        volumes = of_kind("Deployment")[f"sx-{name}"]["spec"]["template"]["spec"]["volumes"]
        used = {v["secret"]["secretName"] for v in volumes if "secret" in v}
        used |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container(name)["env"] if "valueFrom" in e}
        own = {f"sx-kafka-{name}"} | ({"sx-pseudonym-key"} if name == "normalize" else set())
        assert used == own, f"sx-{name} mounts {used}"
        assert used <= set(secrets)


def test_every_container_runs_unprivileged() -> None:
    for name in PORTS:
        pod = of_kind("Deployment")[f"sx-{name}"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        ctx = container(name)["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]


def test_each_service_selects_its_deployment_s_pods() -> None:
    deployments = of_kind("Deployment")
    for name, service in of_kind("Service").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
        (port,) = service["spec"]["ports"]
        assert port == {"name": "metrics", "port": PORTS[name.removeprefix("sx-")], "targetPort": "http"}


SERVICE_MONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
                    },
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}


def test_the_service_monitor_scrapes_every_service() -> None:
    import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev dependencies

    (monitor,) = of_kind("ServiceMonitor").values()
    jsonschema.validate(monitor, SERVICE_MONITOR_SCHEMA)
    spec = monitor["spec"]
    selected = {
        name
        for name, svc in of_kind("Service").items()
        if spec["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
        and svc["metadata"]["namespace"] in spec["namespaceSelector"]["matchNames"]
    }
    assert selected == {f"sx-{name}" for name in PORTS}
    (endpoint,) = spec["endpoints"]
    assert endpoint["path"] == "/metrics"
    for name in selected:
        assert endpoint["port"] in {p["name"] for p in of_kind("Service")[name]["spec"]["ports"]}
        # The job label the alerts and the dashboard use: sx-ingest, ...
        assert of_kind("Service")[name]["metadata"]["labels"][spec["jobLabel"]] == name
