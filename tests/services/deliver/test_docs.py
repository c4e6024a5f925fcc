"""The receiver's snippet in docs/deliver.md works: it accepts what deliver sends and refuses what was
changed, signed with another secret, or is stale. Run from the document itself, so it cannot rot."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.deliver.endpoints import Secret
from services.deliver.signing import webhook_headers
from tests.services.deliver.releases import new_secret

DOC = Path(__file__).resolve().parents[3] / "docs" / "deliver.md"
BODY = b'{"type":"aggregates.release","timestamp":"2026-05-01T00:00:00Z","data":{}}'

Verify = Callable[[str, dict[str, str], bytes], str]


@pytest.fixture(scope="module")
def verify_webhook() -> Verify:
    text = DOC.read_text()
    match = re.search(r"<!-- receiver-snippet:[^>]*-->\n```python\n(.*?)```", text, flags=re.DOTALL)
    assert match, "the receiver snippet is not in docs/deliver.md"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # our own document
    function: Verify = namespace["verify_webhook"]
    return function


def test_the_snippet_accepts_what_deliver_sends(verify_webhook: Verify) -> None:
    secret = new_secret(5)
    headers = webhook_headers(Secret.parse(secret), "msg_" + "a" * 32, int(time.time()), BODY)
    assert verify_webhook(secret, headers, BODY) == "msg_" + "a" * 32


def test_the_snippet_refuses_a_changed_body_another_secret_or_staleness(verify_webhook: Verify) -> None:
    secret, now = new_secret(5), int(time.time())
    headers = webhook_headers(Secret.parse(secret), "msg_1", now, BODY)
    with pytest.raises(ValueError, match="signature"):
        verify_webhook(secret, headers, BODY.replace(b"2026", b"2027"))
    with pytest.raises(ValueError, match="signature"):
        verify_webhook(new_secret(6), headers, BODY)
    stale = webhook_headers(Secret.parse(secret), "msg_1", now - 3600, BODY)
    with pytest.raises(ValueError, match="timestamp"):
        verify_webhook(secret, stale, BODY)
