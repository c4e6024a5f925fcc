"""`python -m report`: write the HTML report of the latest release, read from the public topics.

    python -m report [--output report.html] [--topic-prefix PREFIX]

The broker is `KAFKA_BOOTSTRAP_SERVERS` (default 127.0.0.1:9092), the principal the `KAFKA_SASL_*`
settings of `services.kafka_auth`. The file is written whole (to a temporary name, then renamed), so a
reader never opens half a report.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from report.read import read_messages
from report.render import render_report


def write_report(bootstrap: str, output: Path, prefix: str = "") -> Path:
    page = render_report(asyncio.run(read_messages(bootstrap, prefix)))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(output)
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("report.html"), help="default: report.html")
    parser.add_argument("--topic-prefix", default="", help="read <prefix>exchange.aggregates.<table>.v1")
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    print(f"report: written to {write_report(bootstrap, args.output, args.topic_prefix)}")


if __name__ == "__main__":
    main()
