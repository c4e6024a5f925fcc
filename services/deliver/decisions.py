"""deliver's decisions, as pure functions: what an answer means, what happens after an attempt, and
whether a release is still owed to an endpoint.

Every answer outside 2xx is a failure and is retried: a receiver that rejects a signature may have
its secret fixed, one that answers 404 may be redeployed. After `max_attempts` the release is
dead-lettered for that endpoint and the endpoint moves on to the next release, so one broken
receiver never holds the others (each endpoint has its own queue) nor its own later releases forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.exchange.deliver import DeadLetterReason


@dataclass(frozen=True)
class Answer:
    """What one attempt gave: an HTTP status, or the kind of transport failure."""

    status: int | None = None
    error: DeadLetterReason | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def reason(self) -> DeadLetterReason | None:
        """A bounded label for a failed attempt; None for a delivered one."""
        if self.delivered:
            return None
        if self.status is None:
            return self.error or "transport"
        if 400 <= self.status < 500:
            return "http_4xx"
        if 500 <= self.status < 600:
            return "http_5xx"
        return "http_other"


@dataclass(frozen=True)
class Done:
    attempts: int


@dataclass(frozen=True)
class Retry:
    attempt: int  # the attempt that just failed


@dataclass(frozen=True)
class DeadLetter:
    attempts: int
    reason: DeadLetterReason


Step = Done | Retry | DeadLetter


def after_attempt(attempt: int, answer: Answer, max_attempts: int) -> Step:
    """What follows attempt number `attempt` (from 1) that gave `answer`."""
    reason = answer.reason
    if reason is None:
        return Done(attempt)
    if attempt >= max_attempts:
        return DeadLetter(attempt, reason)
    return Retry(attempt)


def owed(done_through: datetime | None, release_id: datetime) -> bool:
    """Whether a release is still owed to an endpoint whose state says every release up to
    `done_through` is done (delivered or dead-lettered). Releases go to an endpoint in order, so one
    marker per endpoint is the whole idempotency state: a release at or before it is never sent again."""
    return done_through is None or release_id > done_through
