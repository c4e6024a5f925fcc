"""A long scripted history on a crafted world, attacked by every supplier and member (and an outsider)
at every release; and a check that the attacker is not vacuous.

The history (24 hourly releases of 2026-Q1, about 250 sites in BD and VN × apparel, footwear and
electronics, on Sedex and amfori) has everything that moves a cell between releases: arrivals and
removals, consent withdrawn and re-granted, audits revised and withdrawn, sites re-resolved (an OS id
gained, an address edited), a merge and its split, members listed with and without their LEI or
linked through a shared LEI, and an attacker supplier adding its own sites one at a time to a small
cell and then removing them. Whatever the engine withholds, `insider.attack` must find nothing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import date, timedelta

from schemas.taxonomy import ForcedLabourIndicator as FL
from schemas.taxonomy import Issue, Sector, Severity
from tests.services.aggregate.crafted import FIRST_Q1_RELEASE, Crafted, FindingSpec, Platform, Ref, Releases
from tests.services.aggregate.insider import (
    ALL,
    COUNTS,
    POP,
    Record,
    Release,
    attack,
    attackers,
    cell_tokens,
    summary,
    values_of,
)

COUNTRIES = ("BD", "VN")
SECTORS = (Sector.APPAREL_TEXTILES, Sector.FOOTWEAR_LEATHER, Sector.ELECTRONICS)
ISSUES = (Issue.WAGES, Issue.HEALTH_SAFETY, Issue.FORCED_LABOUR)
SEVERITIES = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
RELEASES = 24
# The hourly releases start at noon, so the history crosses one UTC midnight: remediation's
# `open_overdue` then changes by the clock alone for every action due on 2026-05-01.
START = FIRST_Q1_RELEASE + timedelta(hours=12)
DUE = (date(2026, 3, 1), date(2026, 5, 1), date(2026, 5, 1), date(2026, 7, 1))  # overdue, at midnight, later


def findings(rng: random.Random) -> tuple[FindingSpec, ...]:
    out: list[FindingSpec] = []
    if rng.random() < 0.35:
        out.append((Issue.WAGES, rng.choice(SEVERITIES)))
    if rng.random() < 0.45:
        out.append((Issue.HEALTH_SAFETY, rng.choice(SEVERITIES)))
    if rng.random() < 0.12:
        out.append((Issue.FORCED_LABOUR, rng.choice(SEVERITIES), rng.sample(list(FL), rng.randint(1, 2))))
    return tuple(out)


def members(rng: random.Random, i: int) -> list[Ref]:
    """Six customers. `lei-less` is listed with its LEI on some sites and without it (same reference)
    on others; `alpha` and `beta` are two references that share one LEI (one member through a chain)."""
    refs = []
    if rng.random() < 0.2:
        refs.append(Ref("lei-less", lei="LEI-LESS") if i % 2 else Ref("lei-less"))
    if rng.random() < 0.1:
        refs.append(Ref("alpha", lei="LEI-AB"))
    if rng.random() < 0.1:
        refs.append(Ref("beta", lei="LEI-AB") if i % 3 else Ref("beta"))
    for name in ("gamma", "delta", "eps"):
        if rng.random() < 0.12:
            refs.append(Ref(name, lei=f"LEI-{name}"))
    return refs


class Script:
    """The world and the events between releases, deterministic in its seed."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.actions = random.Random(
            seed + 1
        )  # corrective actions draw apart: the findings stay as they were
        self.world = Crafted()
        self.n = 0
        self.names: list[str] = []
        self.audits: dict[str, int] = {}
        for country in COUNTRIES:
            for sector in SECTORS:
                for _ in range(40 if (country, sector) != ("BD", Sector.ELECTRONICS) else 8):
                    self.add(country, sector)
        # One site known to each platform separately, merged later.
        self.add("VN", Sector.APPAREL_TEXTILES, name="twin-s", platforms=("sedex",), company="twin")
        self.add("VN", Sector.APPAREL_TEXTILES, name="twin-a", platforms=("amfori",), company="twin")

    def add(
        self,
        country: str,
        sector: Sector,
        *,
        name: str | None = None,
        platforms: tuple[Platform, ...] | None = None,
        company: str | None = None,
    ) -> str:
        i = self.n
        self.n += 1
        name = name or f"s{i}"
        if platforms is None:
            both: tuple[Platform, ...] = ("sedex", "amfori")
            platforms = both if i % 6 == 0 else ("amfori",) if i % 6 == 1 else ("sedex",)
        # Every ninth supplier owns the next site too; a dual-platform site has two supplier references.
        owner = company or (f"sup{i - 1}" if i % 9 == 1 else f"sup{i}")
        companies = {"amfori": f"le-{owner}"} if len(platforms) == 2 else None
        self.world.site(
            name,
            country=country,
            sector=sector,
            company=owner,
            platforms=platforms,
            members=members(self.rng, i),
            companies=companies,
        )
        self.revise(name)
        self.names.append(name)
        return name

    def revise(self, name: str) -> None:
        version = self.audits.get(name, 0)
        self.audits[name] = version + 1
        voice = (
            self.rng.random() < 0.3,  # a union
            self.rng.random() < 0.5,  # a worker committee
            self.rng.random() < 0.2,  # a collective agreement
            self.rng.random() < 0.7,  # a grievance mechanism
        )
        found = findings(self.rng)
        self.world.audit(f"{name}-audit", name, *found, voice=voice)
        for index in range(len(found)):  # remediation: most findings get a corrective action
            rng = self.actions
            if rng.random() < 0.2:
                continue
            due = rng.choice(DUE)
            closed = date(2026, 2, 1) + timedelta(days=rng.randint(5, 80)) if rng.random() < 0.4 else None
            self.world.corrective_action(f"{name}-audit", index, due=due, closed=closed)

    def step(self, k: int) -> None:
        """The events between release k-1 and release k."""
        rng, world = self.rng, self.world
        for name in rng.sample([n for n in self.names if n in self.audits], 2):
            self.revise(name)  # ordinary audit revisions, every hour
        if k == 1:
            self.add("VN", Sector.FOOTWEAR_LEATHER)
            self.add("BD", Sector.APPAREL_TEXTILES)
        if 1 <= k <= 6:  # the intruder adds its own sites, one at a time, to the small cell
            self.add("BD", Sector.ELECTRONICS, name=f"intruder{k}", company="intruder")
        if k == 2:
            world.remove("s5")
        if k == 3:
            world.withdraw_consent("sup9")  # owns s9 and s10
        if k == 4:
            world.withdraw_audit("s20-audit")
            del self.audits["s20"]
        if k == 5:
            for name in ("s30", "s31", "s32"):
                world.reresolve(name)  # an Open Supply Hub id gained
        if k == 7:
            world.merge("twin-s", "twin-a")
        if k == 8:
            for name in self.names[40:48]:  # eight sites of one cell revised at once
                self.revise(name)
        if k == 9:
            world.grant_consent("sup9")
        if k == 10:
            world.reresolve("s44")  # an address edited
            world.set_members("s45", [Ref("lei-less", lei="LEI-LESS"), Ref("gamma")])
        if k == 11:
            world.remove("s6", platform="amfori")  # one platform of a dual-platform site
        if k == 12:
            for _ in range(6):
                self.add("VN", Sector.ELECTRONICS)
        if k == 13:
            world.split("twin-s", "twin-a")
        if 14 <= k <= 19:  # and removes them again, one at a time
            world.remove(f"intruder{k - 13}")
        if k == 15:
            world.touch("s0", platform="amfori")  # the amfori legal entity becomes principal owner
        if k == 16:
            world.restore("s5")
        if k == 18:
            for name in self.names[100:107]:
                self.revise(name)


