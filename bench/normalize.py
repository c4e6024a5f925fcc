"""Normalize throughput and latency against the real broker, beside the aiokafka pass-through baseline.

Both run in the same invocation on the same input values: accepted envelopes, exactly what ingest
writes to `exchange.ingest.accepted.v1` for the simulator's feed of both platforms over a year
(redeliveries already dropped, stale versions kept, as ingest forwards them), keyed by the platform
message key and sent to a private 6-partition accepted topic. The ratio between the rows is the cost
of normalize itself: the envelope parse, mapping and pseudonymisation, the version rule, site
resolution, and several output records per input on several compacted topics.

`events` is the number of accepted envelopes sent. Throughput is that number over the time from the
first send to the arrival of the last expected output record, so it covers the whole pipeline.

Latency: normalize does not keep the input's timestamp or headers on its outputs (it produces fresh
records), so it is matched instead. The reader follows `<prefix>exchange.normalize.versions.v1`,
which gets one record per applied entity version; its key (the entity pseudonym) and value (the
version and the pseudonym of the event that set it) name exactly one input. Before the run the bench
runs `services.normalize.engine.Normalizer` in-process over the same envelopes (demo key, as the
service is started here), which gives both the expected number of records on every output topic and
the input behind every versions record. A sample is then that record's arrival at the reader minus
the moment its input was handed to the producer client: end to end, like the baseline's, one sample
per applied entity version (stale inputs produce none, an input with several entities several).
Unthrottled, both rows' latency is mostly the backlog in front of the processor; pass `--rate` below
normalize's throughput for latency under a sustainable load.

The normalize service runs as in production (`python -m services.normalize`, `NORMALIZE_DEMO_MODE=1`)
in its own process; the peak RSS reported is the sum of its process's and its mapper processes'. All
topics of a run, normalize's prefixed ones included, are deleted afterwards.

    python -m bench.normalize --events 50000 [--rate 5000]
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench import command
from bench.accepted import Accepted

# Re-exported: tests outside bench/ import these from here (tests/services/rotation/history.py,
# tests/services/normalize/test_standby_broker.py); their home is bench.accepted.
from bench.accepted import accepted_envelopes as accepted_envelopes
from bench.accepted import admitted as admitted
from bench.harness import Header, Result, produce_values, tree_peak_rss_mib, unique_topic_names, warmup_of
from bench.inprocess import demo_normalizer, normalized
from bench.output import output_size, read_output, send_and_read
from bench.passthrough import run_passthrough
from bench.service import stop, under_test
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, SITE_RESOLUTION_TOPIC
from services.normalize.settings import NormalizeSettings
from services.normalize.topics import NORMALIZE_VERSIONS_TOPIC

PARTITIONS = 6
# Site resolution is global: how often a factory's resolution moves on the way depends on how the
# partitions interleave, so only the per-entity topics must match the in-process run exactly.
ORDER_DEPENDENT = frozenset({SITE_RESOLUTION_TOPIC, RESOLVED_SITES_TOPIC})


@dataclass(frozen=True)
class Expected:
    per_topic: Counter[str]  # canonical topic name -> records normalize produces there
    dead: int  # inputs normalize dead-letters
    input_of: dict[tuple[bytes, bytes], int]  # versions record (key, value) -> index of its input


def expected_outputs(envelopes: Sequence[Accepted]) -> Expected:
    """What the service must produce for `envelopes`, from the same engine run in this process."""
    normalizer = demo_normalizer()
    per_topic: Counter[str] = Counter()
    input_of: dict[tuple[bytes, bytes], int] = {}
    dead = 0
    for i, e in enumerate(envelopes):
        records = normalized(normalizer, e.value)
        if records is None:
            dead += 1
            continue
        for r in records:
            per_topic[r.topic] += 1
            if r.topic == NORMALIZE_VERSIONS_TOPIC:
                assert r.value is not None
                input_of[(r.key.encode(), r.value)] = i
    if len(input_of) != per_topic[NORMALIZE_VERSIONS_TOPIC]:
        raise RuntimeError("two versions records are identical: they cannot be matched to inputs")
    return Expected(per_topic, dead, input_of)


async def run_normalize(
    bootstrap: str,
    envelopes: Sequence[Accepted],
    expected: Expected,
    *,
    rate_per_s: float | None = None,
) -> Result:
    """One run of the real normalize service on fresh topics, deleted afterwards.

    Raises unless the versions, per-entity and dead-letter topics hold exactly what the in-process
    run predicts, because a figure from a run that lost or duplicated data would be meaningless.
    """
    (accepted,) = unique_topic_names("normalize", "accepted")
    prefix = accepted.removesuffix("accepted")  # bench.normalize.<tag>.
    settings = NormalizeSettings(topic_prefix=prefix)
    versions = settings.topic(NORMALIZE_VERSIONS_TOPIC)
    owned = [*(settings.topic(n) for n in settings.state_topics), settings.dlq_topic]
    app_id = f"bench-normalize-{uuid.uuid4().hex[:10]}"
    n_versions = expected.per_topic[NORMALIZE_VERSIONS_TOPIC]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120 + len(envelopes) / 200

    sent_ns = [0] * len(envelopes)

    def headers_of(i: int) -> list[Header]:
        # Called as input i is handed to the client, right after produce_values's own stamp.
        sent_ns[i] = time.time_ns()
        return envelopes[i].headers

    def input_sent_ns(record: Any) -> int:
        i = expected.input_of.get((record.key, record.value))
        if i is None:
            raise RuntimeError(
                f"versions record at {record.topic}/{record.partition}@{record.offset} "
                "is not one the in-process run produced"
            )
        return sent_ns[i]

    async with under_test(
        "normalize",
        bootstrap,
        app_id,
        {
            "NORMALIZE_ACCEPTED_TOPIC": accepted,
            "NORMALIZE_TOPIC_PREFIX": prefix,
            "NORMALIZE_LOG_LEVEL": "warning",
            "NORMALIZE_DEMO_MODE": "1",
        },
        lambda r: r.get("assigned_partitions", 0) >= PARTITIONS,
        create=[accepted],
        partitions=PARTITIONS,
        delete=[accepted, *owned, f"{app_id}-__assignor-__leader"],
    ) as normalize:
        latencies, seconds = await send_and_read(
            read_output(
                bootstrap,
                versions,
                settings.partitions,
                n_versions,
                deadline,
                normalize.worker,
                stamp_ns=input_sent_ns,
            ),
            produce_values(
                bootstrap,
                accepted,
                [(e.key, e.value) for e in envelopes],
                headers_of,
                rate_per_s=rate_per_s,
            ),
        )
        peak = tree_peak_rss_mib(normalize.worker.pid)  # its mapper processes included
        await stop(normalize.worker, "normalize")
        await _check_outputs(bootstrap, settings, expected)
    return Result.measure(
        "normalize (service)", len(envelopes), seconds, latencies, peak, warmup_of(rate_per_s)
    )


async def _check_outputs(bootstrap: str, settings: NormalizeSettings, expected: Expected) -> None:
    wrong: list[str] = []
    for name in settings.state_topics:
        stored = await output_size(bootstrap, settings.topic(name), settings.partitions)
        want = expected.per_topic[name]
        if name in ORDER_DEPENDENT:
            if (stored == 0) != (want == 0):
                wrong.append(f"{name}: {stored} (expected about {want})")
        elif stored != want:
            wrong.append(f"{name}: {stored} (expected {want})")
    dead = await output_size(bootstrap, settings.dlq_topic, settings.partitions)
    if dead != expected.dead:
        wrong.append(f"dead-lettered: {dead} (expected {expected.dead})")
    if wrong:
        raise RuntimeError("normalize's outputs differ from the in-process run: " + "; ".join(wrong))


async def compare(bootstrap: str, events: int, rate_per_s: float | None) -> list[Result]:
    envelopes = accepted_envelopes(events)
    expected = expected_outputs(envelopes)
    values = [e.value for e in envelopes]
    baseline = await run_passthrough(bootstrap, len(values), values.__getitem__, rate_per_s=rate_per_s)
    return [baseline, await run_normalize(bootstrap, envelopes, expected, rate_per_s=rate_per_s)]


def main(argv: list[str] | None = None) -> None:
    command.beside_baseline(
        argv,
        "python -m bench.normalize",
        __doc__,
        "normalize",
        compare,
        events=50_000,
        events_help="accepted envelopes to send",
    )


if __name__ == "__main__":
    main()
