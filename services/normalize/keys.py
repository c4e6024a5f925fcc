"""The operator's secret, and the independent sub-keys derived from it.

One secret is all an operator has to hold and rotate; every use gets its own key, derived with
HKDF-SHA256 under a distinct `info` label, so a pseudonym of one kind can never be matched against a
pseudonym of another kind, nor against the sealed values, even when the raw inputs are equal.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("sx.normalize.keys")

MIN_SECRET_BYTES: Final = 32
KEY_ID_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$")
# A fixed, public secret for demos and tests only: pseudonyms made with it protect nothing.
DEMO_SECRET: Final = b"sourcing-exchange demo key: NOT SECRET, NEVER USE WITH REAL DATA"
DEMO_KEY_ID: Final = "demo"


class MissingKeyError(RuntimeError):
    """Raised at start-up when no usable secret is configured; normalize must not run without one."""


@dataclass(frozen=True, repr=False)
class KeyMaterial:
    key_id: str
    secret: bytes
    demo: bool = False

    def __post_init__(self) -> None:
        if not KEY_ID_PATTERN.match(self.key_id):
            raise MissingKeyError(f"key id must match {KEY_ID_PATTERN.pattern}")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise MissingKeyError(f"the pseudonymisation secret must be at least {MIN_SECRET_BYTES} bytes")

    def __repr__(self) -> str:  # never print the secret
        return f"KeyMaterial(key_id={self.key_id!r}, demo={self.demo})"

    def derive(self, label: str, length: int = 32) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=f"sx/{label}".encode()).derive(
            self.secret
        )


def load_key(environ: Mapping[str, str] | None = None, *, prefix: str = "NORMALIZE_") -> KeyMaterial:
    """`{prefix}PSEUDONYM_KEY` (hex) or `{prefix}PSEUDONYM_KEY_FILE` (raw bytes), with
    `{prefix}PSEUDONYM_KEY_ID`; or `{prefix}DEMO_MODE=1`, which uses a public key and says so loudly."""
    env = os.environ if environ is None else environ
    key_id = env.get(f"{prefix}PSEUDONYM_KEY_ID", "k1")
    if env.get(f"{prefix}PSEUDONYM_KEY"):
        try:
            secret = bytes.fromhex(env[f"{prefix}PSEUDONYM_KEY"])
        except ValueError as exc:
            raise MissingKeyError(f"{prefix}PSEUDONYM_KEY must be hex") from exc
        return KeyMaterial(key_id, secret)
    if env.get(f"{prefix}PSEUDONYM_KEY_FILE"):
        path = Path(env[f"{prefix}PSEUDONYM_KEY_FILE"])
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise MissingKeyError(f"cannot read {prefix}PSEUDONYM_KEY_FILE: {exc.strerror}") from exc
        return KeyMaterial(key_id, secret)
    if env.get(f"{prefix}DEMO_MODE", "").lower() in {"1", "true", "yes"}:
        for _ in range(3):
            log.warning(
                "DEMO MODE: pseudonyms use a PUBLIC key and protect nothing. Never run demo mode "
                "on real data."
            )
        return KeyMaterial(DEMO_KEY_ID, DEMO_SECRET, demo=True)
    raise MissingKeyError(
        f"no pseudonymisation key: set {prefix}PSEUDONYM_KEY (hex, >= {MIN_SECRET_BYTES} bytes) or "
        f"{prefix}PSEUDONYM_KEY_FILE, or {prefix}DEMO_MODE=1 for a demo on synthetic data"
    )