def test_no_insider_learns_anything_over_a_long_history() -> None:
    script, releases = Script(), Releases(at=START)
    releases.release(script.world)
    for k in range(1, RELEASES):
        script.step(k)
        releases.release(script.world)
    history = releases.history
    assert len(history) == RELEASES
    who = attackers(history)
    assert len(who) > 200  # every supplier and member, merged, and the outsider
    # The history does move cells: some are re-sent after the first release.
    assert sum(1 for r in history[1:] for _ in r.records) > 0
    # remediation is in it, with outcomes, and the clock moves some of its cells at midnight
    remediation = [
        (i, json.loads(v))
        for i, r in enumerate(history)
        for t, _, v, _ in r.records
        if t.endswith("remediation.v1")
    ]
    assert any(m["measures"] and m["measures"]["closed"] is not None for _, m in remediation)
    midnight = next(i for i, r in enumerate(history) if r.at.endswith("T00:00:00Z"))
    assert any(i == midnight and m["revision"] > 0 for i, m in remediation)
    violations = attack(history, who=who)
    assert not violations, summary(violations)


# --- the attacker is not vacuous --------------------------------------------------------------------------


def planted(
    table: str, cell: Mapping[str, str], at: str, revision: int, values: Mapping[str, int], *, outcomes: bool
) -> Record:
    """A message built by hand from the truth (aggregates.md "Message format"), not by the engine."""
    measures: dict[str, object] = {POP: values[POP]}
    head = COUNTS[table][0]
    measures[head] = values[head] if outcomes else None
    group = "by_severity" if table == "issue-prevalence" else "by_indicator"
    measures[group] = (
        {name.split(".", 1)[1]: values[name] for name in COUNTS[table][1:]} if outcomes else None
    )
    if table == "issue-prevalence":
        measures["rate_pct"] = round(100 * values[head] / values[POP], 1) if outcomes else None
    value = {
        "table": table,
        "schema_version": 1,
        "release_id": at,
        "released_at": at,
        "revision": revision,
        "cell": dict(cell),
        "status": "published",
        "measures": measures,
    }
    return (
        f"exchange.aggregates.{table}.v1",
        json.dumps(dict(cell), sort_keys=True).encode(),
        json.dumps(value).encode(),
        [],
    )


