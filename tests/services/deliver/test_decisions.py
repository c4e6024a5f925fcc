"""What an answer means, what follows an attempt, and whether a release is still owed."""

from __future__ import annotations

import pytest

from services.deliver.decisions import Answer, DeadLetter, Done, Retry, after_attempt, owed
from tests.services.deliver.releases import release_time


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(status=200), None),
        (Answer(status=204), None),
        (Answer(status=301), "http_other"),
        (Answer(status=401), "http_4xx"),
        (Answer(status=429), "http_4xx"),
        (Answer(status=500), "http_5xx"),
        (Answer(error="timeout"), "timeout"),
        (Answer(error="connect"), "connect"),
        (Answer(), "transport"),
    ],
)
def test_every_answer_but_2xx_is_a_failure_with_a_bounded_reason(answer: Answer, reason: str | None) -> None:
    assert answer.reason == reason
    assert answer.delivered == (reason is None)


def test_a_failure_is_retried_until_the_last_attempt_then_dead_lettered() -> None:
    failed = Answer(status=503)
    assert after_attempt(1, failed, 3) == Retry(1)
    assert after_attempt(2, failed, 3) == Retry(2)
    assert after_attempt(3, failed, 3) == DeadLetter(3, "http_5xx")
    assert after_attempt(1, failed, 1) == DeadLetter(1, "http_5xx")
    assert after_attempt(3, Answer(status=200), 3) == Done(3)


def test_a_release_at_or_before_the_endpoints_state_is_not_owed() -> None:
    assert owed(None, release_time(0))
    assert owed(release_time(0), release_time(1))
    assert not owed(release_time(1), release_time(1))
    assert not owed(release_time(1), release_time(0))
