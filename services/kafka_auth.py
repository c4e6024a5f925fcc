"""Who a process is to the broker: its SASL/SCRAM principal, from the environment or a file.

Every Kafka client of the project (faust's, and each aiokafka consumer, producer and admin client)
takes its security options from here, so one process authenticates as one principal everywhere:
`KAFKA_SECURITY_PROTOCOL` (`PLAINTEXT`, the default, or `SASL_PLAINTEXT`), `KAFKA_SASL_MECHANISM`
(`SCRAM-SHA-512`), `KAFKA_SASL_USERNAME`, and `KAFKA_SASL_PASSWORD_FILE` (preferred: a mounted secret)
or `KAFKA_SASL_PASSWORD`. Credentials never come from the repository, and the password is never
printed (`repr`). The principals and what each may do: docs/security.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

PROTOCOLS: Final = ("PLAINTEXT", "SASL_PLAINTEXT")
MECHANISMS: Final = ("SCRAM-SHA-512", "SCRAM-SHA-256")


class CredentialsError(ValueError):
    pass


@dataclass(frozen=True, repr=False)
class KafkaCredentials:
    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password
        return f"KafkaCredentials(protocol={self.protocol!r}, username={self.username!r})"

    @property
    def secured(self) -> bool:
        return self.protocol != "PLAINTEXT"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaCredentials:
        env = os.environ if environ is None else environ
        protocol = env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
        if protocol not in PROTOCOLS:
            raise CredentialsError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}")
        if protocol == "PLAINTEXT":
            return cls()
        mechanism = env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").upper()
        if mechanism not in MECHANISMS:
            raise CredentialsError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}")
        username = env.get("KAFKA_SASL_USERNAME")
        password = env.get("KAFKA_SASL_PASSWORD")
        if env.get("KAFKA_SASL_PASSWORD_FILE"):
            try:
                password = Path(env["KAFKA_SASL_PASSWORD_FILE"]).read_text().strip()
            except OSError as exc:
                raise CredentialsError(f"cannot read KAFKA_SASL_PASSWORD_FILE: {exc.strerror}") from exc
        if not username or not password:
            raise CredentialsError(
                f"{protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE (or KAFKA_SASL_PASSWORD)"
            )
        return cls(protocol, mechanism, username, password)

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for every aiokafka client (consumer, producer, admin)."""
        if not self.secured:
            return {}
        return {
            "security_protocol": self.protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }


def client_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`KafkaCredentials.from_env(environ).aiokafka()`: pass as `**client_options()` to an aiokafka client."""
    return KafkaCredentials.from_env(environ).aiokafka()
