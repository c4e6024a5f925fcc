"""Old pseudonyms to new ones, learnt while the replay computes them (`RenamingPseudonymiser`).

A pseudonym is an HMAC of a raw identifier that normalize never stores, so it cannot be renamed from
itself. The replay under the new key computes each new pseudonym from the raw identifier in the
accepted topic; at that moment the old pseudonym of the same identifier is computed too, and the pair
is kept, in memory only, for the length of the rotation. The map is never written: it is exactly the
link between the old key's names and the new key's that a rotation exists to break.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Final

from services.normalize.keys import KeyMaterial
from services.normalize.pseudonymise import IdKind, Pseudonymiser
from services.normalize.seal import Sealer

_KINDS: Final = "|".join(re.escape(k.value) for k in IdKind)


class UnknownName(LookupError):
    """A name under the old key that the replay never computed: the accepted topic no longer holds the
    event it came from, so the state cannot be renamed in full."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"a {kind} pseudonym of the state matches no identifier in the accepted topic")


def _names_of(key_id: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(key_id)}\.(?:(?P<kind>{_KINDS})\.[0-9a-f]{{32}})")


class RenamingPseudonymiser(Pseudonymiser):
    """The new key's pseudonymiser, recording for each pseudonym it computes the old key's one.

    Some inputs are themselves pseudonyms (a resolved site without an OS id is named after its address
    pseudonym, `addr:<pseudonym>`): the old key's pseudonym is then computed from the old key's input,
    the names in it renamed back, as the old normalize computed it."""

    def __init__(self, new: KeyMaterial, old: KeyMaterial) -> None:
        super().__init__(new)
        self._old = Pseudonymiser(old)
        self._new_names = _names_of(new.key_id)
        self.forward: dict[str, str] = {}
        self.backward: dict[str, str] = {}

    def _compute(self, kind: IdKind, raw: str) -> str:
        new = super()._compute(kind, raw)
        old_raw = self._new_names.sub(lambda m: self.backward.get(m.group(0), m.group(0)), raw)
        old = self._old.pseudonym(kind, old_raw)
        self.forward[old] = new
        self.backward[new] = old
        return new


class Renamer:
    """Renames old-key pseudonyms and sealed values; raises `UnknownName` on one it was not taught."""

    def __init__(self, names: RenamingPseudonymiser, old: KeyMaterial, new: KeyMaterial) -> None:
        self._forward = names.forward
        self._old_sealer, self._new_sealer = Sealer(old), Sealer(new)
        old_id = re.escape(old.key_id)
        self._pattern = re.compile(
            rf"(?<![A-Za-z0-9_.-]){old_id}\.(?:(?P<kind>{_KINDS})\.[0-9a-f]{{32}}|sealed\.[A-Za-z0-9_-]+)"
        )

    def __call__(self, name: str) -> str:
        if ".sealed." in name:
            return self._new_sealer.seal(self._old_sealer.unseal(name))
        found = self._forward.get(name)
        if found is None:
            raise UnknownName(name.split(".")[1] if name.count(".") == 2 else "malformed")
        return found

    def text(self, text: str) -> str:
        """Every old-key name inside a text (a JSON value, a key) renamed."""
        return self._pattern.sub(lambda m: self(m.group(0)), text)


class RenamedQuarantine(Container[str]):
    """The quarantine as the new key's normalizer asks about it: an event pseudonym under the new key is
    quarantined when its old-key pseudonym was."""

    def __init__(self, old: Container[str], names: RenamingPseudonymiser) -> None:
        self._old, self._backward = old, names.backward

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and self._backward.get(item) in self._old