def test_the_attacker_catches_a_planted_leak() -> None:
    """Release 0 shows BD×ALL and BD×APPAREL with their wages outcomes but only the population of
    BD×FOOTWEAR: margin minus sibling pins footwear's withheld count. Release 1 re-sends BD×APPAREL's
    health-and-safety cell after one site's finding changed: a one-site delta."""
    world = Crafted()
    for i in range(30):
        world.site(f"a{i}")
        world.audit(f"a{i}-audit", f"a{i}", *([(Issue.WAGES, Severity.MAJOR)] if i % 3 == 0 else []))
    for i in range(25):
        world.site(f"f{i}", sector=Sector.FOOTWEAR_LEATHER)
        world.audit(f"f{i}-audit", f"f{i}", *([(Issue.WAGES, Severity.MINOR)] if i % 2 == 0 else []))
    history: list[Release] = []
    wages = ("issue-prevalence", "2026-Q1", Issue.WAGES.value)
    health = ("issue-prevalence", "2026-Q1", Issue.HEALTH_SAFETY.value)

    def publish(
        at: str, family: tuple[str, str, str], cells: Mapping[tuple[str, str], bool], revision: int
    ) -> list[Record]:
        truth = cell_tokens(world.snapshot(at), family)
        return [
            planted(
                family[0],
                {"period": family[1], "country": c, "sector": s, "issue": family[2]},
                at,
                revision,
                values_of(family[0], truth[(c, s)].values()),
                outcomes=shown,
            )
            for (c, s), shown in cells.items()
        ]

    at0, at1 = "2026-05-01T00:00:00Z", "2026-05-01T01:00:00Z"
    apparel, footwear = Sector.APPAREL_TEXTILES.value, Sector.FOOTWEAR_LEATHER.value
    records = publish(at0, wages, {("BD", ALL): True, ("BD", apparel): True, ("BD", footwear): False}, 0)
    records += publish(at0, health, {("BD", apparel): True}, 0)
    history.append(Release(at0, world.snapshot(at0), records))

    world.audit("a1-audit", "a1", (Issue.HEALTH_SAFETY, Severity.CRITICAL))
    history.append(Release(at1, world.snapshot(at1), publish(at1, health, {("BD", apparel): True}, 1)))

    violations = attack(history)
    kinds = {(v.kind, v.cell.split("sector=")[-1] if v.kind == "recovery" else v.cell) for v in violations}
    assert any(
        v.kind == "recovery" and "FOOTWEAR" in v.cell and "sites_with_issue" in v.detail for v in violations
    ), kinds
    assert any(v.kind == "differencing" and "HEALTH_SAFETY" in v.cell for v in violations), kinds
    # The outsider alone already pins footwear's count; a supplier with a footwear site pins it too.
    assert any(v.attacker == "outsider" for v in violations if v.kind == "recovery")


