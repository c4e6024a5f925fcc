"""Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme").

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the signature is HMAC-SHA256 of it
under the endpoint's key, base64-encoded and versioned: `webhook-signature: v1,<base64>`. The
timestamp (integer seconds since the epoch) is that of the attempt, so a receiver can refuse replays
of old requests; the id is the same for every attempt of one release to one endpoint, so a receiver
that remembers ids never processes a release twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Final

from schemas.exchange.aggregates import format_release_time

from .endpoints import Secret

# Fixed forever: a webhook id is uuid5(WEBHOOK_ID_NAMESPACE, "<endpoint name>\n<release id>").
WEBHOOK_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sourcing-exchange:deliver")


def webhook_id(endpoint: str, release_id: datetime) -> str:
    """The idempotency key of one release to one endpoint: derived from both, never random, so it
    survives retries and restarts (and a second deliver instance computes the same)."""
    name = f"{endpoint}\n{format_release_time(release_id)}"
    return f"msg_{uuid.uuid5(WEBHOOK_ID_NAMESPACE, name).hex}"


def signature(secret: Secret, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.key, content, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode()}"


def webhook_headers(secret: Secret, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }
