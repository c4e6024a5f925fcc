"""The command line of the benches that run against a broker: the module's docstring as the help,
`--bootstrap`, and for a service measured beside the pass-through baseline, the whole command (its
`--events` and `--rate`, the table and the line comparing the rates).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from bench.harness import Result, format_table
from services.topics import bootstrap_servers


def parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A bench's parser, its module docstring shown as written."""
    return argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def add_bootstrap(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", default=None, help="default $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092")


def bootstrap(args: argparse.Namespace) -> str:
    """`--bootstrap`, or the repo's one definition of the default address."""
    address: str = args.bootstrap or bootstrap_servers()
    return address


Compare = Callable[[str, int, float | None], Coroutine[Any, Any, list[Result]]]


def beside_baseline(
    argv: list[str] | None,
    prog: str,
    doc: str | None,
    what: str,
    compare: Compare,
    events: int,
    events_help: str | None = None,
) -> None:
    """The command of a bench that runs `what` beside the pass-through baseline: `compare(bootstrap,
    --events, --rate)` gives the two results, printed as a table and the ratio of their rates."""
    p = parser(prog, doc)
    p.add_argument("--events", type=int, default=events, help=events_help)
    p.add_argument("--rate", type=float, default=None, help="input events/s; default unthrottled")
    add_bootstrap(p)
    args = p.parse_args(argv)
    results = asyncio.run(compare(bootstrap(args), args.events, args.rate))
    print(format_table(results))
    base, service = results
    print(
        f"\n{what} runs at {service.events_per_s / base.events_per_s:.0%} of the pass-through rate "
        f"(python {sys.version.split()[0]}, pid {os.getpid()})"
    )