def test_the_attacker_covers_labour_relations() -> None:
    """The same planted leak in the third table: BD×ALL and BD×APPAREL with their flag counts, BD×FOOTWEAR
    with its population only, pins footwear's unions; the history of the engine's own releases (above)
    has labour-relations cells with outcomes, so the attacker's silence there means something."""
    world = Crafted()
    for i in range(30):
        world.site(f"a{i}")
        world.audit(f"a{i}-audit", f"a{i}", voice=(i % 3 == 0, False, False, True))
    for i in range(25):
        world.site(f"f{i}", sector=Sector.FOOTWEAR_LEATHER)
        world.audit(f"f{i}-audit", f"f{i}", voice=(i % 2 == 0, False, False, True))
    at = "2026-05-01T00:00:00Z"
    truth = cell_tokens(world.snapshot(at), ("labour-relations", "2026-Q1", ""))
    apparel, footwear = Sector.APPAREL_TEXTILES.value, Sector.FOOTWEAR_LEATHER.value
    records: list[Record] = []
    for (country, sector), shown in {
        ("BD", ALL): True,
        ("BD", apparel): True,
        ("BD", footwear): False,
    }.items():
        values = values_of("labour-relations", truth[(country, sector)].values())
        measures = {POP: values[POP], **{n: values[n] if shown else None for n in COUNTS["labour-relations"]}}
        cell = {"period": "2026-Q1", "country": country, "sector": sector}
        value = {
            "table": "labour-relations",
            "schema_version": 1,
            "release_id": at,
            "released_at": at,
            "revision": 0,
            "cell": cell,
            "status": "published",
            "measures": measures,
        }
        records.append(
            (
                "exchange.aggregates.labour-relations.v1",
                json.dumps(cell, sort_keys=True).encode(),
                json.dumps(value).encode(),
                [],
            )
        )
    violations = attack([Release(at, world.snapshot(at), records)])
    assert any(
        v.kind == "recovery" and "FOOTWEAR" in v.cell and "sites_with_union" in v.detail for v in violations
    )

    assert engine_shows("labour-relations", "sites_with_union")


def engine_shows(table: str, measure: str) -> bool:
    """Whether the engine's own first release of the scripted world shows `measure` of `table` in some
    cell: the attacker's silence over that table then means something."""
    script, releases = Script(), Releases()
    releases.release(script.world)
    sent = [
        json.loads(v)
        for r in releases.history
        for t, _, v, _ in r.records
        if t.endswith(f"{table}.v1") and json.loads(v)["measures"]
    ]
    return any(m["measures"][measure] is not None for m in sent)


def test_the_attacker_covers_audit_quality() -> None:
    """The planted leak in audit-quality (family: period x firm, country the margin): the firm's total and
    BD show their shares (read back as counts with the published `audits`), CN its population only, which
    pins CN's zero-finding audits; and the engine's own releases of the long history show audit-quality
    cells with outcomes, so the attacker's silence there means something."""
    world = Crafted()
    for i in range(30):
        world.site(f"b{i}")
        world.audit(f"b{i}-audit", f"b{i}", *([(Issue.WAGES, Severity.MAJOR)] if i % 3 == 0 else []))
    for i in range(25):
        world.site(f"c{i}", country="CN")
        world.audit(f"c{i}-audit", f"c{i}", *([(Issue.WAGES, Severity.MINOR)] if i % 2 == 0 else []))
    at = "2026-05-01T00:00:00Z"
    truth = cell_tokens(world.snapshot(at), ("audit-quality", "2026-Q1", "APSCA-F-00123"))
    shares = ("unannounced", "semi_announced", "zero_finding", "below_minimum_days")
    records: list[Record] = []
    for country, shown in {ALL: True, "BD": True, "CN": False}.items():
        values = values_of("audit-quality", truth[(country, ALL)].values())
        audits = values[POP]
        measures: dict[str, object] = {"audits": audits, "sites": values["sites"]}
        measures |= {f"{n}_pct": round(100 * values[n] / audits, 1) if shown else None for n in shares}
        measures |= {"mean_findings_per_audit": 0.5 if shown else None, "critical_missed_pct": None}
        cell = {"period": "2026-Q1", "audit_firm": "APSCA-F-00123", "country": country}
        value = {
            "table": "audit-quality",
            "schema_version": 1,
            "release_id": at,
            "released_at": at,
            "revision": 0,
            "cell": {**cell, "audit_firm_name": "Example Assurance Ltd"},
            "status": "published",
            "measures": measures,
        }
        key = json.dumps(cell, sort_keys=True).encode()
        records.append(("exchange.aggregates.audit-quality.v1", key, json.dumps(value).encode(), []))
    violations = attack([Release(at, world.snapshot(at), records)])
    assert any(
        v.kind == "recovery" and "country=CN" in v.cell and "zero_finding" in v.detail for v in violations
    ), summary(violations)

    assert engine_shows("audit-quality", "zero_finding_pct")
