"""Key handling: refuse to start without a key, loud demo mode, sub-keys independent per kind."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest

from services.normalize.keys import DEMO_SECRET, KeyMaterial, MissingKeyError, load_key
from services.normalize.pseudonymise import IdKind, Pseudonymiser
from services.normalize.seal import Sealer
from tests.support.service import run_to_exit

SECRET_HEX = "11" * 32


def test_no_key_is_refused() -> None:
    with pytest.raises(MissingKeyError, match="no pseudonymisation key"):
        load_key({})


def test_the_service_refuses_to_start_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORMALIZE_")}
    done = run_to_exit("services.normalize", env)
    assert done.returncode == 2
    assert b"refusing to start" in done.stderr


@pytest.mark.parametrize("bad", ["zz", "11" * 8])
def test_bad_or_short_keys_are_refused(bad: str) -> None:
    with pytest.raises(MissingKeyError):
        load_key({"NORMALIZE_PSEUDONYM_KEY": bad})


def test_key_from_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"x" * 40 + b"\n")
    keys = load_key({"NORMALIZE_PSEUDONYM_KEY_FILE": str(path), "NORMALIZE_PSEUDONYM_KEY_ID": "k7"})
    assert keys.key_id == "k7" and keys.secret == b"x" * 40 and not keys.demo


def test_demo_mode_says_so_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        keys = load_key({"NORMALIZE_DEMO_MODE": "1"})
    assert keys.demo and keys.secret == DEMO_SECRET
    assert sum("DEMO MODE" in r.message for r in caplog.records) >= 1


def test_repr_never_shows_the_secret() -> None:
    keys = load_key({"NORMALIZE_PSEUDONYM_KEY": SECRET_HEX})
    assert SECRET_HEX not in repr(keys) and "\\x11" not in repr(keys)


def test_kinds_have_independent_keys_and_values_name_key_and_kind() -> None:
    p = Pseudonymiser(load_key({"NORMALIZE_PSEUDONYM_KEY": SECRET_HEX}))
    site, company = p.pseudonym(IdKind.PLATFORM_SITE, "x"), p.pseudonym(IdKind.COMPANY, "x")
    assert site.startswith("k1.site.") and company.startswith("k1.company.")
    assert site.split(".")[2] != company.split(".")[2]
    assert site.split(".")[2] not in hashlib.sha256(b"x").hexdigest()


def test_another_secret_gives_other_pseudonyms() -> None:
    a = Pseudonymiser(KeyMaterial("k1", b"a" * 32)).pseudonym(IdKind.AUDIT, "sedex:A1")
    b = Pseudonymiser(KeyMaterial("k1", b"b" * 32)).pseudonym(IdKind.AUDIT, "sedex:A1")
    assert a != b


def test_sealing_is_deterministic_and_reversible_only_with_the_key() -> None:
    sealer = Sealer(load_key({"NORMALIZE_PSEUDONYM_KEY": SECRET_HEX}))
    token = sealer.seal("BD2020123ABC123")
    assert token == sealer.seal("BD2020123ABC123") and "BD2020123ABC123" not in token
    assert sealer.unseal(token) == "BD2020123ABC123"
    other = Sealer(KeyMaterial("k1", b"c" * 32))
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidTag
        other.unseal(token)
