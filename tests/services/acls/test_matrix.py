"""The ACL matrix as declared (services/acls/matrix.py): the contract's principle 3 read off the table
itself, and the generated document kept current."""

from __future__ import annotations

import subprocess
import sys

from schemas.exchange.aggregates import FORECASTS_TOPIC, RELEASE_STATE_TOPIC, TABLES, topic_of
from schemas.shared.models import SHARED_TOPICS
from schemas.topics import ACCEPTED_TOPIC, AMFORI_TOPIC, SEDEX_TOPIC
from services.acls.matrix import GRANTS, PLATFORMS, PRINCIPALS, Kind, Op, allowed

INTERNAL = [ACCEPTED_TOPIC, RELEASE_STATE_TOPIC, *SHARED_TOPICS]
PUBLIC = [*(topic_of(t) for t in TABLES), FORECASTS_TOPIC]  # the forecasts are public like the tables


def can(principal: str, op: Op, topic: str) -> bool:
    return allowed(GRANTS, principal, op, Kind.TOPIC, topic)


def test_a_platform_sees_only_its_own_and_the_shared_aggregates() -> None:
    own = {"sedex": SEDEX_TOPIC, "amfori": AMFORI_TOPIC}
    for platform in PLATFORMS:
        other = own["amfori" if platform == "sedex" else "sedex"]
        assert can(platform, Op.WRITE, own[platform]) and not can(platform, Op.READ, own[platform])
        assert not can(platform, Op.WRITE, other) and not can(platform, Op.READ, other)
        assert all(can(platform, Op.READ, t) and not can(platform, Op.WRITE, t) for t in PUBLIC)
        assert not any(can(platform, op, t) for t in INTERNAL for op in (Op.READ, Op.WRITE))


def test_only_aggregate_writes_a_public_table_and_only_services_read_internal_topics() -> None:
    for topic in PUBLIC:
        assert [p for p in PRINCIPALS if can(p, Op.WRITE, topic)] == ["sx-aggregate"]
    for topic in INTERNAL:
        assert all(p.startswith("sx-") for p in PRINCIPALS if can(p, Op.READ, topic))
    assert [
        p for p in PRINCIPALS if allowed(GRANTS, p, Op.WRITE, Kind.TRANSACTIONAL_ID, "sx-aggregate-releases")
    ] == ["sx-aggregate"]


def test_the_document_shows_the_declared_matrix() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.acls", "--docs", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
