"""`python -m services.ingest`: create the declared topics, check the seen topic can be co-partitioned
with the platform topics, then run the ingest worker (several may run in one consumer group)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import Counter
from pathlib import Path

import faust

from services.collector import tune_for_streaming
from services.compacted import partitions_once_created
from services.topics import ensure_topics

from .app import create_app
from .settings import IngestSettings

log = logging.getLogger("sx.ingest")


async def copartition_problem(settings: IngestSettings) -> str | None:
    """Why the seen topic cannot hold the entries of input partition p in its partition p, if it
    cannot: it has fewer partitions than a platform topic."""
    topics = [settings.sedex_topic, settings.amfori_topic, settings.seen_topic]
    # Just created, a topic may not be in the metadata yet: wait until every one names its partitions.
    found = Counter(
        tp.topic for tp in await partitions_once_created(settings.bootstrap_servers, topics, "ingest", log)
    )
    seen = found[settings.seen_topic]
    widest = max(found[settings.sedex_topic], found[settings.amfori_topic])
    if seen < widest:
        return (
            f"the seen topic {settings.seen_topic} has {seen} partitions, fewer than the {widest} of the "
            "platform topics: ingest's dedup state is co-partitioned with its input (docs/ingest.md); "
            "add partitions to the seen topic"
        )
    return None


def main() -> None:
    settings = IngestSettings.from_env()
    asyncio.run(ensure_topics(settings.bootstrap_servers, settings.topic_specs()))
    problem = asyncio.run(copartition_problem(settings))
    if problem is not None:
        logging.basicConfig()
        log.error("refusing to start: %s", problem)
        sys.exit(2)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    app = create_app(settings)
    tune_for_streaming()  # a batch's objects are freed by reference counting; see services/collector.py
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
