"""A Standard Webhooks receiver's check, written from the specification
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md), not from
deliver's code, so the tests compare two readings of the spec rather than the code with itself.

  * the secret is `whsec_` + base64; the HMAC key is the decoded bytes;
  * the signed content is `<webhook-id>.<webhook-timestamp>.<body>`;
  * `webhook-signature` is a space-separated list of `<version>,<base64 signature>`; a request is
    authentic if any `v1` signature equals HMAC-SHA256(key, content), compared in constant time;
  * the timestamp must be within a tolerance of the receiver's clock (replay protection).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

TOLERANCE_SECONDS = 5 * 60


class Rejected(Exception):
    pass


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise `Rejected` unless the request is authentic and fresh."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as missing:
        raise Rejected(f"missing header {missing}") from None
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise Rejected("timestamp outside the tolerance")
    key = base64.b64decode(secret[len("whsec_") :]) if secret.startswith("whsec_") else secret.encode()
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return
    raise Rejected("no valid v1 signature")
