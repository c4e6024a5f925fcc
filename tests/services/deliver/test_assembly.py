"""Release assembly: a complete release holds exactly its own messages, in a deterministic order, and
the body an endpoint gets holds only its tables."""

from __future__ import annotations

import json

from schemas.exchange.aggregates import FORCED_LABOUR, ISSUE_PREVALENCE
from schemas.exchange.deliver import ReleaseWebhook
from services.aggregate.release import encode_message
from services.deliver.assembly import ReleaseAssembler
from services.deliver.service import floor_of
from tests.services.deliver.releases import (
    dumped,
    forced_labour_cell,
    issue_cell,
    release_messages,
    release_time,
)


def feed(assembler: ReleaseAssembler, n: int, reverse: bool = False) -> None:
    messages = release_messages(n)
    for message in reversed(messages) if reverse else messages:
        key, value, _ = encode_message(message)
        assembler.add(message.table, key, value)


def test_a_release_holds_its_own_messages_only() -> None:
    assembler = ReleaseAssembler()
    feed(assembler, 0)
    feed(assembler, 1)  # read before the marker of release 0 was acted on
    first = assembler.complete(release_time(0))
    assert first is not None
    assert {t: len(m) for t, m in first.messages.items()} == {ISSUE_PREVALENCE: 4, FORCED_LABOUR: 1}
    assert all(m.release_id == release_time(0) for ms in first.messages.values() for m in ms)
    second = assembler.complete(release_time(1))
    assert second is not None and second.count((ISSUE_PREVALENCE, FORCED_LABOUR)) == 4
    assert assembler.releases_held == 0


def test_the_body_is_the_same_whatever_the_read_order() -> None:
    one, other = ReleaseAssembler(), ReleaseAssembler()
    feed(one, 0)
    feed(other, 0, reverse=True)
    a, b = one.complete(release_time(0)), other.complete(release_time(0))
    assert a is not None and b is not None
    assert a.body_for((ISSUE_PREVALENCE, FORCED_LABOUR)) == b.body_for((FORCED_LABOUR, ISSUE_PREVALENCE))


def test_the_body_is_a_release_webhook_with_the_messages_as_published() -> None:
    assembler = ReleaseAssembler()
    feed(assembler, 0)
    release = assembler.complete(release_time(0))
    assert release is not None
    body = release.body_for((FORCED_LABOUR,))
    assert body is not None
    webhook = ReleaseWebhook.model_validate_json(body)
    assert webhook.type == "aggregates.release" and webhook.data.tables == [FORCED_LABOUR]
    assert dumped(webhook.data.messages) == dumped([forced_labour_cell(release_time(0), "BD")])
    document = json.loads(body)
    assert document["timestamp"] == document["data"]["release_id"] == "2026-05-01T00:00:00Z"
    # Each message is byte for byte the value on the public topic.
    _, value, _ = encode_message(forced_labour_cell(release_time(0), "BD"))
    assert value in body


def test_an_endpoint_whose_tables_did_not_change_gets_nothing() -> None:
    assembler = ReleaseAssembler()
    feed(assembler, 1)  # odd releases change no forced-labour cell
    release = assembler.complete(release_time(1))
    assert release is not None and release.body_for((FORCED_LABOUR,)) is None


def test_a_cell_written_twice_in_a_release_counts_once() -> None:
    assembler = ReleaseAssembler()
    message = issue_cell(release_time(0), "BD")
    key, value, _ = encode_message(message)
    assembler.add(ISSUE_PREVALENCE, key, value)
    assembler.add(ISSUE_PREVALENCE, key, value)
    release = assembler.complete(release_time(0))
    assert release is not None and release.count((ISSUE_PREVALENCE,)) == 1


def test_releases_done_everywhere_are_not_kept_and_a_marker_seen_twice_gives_nothing() -> None:
    assembler = ReleaseAssembler(floor=release_time(1))
    feed(assembler, 0)
    feed(assembler, 1)
    feed(assembler, 2)
    assert assembler.releases_held == 1
    assert assembler.complete(release_time(1)) is None
    assert assembler.complete(release_time(2)) is not None
    assert assembler.complete(release_time(2)) is None


def test_a_message_on_the_wrong_topic_is_refused() -> None:
    assembler = ReleaseAssembler()
    key, value, _ = encode_message(issue_cell(release_time(0), "BD"))
    try:
        assembler.add(FORCED_LABOUR, key, value)
    except ValueError as refused:
        assert "issue-prevalence message on the forced-labour topic" in str(refused)
    else:
        raise AssertionError("accepted a message on another table's topic")


def test_the_floor_is_the_last_release_every_endpoint_has_had() -> None:
    assert floor_of([]) is None
    assert floor_of([release_time(2), None]) is None
    assert floor_of([release_time(2), release_time(1)]) == release_time(1)
