"""Signatures: what deliver signs verifies under a receiver written from the spec (verifier.py), and
anything changed in transit does not."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from services.deliver.endpoints import EndpointsError, Secret
from services.deliver.signing import signature, webhook_headers, webhook_id
from tests.services.deliver.releases import new_secret, release_time
from tests.services.deliver.verifier import Rejected, verify

SECRET = new_secret(1)
BODY = b'{"type":"aggregates.release","data":{}}'
Tamper = Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]


def test_a_signed_request_verifies() -> None:
    now = int(time.time())
    headers = webhook_headers(Secret.parse(SECRET), "msg_1", now, BODY)
    verify(SECRET, headers, BODY, now)
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "webhook-id": "msg_2"}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: ({**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}, b),
    ],
    ids=["body", "id", "timestamp", "version"],
)
def test_a_tampered_request_does_not(tamper: Tamper) -> None:
    now = int(time.time())
    headers, body = tamper(webhook_headers(Secret.parse(SECRET), "msg_1", now, BODY), BODY)
    with pytest.raises(Rejected):
        verify(SECRET, headers, body, now)


def test_another_secret_does_not_verify() -> None:
    now = int(time.time())
    headers = webhook_headers(Secret.parse(new_secret(2)), "msg_1", now, BODY)
    with pytest.raises(Rejected):
        verify(SECRET, headers, BODY, now)


def test_an_old_timestamp_is_refused_by_the_receiver() -> None:
    then = int(time.time()) - 3600
    headers = webhook_headers(Secret.parse(SECRET), "msg_1", then, BODY)
    with pytest.raises(Rejected, match="tolerance"):
        verify(SECRET, headers, BODY, then + 3600)


def test_the_example_of_the_standard_webhooks_libraries() -> None:
    """The example the Standard Webhooks reference libraries test against (secret, id, timestamp,
    payload and signature as published there): both readings of the spec give it."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, timestamp, payload = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signature(Secret(base64.b64decode(secret[6:])), msg_id, timestamp, payload) == expected
    verify(
        secret,
        {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": expected},
        payload,
        timestamp,
    )


def test_the_webhook_id_is_stable_per_endpoint_and_release() -> None:
    first = webhook_id("sedex-main", release_time(0))
    assert first == webhook_id("sedex-main", release_time(0))  # every retry, every restart
    assert re.fullmatch(r"msg_[0-9a-f]{32}", first)
    assert first != webhook_id("sedex-main", release_time(1))
    assert first != webhook_id("amfori-main", release_time(0))
    assert webhook_id("a", release_time(0) + timedelta(hours=0)) == webhook_id("a", release_time(0))


def test_a_secret_is_never_shown() -> None:
    secret = Secret.parse(SECRET)
    assert SECRET[6:] not in repr(secret) and "redacted" in repr(secret)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with"),
        ("whsec_!!!", "base64"),
        ("whsec_AAAA", "24 to 64"),
    ],
)
def test_a_malformed_secret_is_refused_without_quoting_it(text: str, why: str) -> None:
    with pytest.raises(EndpointsError, match=why) as refused:
        Secret.parse(text)
    assert text not in str(refused.value)
