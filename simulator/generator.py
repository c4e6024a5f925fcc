"""The life of a site on its platform, the same for both: when its versions, audits, trainings,
capacity-building campaigns, removal and its company's consent changes happen, drawn from the one
random stream of `Emitter` in a fixed order. What each event says is the platform's own business
(simulator/sedex.py, simulator/amfori.py, both under the `PlatformEvents` protocol); `generate_feed`
(simulator/feed.py) runs the generator and sorts what it sent into delivery order.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, Final, Protocol

from simulator import amfori, sedex
from simulator.audits import AuditPlan
from simulator.emitter import HOUR, Emitter, midnight, ri
from simulator.members import Member
from simulator.message import DAY
from simulator.sites import PlatformSite
from simulator.vocabulary import AUDIT_FIRMS
from simulator.world import World


class PlatformEvents(Protocol):
    """What simulator/sedex.py and simulator/amfori.py each provide, under the same names: the generator
    decides when something happens to a site, the site's platform module writes the event."""

    TOPIC: str
    HEADERS: tuple[tuple[str, bytes], ...]
    SITE: str
    """The event type of a site's version (first and revised), and those of its removal, of its
    company's consent change and of a training completion."""
    SITE_REMOVED: str
    CONSENT: str
    TRAINING: str
    MEMBERS: str
    """The field of a site's state that lists its members."""
    OS_ID_BEFORE: str
    """The field of a site's state that its osId stands before, where the platform itself puts it."""
    TRAINING_CHOICES: tuple[str, ...]
    CAMPAIGN_WEIGHTS: dict[str, float]
    """How much more often a capacity-building campaign picks a topic than the others (weight 1)."""

    def envelope(
        self,
        out: Emitter,
        etype: str,
        t: int,
        version: int,
        site: PlatformSite,
        body: dict[str, Any],
        company_level: bool = False,
    ) -> dict[str, Any]:
        """The event around ``body``: a fresh id, the time, the entity version, the company's (and,
        unless ``company_level``, the site's) reference."""
        ...

    def site_state(self, site: PlatformSite) -> dict[str, Any]:
        """A site's first version as the platform describes it."""
        ...

    def members(self, world: World) -> list[Member]:
        """The members the platform knows."""
        ...

    def member_ref(self, m: Member) -> str | None:
        """The member's reference on this platform."""
        ...

    def member(self, m: Member, holder: bool = False) -> dict[str, str]:
        """The member as the site's state lists it."""
        ...

    def change_workforce(self, rng: random.Random, state: dict[str, Any]) -> None:
        """A revision of the site's workforce, in place."""
        ...

    def audit(self, out: Emitter, site: PlatformSite, plan: AuditPlan) -> int:
        """The audit's events (published, revised, withdrawn) and its findings' remediation; returns
        the time of the last one."""
        ...

    def training(
        self, rng: random.Random, n: int, t: int, participants: int, topic: str | None
    ) -> dict[str, Any]:
        """The body of training completion ``n``, of ``topic`` or one drawn."""
        ...

    def consent(self, granted: bool) -> dict[str, Any]:
        """The body of a consent change to the aggregate exchange."""
        ...


PLATFORMS: Final[dict[str, PlatformEvents]] = {"sedex": sedex, "amfori": amfori}


