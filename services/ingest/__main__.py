"""`python -m services.ingest`: create the declared topics, then run the ingest worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import faust

from services.topics import ensure_topics

from .app import create_app
from .seen import SeenEvents
from .settings import IngestSettings


def main() -> None:
    settings = IngestSettings.from_env()
    asyncio.run(ensure_topics(settings.bootstrap_servers, settings.topic_specs()))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    seen = asyncio.run(SeenEvents.load(settings.bootstrap_servers, settings.seen_topic))
    app = create_app(settings, seen)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
