"""The differential-privacy mode through `plan_release`: draws stored before anything is published and
never redrawn, consistent published values, and the per-period budget across tables and revisions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from schemas.exchange.aggregates import NOISE_DRAW, RELEASE_STATE_TOPIC
from schemas.taxonomy import Issue, Sector, Severity
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.model import ALL
from services.aggregate.noise import NoiseParams
from services.aggregate.planner import ReleasePlan, plan_release
from services.aggregate.release import ReleaseLog
from tests.services.aggregate.crafted import FIRST_Q1_RELEASE, Crafted, Releases

BOTH = NoiseParams(frozenset({"issue-prevalence", "forced-labour"}))


class CountingSampler:
    """Seeded Gaussian-ish integer noise that remembers every call (the real one cannot be seeded)."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls: list[int] = []

    def __call__(self, values: Sequence[int], scale: float) -> list[int]:
        self.calls.append(len(values))
        return [int(v + round(self.rng.normal(0, scale))) for v in values]


def world(n_bd: int = 30, n_vn: int = 25) -> Crafted:
    w = Crafted()
    for country, n in (("BD", n_bd), ("VN", n_vn)):
        for i in range(n):
            name = w.site(f"{country}{i}", country=country, sector=Sector.APPAREL_TEXTILES)
            w.audit(f"{name}-a", name, *([(Issue.WAGES, Severity.MAJOR)] if i % 2 else []))
    return w


def _plan(
    w: Crafted, records: dict[bytes, bytes], sampler: CountingSampler, hours: int = 0, **kw: object
) -> ReleasePlan:
    return plan_release(
        w.state(),
        ReleaseLog.from_state(records),
        DisclosureParams(),
        FIRST_Q1_RELEASE + timedelta(hours=hours),
        noise=kw.get("noise", BOTH),  # type: ignore[arg-type]
        sampler=sampler,
    )


def _keep(records: dict[bytes, bytes], plan: ReleasePlan, *, draws_only: bool = False) -> None:
    kept = plan.draw_records if draws_only else [*plan.draw_records, *plan.records]
    records.update({k: v for t, k, v, _ in kept if t == RELEASE_STATE_TOPIC})


def test_a_draw_is_stored_before_anything_is_published_and_never_redrawn() -> None:
    w, sampler = world(), CountingSampler()
    records: dict[bytes, bytes] = {}
    aborted = _plan(w, records, sampler)
    assert aborted.draws == 2 and len(sampler.calls) == 2  # one draw per noisy table of the period
    assert {t for t, *_ in aborted.draw_records} == {RELEASE_STATE_TOPIC}  # the draws publish nothing
    assert {k[:9] for _, k, *_ in aborted.draw_records} == {b'{"noise":'}  # and are only draws
    _keep(records, aborted, draws_only=True)  # committed on their own; the release itself aborts

    retry, again = _plan(w, records, sampler), _plan(w, records, sampler)
    assert retry.draws == again.draws == 0 and retry.sent > 0
    assert retry.records == again.records == aborted.records  # the same bytes as the aborted attempt
    assert len(sampler.calls) == 2
    _keep(records, retry)

    later = _plan(w, records, sampler, hours=1)
    assert later.sent == 0 and later.draws == 0 and len(sampler.calls) == 2


