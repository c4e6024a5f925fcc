"""The registered webhook endpoints: a JSON file validated by `EndpointsFile`, secrets read from files
or environment variables named in it (never the secret itself: the file may be checked in).

    {"endpoints": [{"name": "sedex-main", "organisation": "sedex", "url": "https://hooks.example/sx",
                    "secret_file": "/run/secrets/sedex-main", "tables": ["forced-labour"]}]}

A secret is a Standard Webhooks secret, `whsec_` followed by the base64 of 24 to 64 random bytes. It
is held in a `Secret`, whose repr never shows it, and the URL never appears in a log line or a metric
label: the endpoint's `name` does (`ENDPOINT_NAME_PATTERN` keeps it short and bounded).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Self, get_args

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from schemas.exchange.aggregates import TABLES
from schemas.exchange.deliver import EndpointName, TableName

SECRET_PREFIX: Final = "whsec_"
# The registry's tables as the endpoint model's literal type (schemas.exchange.deliver checks the two agree).
ALL_TABLES: Final[tuple[TableName, ...]] = get_args(TableName)
assert ALL_TABLES == TABLES


class EndpointsError(ValueError):
    """The endpoints file or a secret cannot be used; the message never quotes a secret."""


class EndpointConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: EndpointName
    organisation: Annotated[str, Field(min_length=1, max_length=64)]
    url: AnyHttpUrl
    secret_file: str | None = None
    secret_env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")] | None = None
    tables: list[TableName] = Field(default_factory=lambda: list(ALL_TABLES), min_length=1)

    @model_validator(mode="after")
    def _one_secret_source(self) -> Self:
        if (self.secret_file is None) == (self.secret_env is None):
            raise ValueError("give exactly one of secret_file and secret_env")
        if len(set(self.tables)) != len(self.tables):
            raise ValueError("tables must not repeat")
        return self


class EndpointsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # May be empty: deliver then runs and delivers to nobody (a deployment before anyone registered).
    endpoints: list[EndpointConfig]

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique (they key deliver's state)")
        return self


@dataclass(frozen=True, repr=False)
class Secret:
    """The HMAC key of one endpoint: the decoded bytes of its `whsec_` secret."""

    key: bytes

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    @classmethod
    def parse(cls, text: str) -> Secret:
        text = text.strip()
        if not text.startswith(SECRET_PREFIX):
            raise EndpointsError(f"a webhook secret starts with {SECRET_PREFIX}")
        try:
            key = base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise EndpointsError("a webhook secret is whsec_ followed by base64") from None
        if not 24 <= len(key) <= 64:
            raise EndpointsError("a webhook secret holds 24 to 64 bytes")
        return cls(key)


@dataclass(frozen=True)
class Endpoint:
    """One endpoint ready to deliver to: its configuration, its key, and its tables in registry order."""

    name: str
    organisation: str
    url: str
    secret: Secret
    tables: tuple[str, ...]


def read_secret(config: EndpointConfig, environ: Mapping[str, str]) -> Secret:
    """The endpoint's secret; an `EndpointsError` naming the endpoint (never quoting the secret)."""
    if config.secret_env is not None:
        if config.secret_env not in environ:
            raise EndpointsError(f"endpoint {config.name}: {config.secret_env} is not set")
        text = environ[config.secret_env]
    else:
        assert config.secret_file is not None
        try:
            text = Path(config.secret_file).read_text()
        except OSError as exc:
            why = f"cannot read its secret file: {exc.strerror}"
            raise EndpointsError(f"endpoint {config.name}: {why}") from None
    try:
        return Secret.parse(text)
    except EndpointsError as exc:
        raise EndpointsError(f"endpoint {config.name}: {exc}") from None


def load_endpoints(path: str | Path, environ: Mapping[str, str] | None = None) -> tuple[Endpoint, ...]:
    """Validate the file and read every secret; raises `EndpointsError` (or pydantic's
    ValidationError) so deliver refuses to start on a bad registration, not at the first release."""
    env = os.environ if environ is None else environ
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise EndpointsError(f"cannot read the endpoints file: {exc.strerror}") from None
    registered = EndpointsFile.model_validate_json(text)
    return tuple(
        Endpoint(
            name=c.name,
            organisation=c.organisation,
            url=str(c.url),
            secret=read_secret(c, env),
            tables=tuple(t for t in TABLES if t in c.tables),
        )
        for c in registered.endpoints
    )
