"""The endpoints file: validated, secrets read from files or the environment, never echoed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.exchange.aggregates import TABLES
from services.deliver.endpoints import EndpointsError, load_endpoints
from tests.services.deliver.releases import new_secret


def write(tmp_path: Path, *endpoints: dict[str, Any]) -> Path:
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({"endpoints": list(endpoints)}))
    return path


def endpoint(**overrides: Any) -> dict[str, Any]:
    return {"name": "sedex-main", "organisation": "sedex", "url": "https://hooks.example/sx", **overrides}


def test_a_file_with_a_secret_file_and_a_secret_variable(tmp_path: Path) -> None:
    (tmp_path / "s1").write_text(new_secret(1) + "\n")
    path = write(
        tmp_path,
        endpoint(secret_file=str(tmp_path / "s1"), tables=["labour-relations", "issue-prevalence"]),
        endpoint(name="amfori-bi", organisation="amfori", secret_env="AMFORI_BI_SECRET"),
    )
    first, second = load_endpoints(path, {"AMFORI_BI_SECRET": new_secret(2)})
    assert first.tables == ("issue-prevalence", "labour-relations")  # registry order
    assert second.tables == TABLES
    assert first.secret != second.secret
    assert new_secret(1)[6:] not in repr(first)


@pytest.mark.parametrize(
    "bad",
    [
        endpoint(name="Sedex Main", secret_env="S"),  # a label must be bounded and plain
        endpoint(name="https://hooks.example", secret_env="S"),
        endpoint(secret_env="S", secret_file="/x"),
        endpoint(),
        endpoint(secret_env="S", tables=[]),
        endpoint(secret_env="S", tables=["forced-labour", "forced-labour"]),
        endpoint(secret_env="S", tables=["raw-audits"]),
        endpoint(secret_env="S", url="ftp://hooks.example"),
        endpoint(secret_env="S", extra=1),
    ],
)
def test_a_bad_registration_is_refused(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        load_endpoints(write(tmp_path, bad), {"S": new_secret(1)})


def test_two_endpoints_with_one_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unique"):
        load_endpoints(
            write(tmp_path, endpoint(secret_env="S"), endpoint(secret_env="S")), {"S": new_secret(1)}
        )


def test_a_missing_or_bad_secret_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = write(tmp_path, endpoint(secret_env="S"))
    with pytest.raises(EndpointsError, match="S is not set"):
        load_endpoints(path, {})
    with pytest.raises(EndpointsError, match="whsec_") as refused:
        load_endpoints(path, {"S": "hunter2-hunter2-hunter2-hunter2"})
    assert "hunter2" not in str(refused.value)
    with pytest.raises(EndpointsError, match="cannot read its secret file"):
        load_endpoints(write(tmp_path, endpoint(secret_file=str(tmp_path / "nope"))), {})


def test_an_empty_registration_is_allowed(tmp_path: Path) -> None:
    assert load_endpoints(write(tmp_path), {}) == ()
