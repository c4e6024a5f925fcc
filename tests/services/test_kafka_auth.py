"""A process's broker principal, read from the environment or a password file (services/kafka_auth.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.kafka_auth import CredentialsError, KafkaCredentials, client_options


def test_plaintext_unless_told_otherwise() -> None:
    assert client_options({}) == {}
    assert not KafkaCredentials.from_env({"KAFKA_SASL_USERNAME": "sedex"}).secured


def test_scram_from_a_password_file_which_wins_over_the_variable(tmp_path: Path) -> None:
    secret = tmp_path / "sx-ingest.password"
    secret.write_text("from-the-file\n")
    env = {
        "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
        "KAFKA_SASL_USERNAME": "sx-ingest",
        "KAFKA_SASL_PASSWORD": "from-the-variable",
        "KAFKA_SASL_PASSWORD_FILE": str(secret),
    }
    assert client_options(env) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "sx-ingest",
        "sasl_plain_password": "from-the-file",
    }
    credentials = KafkaCredentials.from_env(env)
    assert "from-the-file" not in repr(credentials) and "sx-ingest" in repr(credentials)


@pytest.mark.parametrize(
    "env",
    [
        {"KAFKA_SECURITY_PROTOCOL": "SSL"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "sedex"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_PASSWORD": "x"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN"},
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_USERNAME": "a",
            "KAFKA_SASL_PASSWORD_FILE": "/no/such",
        },
    ],
)
def test_an_incomplete_or_unknown_setting_is_refused_with_a_clear_error(env: dict[str, str]) -> None:
    with pytest.raises(CredentialsError, match="KAFKA_"):
        KafkaCredentials.from_env(env)
