"""What an audit is like before a platform writes it up, the same on both: the plan (when it ends, when
it is published, by which firm), the days on site, when a finding's remediation opens, progresses and
is put right, whether the audit is withdrawn, and the story a site's workers tell about their voice.

simulator/sedex.py and simulator/amfori.py call these at the same point of their own audit builders,
so the two platforms' audits are drawn alike and differ only in their words and scales. Each function
draws from the ``rng`` it is given, in the order its statements run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemas.taxonomy import min_auditor_days
from simulator.emitter import HOUR, ri
from simulator.message import DAY
from simulator.sites import PlatformSite

Steps = list[tuple[int, str, int | None]]
"""A finding's remediation as (time, state, the time it was put right if it was)."""


@dataclass(slots=True)
class AuditPlan:
    """An audit of a site as planned (when it ends, when it is published, by which firm); the platform's
    builder writes it up as a SMETA audit or a BSCI monitoring."""

    end: int
    published: int
    follow_up: bool
    firm: tuple[str, str, float, float, float]


def auditor_days(rng: random.Random, site: PlatformSite, plan: AuditPlan) -> float:
    """Days on site: the minimum for the workforce or a little more, less than the minimum in the share
    of the firm's audits that cut it short, and a day or so for a follow-up."""
    below = plan.firm[3]
    min_days = min_auditor_days(site.physical.workforce.total)
    days = (
        min_days + rng.choice((0.0, 0.0, 0.5, 1.0))
        if rng.random() >= below
        else max(0.5, min_days - rng.choice((0.5, 1.0)))
    )
    if plan.follow_up:
        days = rng.choice((0.5, 1.0, 1.5))
    return days


def remediation_opened(
    rng: random.Random, plan: AuditPlan, opened: str, progressing: str
) -> tuple[int, Steps]:
    """A finding's remediation opens within a week of publication and often makes progress later;
    returns the time of the last step and the steps."""
    t = plan.published + ri(rng, HOUR, 7 * DAY)
    steps: Steps = [(t, opened, None)]
    if rng.random() < 0.6:
        t += ri(rng, 5 * DAY, 50 * DAY)
        steps.append((t, progressing, None))
    return t, steps


def put_right(rng: random.Random, t: int, plan: AuditPlan, due: int) -> int:
    """When a finding is put right, after ``t``: mostly by its due date, otherwise up to 90 days late."""
    return (
        ri(rng, max(t, plan.end + DAY), max(t, due) + DAY)
        if rng.random() < 0.7
        else ri(rng, max(t, due) + DAY, max(t, due) + 90 * DAY)
    )


def withdrawn(rng: random.Random, last: int, end: int) -> int | None:
    """When the audit is withdrawn (3 in 100 are, within 45 days of their last version), if before ``end``."""
    if rng.random() < 0.03:
        t = last + ri(rng, DAY, 45 * DAY)
        if t < end:
            return t
    return None


def workers_story(site: PlatformSite) -> tuple[bool, bool, bool]:
    """Whether the site has a trade union, a worker committee and a collective agreement: drawn from a
    stream of the site's own, so that every audit of a site tells the same story."""
    r = random.Random(site.physical.index * 7 + 1)
    union = r.random() < 0.25
    committee = r.random() < 0.7
    return union, committee, union and r.random() < 0.6
