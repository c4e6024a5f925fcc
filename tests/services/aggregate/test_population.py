"""Who counts: contributing sites, their owners and members, current audits, periods.

Removal, consent and withdrawal are driven through the real `Normalizer` from hand-written Sedex events,
so the test checks what the aggregate sees of normalize's actual topics, not of a state made up to fit.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from schemas.exchange.accepted import AcceptedEvent
from schemas.platform import SEDEX_EVENT
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC
from services.aggregate.model import SiteInfo
from services.aggregate.population import (
    NormalizedState,
    affiliations,
    contributing,
    current_audits,
    period_of,
)
from services.ingest.envelopes import accepted_record
from services.normalize.engine import Normalizer
from services.normalize.pseudonymise import IdKind
from services.normalize.resolve import Resolver
from tests.fixtures.examples import SEDEX_AUDIT, encode, sedex_audit_payload
from tests.services.normalize.test_engine import (
    CTX,
    PSEUDONYMS,
    State,
    accepted_feed,
    apply,
    resolved_id,
    run,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def nc(ref: str, clause: str, severity: str, *tags: str) -> dict[str, Any]:
    """A Sedex non-compliance (a finding). Clauses: 1 forced labour, 3 health & safety, 5 wages, 6 hours."""
    return {
        "findingRef": ref,
        "type": "NonCompliance",
        "clause": clause,
        "severity": severity,
        "flTags": list(tags),
        "description": "x",
    }


def observation(ref: str, clause: str, *tags: str) -> dict[str, Any]:
    """Not a finding: counts nowhere (taxonomy.md, "Severity")."""
    return {
        "findingRef": ref,
        "type": "Observation",
        "clause": clause,
        "flTags": list(tags),
        "description": "x",
    }


class Feed:
    """Hand-written Sedex events through ingest's envelope and the real normalizer into compacted state."""

    def __init__(self, *, default_consent: bool = True) -> None:
        self.normalizer = Normalizer(CTX, Resolver(resolved_id, default_consent=default_consent))
        self.topics: State = {}
        self.count = 0

    def send(
        self, event_type: str, version: int, payload: dict[str, Any], *, company: str, site: str | None
    ) -> None:
        self.count += 1
        raw: dict[str, Any] = {
            "schemaVersion": 1,
            "eventId": str(uuid.UUID(int=self.count)),
            "eventType": event_type,
            "occurredAt": (T0 + timedelta(minutes=self.count)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "entityVersion": version,
            "companyRef": company,
            "payload": payload,
        }
        if site is not None:
            raw["siteRef"] = site
        event = SEDEX_EVENT.validate_json(encode(raw))
        value, _ = accepted_record("sedex", event, "sedex.changes.v1", 0, self.count)
        apply(self.topics, self.normalizer.process(AcceptedEvent.model_validate_json(value)).records)

    def site(
        self,
        ref: str,
        *,
        company: str = "ZC1000001",
        version: int = 1,
        os_id: str | None = None,
        name: str | None = None,
        country: str = "BD",
        unspsc: str = "53102500",  # apparel
        customers: list[dict[str, str]] | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "siteName": name or f"Factory {ref}",
            "address": {"street": "Road 1", "city": "Gazipur", "postalCode": "1700", "country": country},
            "productCategory": {"unspsc": unspsc},
            "workers": {"total": 120, "female": 60, "migrant": 0, "temporary": 0},
            "linkedCustomers": customers or [],
        }
        if os_id is not None:
            payload["osId"] = os_id
        self.send("SiteUpserted", version, payload, company=company, site=ref)

    def remove_site(self, ref: str, *, company: str = "ZC1000001", version: int = 2) -> None:
        self.send("SiteRemoved", version, {}, company=company, site=ref)

    def audit(
        self,
        ref: str,
        site: str,
        *,
        end: str = "2026-02-11",
        findings: list[dict[str, Any]] | None = None,
        company: str = "ZC1000001",
        version: int = 1,
    ) -> None:
        start = (date.fromisoformat(end) - timedelta(days=1)).isoformat()
        payload = sedex_audit_payload(
            auditRef=ref,
            announcement="Announced",
            auditStart=start,
            auditEnd=end,
            auditorDays=2.0,
            workersInterviewed=10,
            workerRepresentation=SEDEX_AUDIT["payload"]["workerRepresentation"] | {"workerCommittee": False},
            findings=findings or [],
        )
        self.send("AuditPublished", version, payload, company=company, site=site)

    def withdraw_audit(self, ref: str, site: str, *, company: str = "ZC1000001", version: int = 2) -> None:
        self.send("AuditWithdrawn", version, {"auditRef": ref}, company=company, site=site)

    def consent(self, company: str, granted: bool, *, version: int = 1) -> None:
        payload = {"scope": "AGGREGATE_EXCHANGE", "granted": granted}
        self.send("ConsentChanged", version, payload, company=company, site=None)

    @property
    def state(self) -> NormalizedState:
        return NormalizedState.from_topics(self.topics)


def platform_site(ref: str) -> str:
    return PSEUDONYMS.pseudonym(IdKind.PLATFORM_SITE, f"sedex:{ref}")


def company(ref: str) -> str:
    return PSEUDONYMS.pseudonym(IdKind.COMPANY, f"sedex:{ref}")


def audit_id(ref: str) -> str:
    return PSEUDONYMS.pseudonym(IdKind.AUDIT, f"sedex:{ref}")


# --- periods --------------------------------------------------------------------------------------


def test_an_unknown_granularity_is_refused() -> None:
    with pytest.raises(ValueError):
        period_of(date(2026, 1, 1), "week")  # type: ignore[arg-type]


# --- contributing sites ---------------------------------------------------------------------------


def test_a_site_with_its_owner_and_members() -> None:
    feed = Feed()
    customers = [
        {"companyRef": "ZC2000001", "lei": "5493001KJTIIGC8Y1R12"},
        {"companyRef": "ZC2000002"},
    ]
    feed.site("ZS100001", customers=customers)
    state = feed.state
    [(rid, info)] = contributing(state).items()
    assert rid == state.resolutions[platform_site("ZS100001")].resolved_site_id
    lei = PSEUDONYMS.pseudonym(IdKind.MEMBER, "lei:5493001KJTIIGC8Y1R12")
    with_lei = PSEUDONYMS.pseudonym(IdKind.MEMBER, "sedex:ZC2000001")
    plain = PSEUDONYMS.pseudonym(IdKind.MEMBER, "sedex:ZC2000002")
    # A reference listed with an LEI is one member with the LEI: named by the smaller of the two.
    assert info == SiteInfo(
        rid,
        company("ZC1000001"),
        frozenset({company("ZC1000001")}),
        frozenset({min(lei, with_lei), plain}),
        real=platform_site("ZS100001"),
    )


def test_two_platform_sites_with_one_os_id_are_one_site_and_their_owners_one_supplier() -> None:
    """Revision 2: the supplier references owning one resolved site are one supplier."""
    feed = Feed()
    feed.site(
        "ZS100001", company="ZC1000001", os_id="BD2024123ABC123", customers=[{"companyRef": "ZC2000001"}]
    )
    feed.site(
        "ZS100002", company="ZC1000002", os_id="BD2024123ABC123", customers=[{"companyRef": "ZC2000001"}]
    )
    [info] = contributing(feed.state).values()
    one = min(company("ZC1000001"), company("ZC1000002"))
    assert info.owners == {one} and info.principal_owner == one
    assert len(info.members) == 1
    assert info.real == "+".join(sorted([platform_site("ZS100001"), platform_site("ZS100002")]))


def test_two_members_with_one_lei_are_one_member() -> None:
    feed = Feed()
    lei = "5493001KJTIIGC8Y1R12"
    feed.site(
        "ZS100001",
        company="ZC1000001",
        os_id="BD2024123ABC999",
        customers=[{"companyRef": "ZC2000001", "lei": lei}],
    )
    feed.site(
        "ZS100002",
        company="ZC1000002",
        os_id="BD2024123ABC999",
        customers=[{"companyRef": "ZC2000009", "lei": lei}],
    )
    [info] = contributing(feed.state).values()
    assert len(info.members) == 1


def test_a_member_listed_with_its_lei_on_some_sites_and_without_on_others_is_one_member() -> None:
    """Revision 2, "Merged identities": the chain reference -> LEI holds across sites."""
    feed = Feed()
    lei = "5493001KJTIIGC8Y1R12"
    feed.site("ZS100001", company="ZC1000001", customers=[{"companyRef": "ZC2000001", "lei": lei}])
    feed.site("ZS100002", company="ZC1000002", customers=[{"companyRef": "ZC2000001"}])
    infos = list(contributing(feed.state).values())
    assert len(infos) == 2 and infos[0].members == infos[1].members and len(infos[0].members) == 1


def test_a_removed_site_does_not_contribute_nor_do_its_audits() -> None:
    feed = Feed()
    feed.site("ZS100001")
    feed.site("ZS100002", name="Other")
    feed.audit("A1", "ZS100001")
    feed.audit("A2", "ZS100002")
    feed.remove_site("ZS100001")
    state = feed.state
    assert platform_site("ZS100001") not in state.platform_sites
    assert [state.resolved_sites[r].platform_site_ids for r in contributing(state)] == [
        (platform_site("ZS100002"),)
    ]
    assert [a.audit_id for _, a in current_audits(state)] == [audit_id("A2")]


def test_a_site_whose_owner_withdrew_consent_does_not_contribute_until_consent_returns() -> None:
    feed = Feed()
    feed.site("ZS100001", company="ZC1000001")
    feed.site("ZS100002", company="ZC1000002", name="Other")
    feed.audit("A1", "ZS100001", company="ZC1000001")
    feed.consent("ZC1000001", False)
    state = feed.state
    assert platform_site("ZS100001") in state.platform_sites  # the site exists, but takes no part
    assert len(contributing(state)) == 1
    assert list(current_audits(state)) == []
    feed.consent("ZC1000001", True, version=2)
    assert len(contributing(feed.state)) == 2
    assert [a.audit_id for _, a in current_audits(feed.state)] == [audit_id("A1")]


def test_without_a_consent_event_the_normalizers_default_decides() -> None:
    feed = Feed(default_consent=False)
    feed.site("ZS100001")
    feed.audit("A1", "ZS100001")
    assert contributing(feed.state) == {}
    feed.consent("ZC1000001", True)
    assert len(contributing(feed.state)) == 1


def test_a_withdrawn_audit_is_gone_and_a_revision_replaces_its_audit() -> None:
    feed = Feed()
    feed.site("ZS100001")
    feed.audit("A1", "ZS100001", end="2026-02-11")
    feed.audit("A2", "ZS100001", end="2026-02-12")
    feed.audit("A2", "ZS100001", end="2026-05-12", version=2)
    feed.withdraw_audit("A1", "ZS100001")
    [(_, audit)] = current_audits(feed.state)
    assert (audit.audit_id, audit.audit_end) == (audit_id("A2"), date(2026, 5, 12))


def test_an_audit_of_a_site_never_seen_waits_for_the_site() -> None:
    feed = Feed()
    feed.audit("A1", "ZS100001")
    assert audit_id("A1") in feed.state.audits
    assert list(current_audits(feed.state)) == []
    feed.site("ZS100001")
    [(rid, audit)] = current_audits(feed.state)
    assert audit.audit_id == audit_id("A1") and rid in contributing(feed.state)


def test_a_resolution_to_a_resolved_site_not_yet_read_does_not_count() -> None:
    """Topics read at slightly different offsets: a resolution without its resolved-site record, or the
    record without a resolution, contributes nothing (and crashes nothing)."""
    feed = Feed()
    feed.site("ZS100001")
    feed.audit("A1", "ZS100001")
    without_record = {**feed.topics, RESOLVED_SITES_TOPIC: {}}
    without_resolution = {**feed.topics, SITE_RESOLUTION_TOPIC: {}}
    for topics in (without_record, without_resolution):
        state = NormalizedState.from_topics(topics)
        assert contributing(state) == {} and list(current_audits(state)) == []


# --- over the simulator ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> tuple[State, NormalizedState]:
    topics = run([e for _, e in accepted_feed(seed=5)])
    return topics, NormalizedState.from_topics(topics)


def test_from_topics_reads_every_current_record(simulated: tuple[State, NormalizedState]) -> None:
    topics, state = simulated
    assert len(state.platform_sites) == len(topics["exchange.normalized.platform-sites.v1"])
    assert len(state.audits) == len(topics["exchange.normalized.audits.v1"])
    assert len(state.consents) == len(topics["exchange.normalized.consents.v1"])
    assert len(state.resolutions) == len(topics[SITE_RESOLUTION_TOPIC])
    assert len(state.resolved_sites) == len(topics[RESOLVED_SITES_TOPIC])
    assert NormalizedState.from_topics({}) == NormalizedState()


def test_over_the_simulator_every_current_audit_is_of_a_contributing_site(
    simulated: tuple[State, NormalizedState],
) -> None:
    _, state = simulated
    sites = contributing(state)
    assert sites and set(sites) == set(state.resolved_sites)  # normalize's topics are level
    audits = list(current_audits(state))
    assert audits and len(audits) < len(state.audits)  # some wait, or their site is gone
    for rid, audit in audits:
        assert rid in sites
        assert audit.site_id in state.resolved_sites[rid].platform_site_ids
    counted = {a.audit_id for _, a in audits}
    for audit in state.audits.values():
        if audit.audit_id not in counted:
            assert audit.site_id not in state.resolutions


def test_member_references_chained_through_one_lei_are_one_member_on_every_site() -> None:
    """Two platform references, each listed with the same LEI on one site and without it on nine
    others: one member linked to all twenty sites (counted per reference, no reference has more than
    ten, and the insider rule would pass a 22-site cell it must suppress)."""
    feed = Feed()
    lei = "5493001KJTIIGC8Y1R12"
    for ref, base in (("ZC2000001", 100), ("ZC2000002", 200)):
        for i in range(10):
            customer = {"companyRef": ref, **({"lei": lei} if i == 0 else {})}
            feed.site(f"ZS{base + i:06d}", company=f"ZC{1000000 + base + i}", customers=[customer])
    infos = list(contributing(feed.state).values())
    assert len(infos) == 20
    assert len({m for info in infos for m in info.members}) == 1


def test_equal_sets_of_owners_members_and_suppliers_are_one_object(
    simulated: tuple[State, NormalizedState],
) -> None:
    """A plan holds each site's owners and members, and each platform site's suppliers and members;
    equal sets are to be one object (at a year, 117,798 sites' sets were most of the plan's per-site
    memory). Fails if `affiliations` or `site_infos` makes a set per site."""
    _, state = simulated
    infos = list(contributing(state).values())
    now = list(affiliations(state).values())
    for sets in (
        [i.owners for i in infos],
        [i.members for i in infos],
        [i.suppliers for i in infos],
        [a.suppliers for a in now],
        [a.members for a in now],
    ):
        assert len(sets) > len(set(sets))  # equal sets repeat: the check means something
        assert len({id(s) for s in sets}) == len(set(sets))