class Generator(Emitter):
    """Walks the world site by site; the global order comes from sorting by delivery time at the end."""

    def __init__(
        self, world: World, seed: int, start: int, end: int, redelivery: float, stale: float, removal: float
    ) -> None:
        headers = {p.TOPIC: p.HEADERS for p in PLATFORMS.values()}
        super().__init__(world, seed, start, end, redelivery, stale, headers)
        self.seed = seed
        self.campaign_ids = 90_000_000  # training refs of the campaigns, apart from the main sequence
        self.removal = removal
        self.site_versions: dict[str, int] = {}

    # -- the walk --

    def run(self) -> None:
        for site in self.world.sedex_sites:
            self.site(site)
        for site in self.world.amfori_sites:
            self.site(site)
        seen: set[str] = set()
        for site in self.world.sedex_sites + self.world.amfori_sites:
            if site.company_ref not in seen:
                seen.add(site.company_ref)
                self.consent(site)

    def site(self, site: PlatformSite) -> None:
        rng, S, E = self.rng, self.start, self.end
        platform = PLATFORMS[site.platform]
        span = E - S
        early = rng.random() < 0.7
        t0 = S + ri(rng, 0, min(14 * DAY, span // 4)) if early else S + ri(rng, 0, max(1, span - span // 8))
        audits = self.plan_audits(t0, early)
        if audits and rng.random() < 0.04:
            t0 = min(audits[0].published + ri(rng, HOUR, 7 * DAY), E - 1)  # the audit arrives first
        last = t0
        last = max(last, self.site_events(site, t0))
        for audit in audits:
            last = max(last, platform.audit(self, site, audit))
        for t in self.plan_trainings(t0):
            last = max(last, self.training(site, t))
        self.campaign(site, max(t0, S))
        if rng.random() < self.removal:
            t = last + ri(rng, DAY, 30 * DAY)
            if t < E:
                self.removed(site, t)

    def plan_audits(self, t0: int, early: bool) -> list[AuditPlan]:
        rng, E = self.rng, self.end
        audits: list[AuditPlan] = []
        end = (self.start - 20 * DAY if early else t0) + ri(rng, 0, 365 * DAY)
        firm = rng.choice(AUDIT_FIRMS)
        while True:
            end = midnight(end)
            published = end + ri(rng, 2 * DAY, 21 * DAY)
            if published >= E:
                break
            if published <= t0 and not early:
                published = t0 + ri(rng, HOUR, 5 * DAY)
            if published < self.start:  # audited before the window, published as the feed begins
                published = self.start + ri(rng, HOUR, 3 * DAY)
            audits.append(AuditPlan(end, published, False, firm))
            if rng.random() < 0.3:  # a follow-up; its findings are drawn lighter
                fu_end = midnight(end + ri(rng, 45 * DAY, 120 * DAY))
                fu_pub = fu_end + ri(rng, DAY, 14 * DAY)
                if fu_pub < E:
                    audits.append(AuditPlan(fu_end, fu_pub, True, firm))
            end += ri(rng, 330 * DAY, 400 * DAY)
            if rng.random() < 0.35:
                firm = rng.choice(AUDIT_FIRMS)
        return audits

    def plan_trainings(self, t0: int) -> list[int]:
        rng = self.rng
        first = max(t0, self.start)
        out: list[int] = []
        years = max(1, round((self.end - self.start) / (365 * DAY)))
        for _ in range(years):
            r = rng.random()
            for _ in range(2 if r < 0.15 else 1 if r < 0.55 else 0):
                if self.end - first > DAY:
                    out.append(ri(rng, first + HOUR, self.end - 1))
        return sorted(out)

    # -- sites --

    def site_events(self, site: PlatformSite, t0: int) -> int:
        """Version 1 and the revisions of a site; returns the time of the last one."""
        rng = self.rng
        platform = PLATFORMS[site.platform]
        etype = platform.SITE
        topic, key = platform.TOPIC, site.ref
        state = platform.site_state(site)
        prev = platform.envelope(self, etype, t0, 1, site, state)
        self.emit(t0, topic, key, prev, etype)
        n = rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]
        times = sorted(ri(rng, t0 + DAY, self.end - 1) for _ in range(n)) if self.end - t0 > 2 * DAY else []
        gained = False
        version, last = 1, t0
        for t in times:
            version += 1
            state = _copy_state(state)
            r = rng.random()
            if site.os_id_later and not gained:
                state = _with_os_id(state, site.os_id_later, platform.OS_ID_BEFORE)
                gained = True
            elif r < 0.4:
                platform.change_workforce(rng, state)
            elif r < 0.65 and site.match is None:
                state["address"]["street"] += rng.choice(
                    (", Gate 2", ", Ground Floor", " (Building B)", ", Unit 3")
                )
            else:
                member = rng.choice(platform.members(self.world))
                listed = state[platform.MEMBERS]
                ref = platform.member_ref(member)
                if all(x.get("companyRef", x.get("amforiId")) != ref for x in listed):
                    listed.append(platform.member(member))
                elif len(listed) > 1:
                    listed.pop()
                else:
                    platform.change_workforce(rng, state)
            obj = platform.envelope(self, etype, t, version, site, state)
            self.emit(t, topic, key, obj, etype, previous=prev)
            prev, last = obj, t
        self.site_versions[site.ref] = version
        return last

    def removed(self, site: PlatformSite, t: int) -> None:
        version = self.site_versions.pop(site.ref) + 1
        platform = PLATFORMS[site.platform]
        obj = platform.envelope(self, platform.SITE_REMOVED, t, version, site, {})
        self.emit(t, platform.TOPIC, site.ref, obj, platform.SITE_REMOVED)

    # -- trainings and consent --

    def campaign(self, site: PlatformSite, first: int) -> None:
        """Capacity-building campaigns: most quarters a site sends people to a course, on a few popular
        topics (health and safety, wages, forced labour) more than on the rest, so that the trained
        groups of `capacity-building` reach the disclosure thresholds at the demo's and a year's scale.

        Drawn from a generator of its own and numbered apart, with nothing else of the feed touched
        (the main generator, the id sequence, the samples of malformed variants, the valid count), so
        every other event of the feed is the same as without campaigns."""
        saved = (self.rng, self.counter, self.seen, self.samples, self.valid)
        self.rng = random.Random(f"{self.seed}:campaign:{site.ref}")
        self.counter, self.seen = self.campaign_ids, Counter()
        self.samples = {k: [] for k in self.SAMPLE_KINDS}
        try:
            rng, weights = self.rng, PLATFORMS[site.platform].CAMPAIGN_WEIGHTS
            choices = PLATFORMS[site.platform].TRAINING_CHOICES
            engaged = rng.random()
            step = 91 * DAY
            for begin in range(first, self.end, step):
                if rng.random() < engaged and min(begin + step, self.end) - begin > DAY:
                    t = ri(rng, begin + HOUR, min(begin + step, self.end) - 1)
                    topic = rng.choices(choices, weights=[weights.get(c, 1.0) for c in choices])[0]
                    self.training(site, t, topic)
        finally:
            self.campaign_ids = self.counter
            self.rng, self.counter, self.seen, self.samples, self.valid = saved

    def training(self, site: PlatformSite, t: int, campaign_topic: str | None = None) -> int:
        rng = self.rng
        n = self.next_id()
        participants = ri(rng, 1, max(1, min(60, site.physical.workforce.total // 4)))
        platform = PLATFORMS[site.platform]
        etype = platform.TRAINING
        payload = platform.training(rng, n, t, participants, campaign_topic)
        obj = platform.envelope(self, etype, t, 1, site, payload)
        self.emit(t, platform.TOPIC, site.ref, obj, etype)
        if rng.random() < 0.05 and self.end - t > 2 * DAY:  # participants corrected
            t2 = ri(rng, t + DAY, self.end - 1)
            new = platform.envelope(
                self, etype, t2, 2, site, dict(payload, participants=participants + ri(rng, 1, 10))
            )
            self.emit(t2, platform.TOPIC, site.ref, new, etype, previous=obj)
            t = t2
        return t

    def consent(self, site: PlatformSite) -> None:
        """A few companies say yes explicitly, a few withdraw, and half of those come back."""
        rng, S, E = self.rng, self.start, self.end
        platform = PLATFORMS[site.platform]
        times: list[tuple[int, bool]] = []
        if rng.random() < 0.05:
            times.append((S + ri(rng, 0, (E - S) // 3), True))
        if rng.random() < 0.06:
            off = ri(rng, max(S, times[-1][0] + DAY) if times else S, E - 2)
            times.append((off, False))
            if rng.random() < 0.5 and E - off > 2 * DAY:
                times.append((ri(rng, off + DAY, E - 1), True))
        prev = None
        for v, (t, granted) in enumerate(times, start=1):
            body = platform.consent(granted)
            obj = platform.envelope(self, platform.CONSENT, t, v, site, body, company_level=True)
            self.emit(t, platform.TOPIC, site.company_ref, obj, platform.CONSENT, previous=prev)
            prev = obj


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (dict(v) if isinstance(v, dict) else [dict(x) for x in v] if isinstance(v, list) else v)
        for k, v in state.items()
    }


def _with_os_id(state: dict[str, Any], os_id: str, before: str) -> dict[str, Any]:
    """Put osId where the platform itself puts it (``before`` that field), so a revision looks like the
    platform's own output."""
    out: dict[str, Any] = {}
    for k, v in state.items():
        if k == before:
            out["osId"] = os_id
        if k != "osId":
            out[k] = v
    return out
