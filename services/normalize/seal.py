"""Deterministic encryption for the one raw value normalize must still compare: the Open Supply Hub id.

The resolution rule picks "the smallest osId" among platform sites sharing an address, which needs
the raw order, not an HMAC. AES-SIV (RFC 5297) is deterministic, so a sealed osId is stable across
replays and restarts (compacted topics stay byte-identical), yet unreadable without the key.
The resolution stage unseals in memory only; nothing unsealed is ever written.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from .keys import KeyMaterial

_AD = [b"sx/seal/os-id"]


class Sealer:
    def __init__(self, keys: KeyMaterial) -> None:
        self.key_id = keys.key_id
        self._siv = AESSIV(keys.derive("seal/os-id", 64))

    def seal(self, plaintext: str) -> str:
        token = (
            base64.urlsafe_b64encode(self._siv.encrypt(plaintext.encode("utf-8"), _AD)).decode().rstrip("=")
        )
        return f"{self.key_id}.sealed.{token}"

    def unseal(self, sealed: str) -> str:
        key_id, _, token = sealed.split(".", 2)
        if key_id != self.key_id:
            raise ValueError("sealed under another key id")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return self._siv.decrypt(raw, _AD).decode("utf-8")
