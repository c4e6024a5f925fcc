"""Attacks 5 and 6 of the disclosure issue against the differential-privacy mode (aggregates.md, last
paragraph), where they are closed by noise rather than by withholding.

* Attack 6 (the recovery rule leaks when it fires): in this mode nothing is withheld beyond the primary
  rules, which read populations only, so two worlds with the same populations and different findings
  get the same pattern.
* Attack 5 (a count pinned for an insider): the insider below subtracts what it knows (the large
  shown sibling, its own sites) from a shown margin, exactly as it would against the exact tables, and
  guesses the victim's finding. Written from the contract's message format, not from the engine. Over
  many independent releases of two neighbouring worlds (the victim with a critical wages finding, or
  without), its advantage (true-positive rate minus false-positive rate) is bounded by the zCDP budget
  the exchange spent on the period: by Pinsker's inequality no test beats sqrt(rho / 2) in total
  variation. With the noise switched off the same attacker wins every time, which shows it is sharp.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from schemas.exchange.aggregates import NOISE_DRAW
from schemas.taxonomy import Issue, Sector, Severity
from services.aggregate.noise import NoiseParams
from tests.services.aggregate.crafted import Crafted, Releases
from tests.services.aggregate.test_insider_attacks import attack_6_world, pattern

BOTH = NoiseParams(frozenset({"issue-prevalence", "forced-labour"}))
TRIALS = 150


def test_in_dp_mode_the_pattern_does_not_depend_on_findings() -> None:
    """The worlds of attack 6: populations 25/12/12 under BD×ALL, the small sectors saturated with
    wages findings in one world and not in the other."""
    histories = []
    for saturated in (True, False):
        releases = Releases(noise=BOTH)
        releases.release(attack_6_world(saturated))
        histories.append(releases.history)
    assert pattern(histories[0]) == pattern(histories[1])


def _victim_world(victim_critical: bool) -> Crafted:
    """BD×APPAREL: 30 ordinary sites. BD×FOOTWEAR: the victim and four sites of the attacker's (the
    insider rule suppresses that cell). The attacker knows its own four have no wages finding."""
    world = Crafted()
    for i in range(30):
        name = world.site(f"a{i}", sector=Sector.APPAREL_TEXTILES)
        world.audit(f"{name}-audit", name, *([(Issue.WAGES, Severity.CRITICAL)] if i % 4 == 0 else []))
    world.site("victim", sector=Sector.FOOTWEAR_LEATHER)
    world.audit("victim-audit", "victim", *([(Issue.WAGES, Severity.CRITICAL)] if victim_critical else []))
    for i in range(4):
        name = world.site(f"mine{i}", sector=Sector.FOOTWEAR_LEATHER, company="attacker")
        world.audit(f"{name}-audit", name)
    return world


def _guess(records: Sequence[tuple[str, bytes, bytes, object]]) -> bool | None:
    """The insider: BD×ALL's critical wages count minus BD×APPAREL's, minus its own sites' (none)."""
    critical = {}
    for topic, _, value, _ in records:
        if not topic.endswith("issue-prevalence.v1"):
            continue
        message = json.loads(value)
        cell, measures = message["cell"], message["measures"]
        if cell["issue"] == "WAGES" and cell["country"] == "BD" and measures and measures["by_severity"]:
            critical[cell["sector"]] = measures["by_severity"]["critical"]
    if "ALL" not in critical or "APPAREL_TEXTILES" not in critical:
        return None  # withheld: nothing to subtract
    return bool(critical["ALL"] - critical["APPAREL_TEXTILES"] - 0 >= 0.5)


def _advantage(releases_of: list[Releases]) -> tuple[float, float]:
    """(attacker's advantage, the largest rho any one trial spent on the period)."""
    hits = {True: 0, False: 0}
    worst_rho = 0.0
    worlds = {truth: _victim_world(truth) for truth in (True, False)}
    for trial, releases in enumerate(releases_of):
        truth = trial % 2 == 0
        guess = _guess(releases.release(worlds[truth]))
        hits[truth] += guess is True
        ledger = [
            NOISE_DRAW.validate_json(v)
            for k, v in releases.state_records.items()
            if k.startswith(b'{"noise"')
        ]
        worst_rho = max(worst_rho, sum(d.rho_spent for d in ledger))
    n = len(releases_of) / 2
    return hits[True] / n - hits[False] / n, worst_rho


def test_an_insider_cannot_learn_a_sites_finding_beyond_the_budget() -> None:
    advantage, rho = _advantage([Releases(noise=BOTH) for _ in range(2 * TRIALS)])
    assert 0 < rho <= BOTH.rho_per_period
    bound = math.sqrt(rho / 2)  # total variation of two rho-zCDP neighbours (Pinsker)
    slack = 3 * math.sqrt(0.5 / TRIALS)  # three standard errors of the measured difference of rates
    assert advantage <= bound + slack, (advantage, bound)


def test_without_noise_the_same_insider_wins_every_time() -> None:
    """The protection switched off (a sampler that adds nothing): the attacker above is exact."""

    def no_noise(values: Sequence[int], scale: float) -> list[int]:
        return list(values)

    advantage, _ = _advantage([Releases(noise=BOTH, sampler=no_noise) for _ in range(4)])
    assert advantage == 1.0
