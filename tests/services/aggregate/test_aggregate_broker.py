"""The whole exchange against the real broker: ingest, normalize and aggregate as their own processes.

A simulated half-year of both platforms goes through all three services; aggregate's clock is moved
by hand. Checked over every message ever written to the public topics (not only the latest per key):

- timing: nothing before a scheduled release, nothing for an open period;
- correctness: every shown measure equals an independent reference computed from the raw feed;
- small cells / insiders / outcomes: every published cell's population (from the reference, which
  knows the raw owners and members) passes the threshold and insider rules, and outcomes are shown
  only with at least outcome_min sites;
- hygiene: no pseudonym, name, address, free text or raw id in any message;
- restarts and replays: aggregate is SIGKILLed while it follows its inputs and restarted; its release
  equals one planned in-process from normalize's topics (an uninterrupted run). After another SIGKILL
  and a later scheduled release with no new input, nothing new is published (byte-identical topics).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.exchange.aggregates import TABLES, topic_of
from services.aggregate.disclosure import DisclosureParams
from services.aggregate.planner import plan_release
from services.aggregate.population import INPUT_TOPICS, NormalizedState
from services.aggregate.release import ReleaseLog
from services.aggregate.schedule import closes_at
from services.compacted import read_compacted
from services.kafka_auth import client_options
from services.topics import delete_topics
from simulator.feed import generate_feed
from simulator.publish import publish
from tests.services.aggregate.reference import compute
from tests.services.aggregate.reference_audit_quality import audit_quality as reference_audit_quality
from tests.services.aggregate.reference_capacity_building import (
    capacity_building as reference_capacity_building,
)
from tests.services.aggregate.reference_remediation import remediation as reference_remediation
from tests.support.exchange import exchange, holds_everything, last_release, post_clock
from tests.support.kafka import create_topics, eventually, read_topic, unique

pytestmark = pytest.mark.broker

# outcome_min below the default 20: at 150 sites per platform almost every margin has a cell below 20
# sites, and a margin shows outcomes only when every cell below it does, so at 20 no issue-prevalence
# cell of this feed would show any.
K_SITES, K_INSIDER, OUTCOME_MIN = 5, 3, 8
PSEUDONYM = re.compile(rb"[a-z0-9-]{1,16}\.[a-z]+\.[0-9a-f]{32}")


async def test_the_exchange_releases_correct_safe_tables(bootstrap: str, tmp_path: Path) -> None:
    feed = generate_feed(seed=17, sites_per_platform=150, start=date(2025, 1, 1), months=6)
    suffix = unique("x")
    x = exchange(
        bootstrap, tmp_path, suffix, "2025-01-01T00:00:00Z", {"AGGREGATE_OUTCOME_MIN": str(OUTCOME_MIN)}
    )
    ingest, normalize, aggregate = x.services
    sedex, amfori, accepted, normalized, released = x.sedex, x.amfori, x.accepted, x.normalized, x.released
    topics = x.platform_topics
    await create_topics(bootstrap, [sedex, amfori, accepted])
    public = [f"{released}{topic_of(t)}" for t in TABLES]
    try:
        for service in (ingest, normalize, aggregate):
            service.start()
        for service in (ingest, normalize, aggregate):
            service.wait_healthy()
        await publish(feed, bootstrap, topics=topics, security=client_options())

        # A crash while aggregate is still following its inputs: it must catch up from its topics.
        async def some_consumed() -> bool:
            return aggregate.metric_sum("sx_aggregate_records_consumed_total") >= 500

        await eventually(some_consumed, 120, "aggregate to have read some of its inputs")
        aggregate.kill()
        aggregate.start()
        aggregate.wait_healthy()

        async def through_everything() -> bool:
            return await holds_everything(x, bootstrap, len(feed.messages))

        await eventually(through_everything, 180, "the feed through all three services")

        # The first scheduled slot (2025-01-01T00:00) is released with every period open: nothing public.
        # (After the SIGKILL the broker may first have to time out a transaction the old process left.)
        async def first_slot() -> bool:
            return bool(last_release(aggregate) == "2025-01-01T00:00:00+00:00")

        await eventually(first_slot, 120, "the release of the first slot")
        assert [len(await read_topic(bootstrap, t)) for t in public] == [0 for _ in public]

        release_at = "2025-09-01T00:00:00Z"
        post_clock(aggregate, release_at)

        async def released_once() -> bool:
            return bool(last_release(aggregate) == "2025-09-01T00:00:00+00:00")

        await eventually(released_once, 120, "the release at 2025-09-01")
        first = {t: await read_topic(bootstrap, t) for t in public}

        # A crash and restart, then a later scheduled release with no new input: nothing new.
        aggregate.kill()
        aggregate.start()
        aggregate.wait_healthy()
        post_clock(aggregate, "2025-09-01T01:00:00Z")

        async def released_twice() -> bool:
            return bool(last_release(aggregate) == "2025-09-01T01:00:00+00:00")

        await eventually(released_twice, 120, "the release at 2025-09-01T01:00")
        second = {t: await read_topic(bootstrap, t) for t in public}
    finally:
        for service in (aggregate, normalize, ingest):
            if service.proc is not None:
                service.stop()

    def log_of(records: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {t: sorted((r.partition, r.offset, r.key, r.value) for r in rs) for t, rs in records.items()}

    per_partition = {
        name: {t: Counter(r.partition for r in rs) for t, rs in records.items()}
        for name, records in (("first", first), ("second", second))
    }
    assert log_of(second) == log_of(first), per_partition
    # The same as an uninterrupted run: the release equals one planned in-process from normalize's topics.
    inputs = {t: await read_compacted(bootstrap, normalized + t) for t in INPUT_TOPICS}
    state = NormalizedState.from_topics({t: dict(v) for t, v in inputs.items()})
    plan = plan_release(
        state, ReleaseLog(), DisclosureParams(outcome_min=OUTCOME_MIN), datetime(2025, 9, 1, tzinfo=UTC)
    )
    planned = sorted(
        (released + t, k, v) for t, k, v, _ in plan.records if t.startswith("exchange.aggregates.")
    )
    assert sorted((t, r.key, r.value) for t, rs in first.items() for r in rs) == planned

    ref = compute(feed)
    # The tables whose reference is computed apart, each cell with its own sites (`_sites`):
    # audit-quality's firm names come from the released periods' audits; remediation's open_overdue
    # is as of the release time.
    apart: dict[str, dict[str, dict[str, Any]]] = {
        "audit-quality": reference_audit_quality(feed, periods=set(plan.periods)),
        "remediation": reference_remediation(feed, datetime.fromisoformat(release_at)),
        "capacity-building": reference_capacity_building(feed, datetime.fromisoformat(release_at), ref=ref),
    }
    references = {
        "issue-prevalence": ref.issue_prevalence,
        "forced-labour": ref.forced_labour,
        "labour-relations": ref.labour_relations,
        **apart,
    }
    assert set(references) == set(TABLES)
    min_sites = {"audit-quality": 10}  # aggregates.md: audit-quality cells need at least 10 sites
    population_measures = {"audit-quality": 2}  # audits and sites (P); one elsewhere
    # capacity-building's rates are each judged on their own group (aggregates.md), not on the cell
    groups = {"issue_rate_trained_pct": "_trained_group", "issue_rate_untrained_pct": "_untrained_group"}
    messages = [json.loads(r.value or b"") for records in first.values() for r in records]
    raw = b"\n".join((r.key or b"") + b" " + (r.value or b"") for records in first.values() for r in records)
    await delete_topics(bootstrap, [sedex, amfori, accepted])

    assert messages, "the release must publish cells"
    # Hygiene (revision 2): every public record's timestamp is the release time, not the send time.
    release_ms = int(datetime.fromisoformat(release_at).timestamp() * 1000)
    assert {r.timestamp for records in first.values() for r in records} == {release_ms}
    statuses = Counter(
        (m["table"], m["status"], m["measures"] is not None and None not in m["measures"].values())
        for m in messages
    )
    assert statuses[("issue-prevalence", "published", True)] > 0, statuses

    for m in messages:
        cell = m["cell"]
        assert closes_at(cell["period"]).isoformat().replace("+00:00", "Z") <= release_at, cell
        assert m["release_id"] == release_at and m["revision"] == 0
        table = m["table"]
        coords = {k: v for k, v in cell.items() if k != "audit_firm_name"}  # a label, not a coordinate
        key = json.dumps(coords, sort_keys=True, separators=(",", ":"))
        expected = references[table][key]
        if table in apart:
            population = expected["_sites"]
        else:  # issue-prevalence, forced-labour and labour-relations share one population per cell
            no_issue = {k: v for k, v in coords.items() if k != "issue"}
            population = ref.populations[json.dumps(no_issue, sort_keys=True, separators=(",", ":"))]
        if table == "audit-quality":
            assert cell["audit_firm_name"] == expected["_firm_name"], cell
        if m["status"] == "suppressed":
            assert m["measures"] is None
            continue
        # Small cells and insiders, from the raw owners and members.
        members = [ref.sites[s] for s in population]
        assert len(population) >= min_sites.get(table, K_SITES), cell
        assert len({s.principal_owner for s in members}) >= 3, cell
        for who in {o for s in members for o in s.owners} | {x for s in members for x in s.members}:
            outside = sum(1 for s in members if who not in s.owners and who not in s.members)
            assert outside >= K_INSIDER, (cell, who)
        shown = {k: v for k, v in m["measures"].items() if v is not None}
        assert shown == {k: expected[k] for k in shown}, cell
        if table == "capacity-building":
            for rate, group in groups.items():
                if rate in shown:
                    assert len(expected[group]) >= OUTCOME_MIN, (cell, rate)
        elif len(shown) > population_measures.get(table, 1):
            assert len(population) >= OUTCOME_MIN, cell
    assert {m["table"] for m in messages} == set(TABLES)

    assert not PSEUDONYM.search(raw), PSEUDONYM.search(raw)
    leaked = [s for s in feed.confidential_strings() if len(s) >= 6 and s.encode() in raw]
    assert not leaked, leaked[:5]
