"""`python -m report`: write the HTML report of the latest release, read from the public topics.

    python -m report [--output report.html] [--topic-prefix PREFIX]

The broker is `KAFKA_BOOTSTRAP_SERVERS` (default 127.0.0.1:9092), the principal the `KAFKA_SASL_*`
settings of `services.kafka_auth` (a subscriber's own principal is enough: it reads only the public
aggregate topics).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from report.file import write_report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m report", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("report.html"), help="default: report.html")
    parser.add_argument("--topic-prefix", default="", help="read <prefix>exchange.aggregates.<table>.v1")
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    print(f"report: written to {write_report(bootstrap, args.output, args.topic_prefix)}")


if __name__ == "__main__":
    main()
