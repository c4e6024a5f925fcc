"""docs/spec is the contract both platforms agreed, copied into the repository so that every citation
of `aggregates.md`, `platform-events.md` and `taxonomy.md` in the code resolves. It is a copy, not ours
to edit: SHA256SUMS records the agreed text, and this test fails on any change to it (update both only
when the platforms agree a new revision). The project never reads the original at run time or in
tests."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "spec"


def test_the_copy_is_the_agreed_text() -> None:
    sums = {}
    for line in (SPEC / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    assert {p.name for p in SPEC.glob("*.md")} == set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((SPEC / name).read_bytes()).hexdigest() == digest, name


def test_every_document_the_code_cites_is_in_the_copy() -> None:
    cited = set()
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("schemas/**/*.py")]:
        cited.update(re.findall(r"\b([a-z-]+\.md)\b", path.read_text()))
    contract = {name for name in cited if name in {"aggregates.md", "platform-events.md", "taxonomy.md"}}
    assert contract and all((SPEC / name).exists() for name in contract)