def _published(plan: ReleasePlan, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for topic, _, value, _ in plan.records:
        message = json.loads(value) if topic.endswith(f"{table}.v1") else None
        if (
            message
            and message["measures"]
            and (table != "issue-prevalence" or message["cell"]["issue"] == "WAGES")
        ):
            out[(message["cell"]["country"], message["cell"]["sector"])] = message["measures"]
    return out


def test_published_values_are_noisy_and_margins_are_their_cells() -> None:
    w = world()
    records: dict[bytes, bytes] = {}
    plan = _plan(w, records, CountingSampler(3))
    wages = _published(plan, "issue-prevalence")
    bd, vn, total = wages[("BD", "APPAREL_TEXTILES")], wages[("VN", "APPAREL_TEXTILES")], wages[(ALL, ALL)]
    assert total["by_severity"] == {
        k: bd["by_severity"][k] + vn["by_severity"][k] for k in ("critical", "major", "minor")
    }
    assert 0 <= bd["sites_with_issue"] <= 30 and 0 <= vn["sites_with_issue"] <= 25
    truth = {("BD", "APPAREL_TEXTILES"): 15, ("VN", "APPAREL_TEXTILES"): 12, (ALL, ALL): 27}
    assert any(wages[pos]["sites_with_issue"] != n for pos, n in truth.items())  # noise is there


def test_revisions_are_paid_from_the_period_budget_and_held_once_it_is_spent() -> None:
    noise = NoiseParams(
        frozenset({"issue-prevalence", "forced-labour"}), rho_per_period=1.0, draws_per_period=2
    )
    w, sampler = world(), CountingSampler()
    records: dict[bytes, bytes] = {}
    plans = []
    for hour in range(3):
        if hour:  # six sites gain a critical wages finding: enough for k_delta, so the cells may change
            for i in range(6 * (hour - 1), 6 * hour):
                w.audit(f"BD{i}-a", f"BD{i}", (Issue.WAGES, Severity.CRITICAL))
        plan = _plan(w, records, sampler, hours=hour, noise=noise)
        _keep(records, plan)
        plans.append(plan)
    ledger = [NOISE_DRAW.validate_json(v) for k, v in records.items() if k.startswith(b'{"noise":')]
    assert sorted((d.table, d.draws) for d in ledger) == [("forced-labour", 1), ("issue-prevalence", 2)]
    assert sum(d.rho_spent for d in ledger) <= noise.rho_per_period
    assert plans[1].sent > 0  # the first revision was paid for
    # the second is held: the budget allows no third draw (audit-quality, exact, follows its own rules)
    noisy_sent = sum(n for (table, _), n in plans[2].sent_by.items() if table in noise.tables)
    assert noisy_sent == 0 and plans[2].held > 0
    assert len(sampler.calls) == 3


def test_noisy_tables_withhold_nothing_beyond_the_primary_rules() -> None:
    """The world of attack 1 (a three-site cell beside two large ones): exact tables withhold more
    for the residual rule, noisy ones do not need to."""
    w = Crafted()
    for sector, n in ((Sector.APPAREL_TEXTILES, 30), (Sector.FOOTWEAR_LEATHER, 25), (Sector.ELECTRONICS, 3)):
        for i in range(n):
            name = w.site(f"{sector.value[:4]}{i}", sector=sector)
            w.audit(f"{name}-a", name, *([(Issue.WAGES, Severity.MINOR)] if i % 3 == 0 else []))
    exact, noisy = Releases(), Releases(noise=BOTH, sampler=CountingSampler())
    exact.release(w)
    noisy.release(w)
    secondary = ("residual", "recovery")
    assert any(c.withheld_by.get(r, 0) for c in exact.plans[-1].counts.values() for r in secondary)
    noisy_counts = [c for t, c in noisy.plans[-1].counts.items() if t in BOTH.tables]
    assert not any(c.withheld_by.get(r, 0) for c in noisy_counts for r in secondary)


def test_a_restarted_service_reads_its_draws_back() -> None:
    w = world()
    records: dict[bytes, bytes] = {}
    _keep(records, _plan(w, records, CountingSampler()), draws_only=True)
    log = ReleaseLog.from_state(records)
    assert {key for key in log.draws} == {("issue-prevalence", "2026-Q1"), ("forced-labour", "2026-Q1")}
    assert all(d.record.draws == 1 for d in log.draws.values())


def test_a_noisy_cell_whose_sites_did_not_change_is_unchanged_not_held() -> None:
    """A noisy table publishes a draw, not the exact values, so its cells differ from their exact
    values at every release. Nothing changed, though: the revision rule must see the cells as
    unchanged (nothing to send, nothing held back), not as changes it holds, which would count every
    noisy cell as held by the revision rule in the utility figures."""
    w, sampler = world(), CountingSampler()
    records: dict[bytes, bytes] = {}
    first = _plan(w, records, sampler)
    _keep(records, first)
    later = _plan(w, records, sampler, hours=1)
    assert later.sent == 0 and later.held == 0
    assert later.unchanged == first.sent  # every cell sent before is unchanged now
    assert later.counts["forced-labour"].held_by_revision == 0
