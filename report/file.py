"""The report of what the public topics hold, written to a file (for `python -m report` and the demo)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from report.read import read_messages
from report.render import render_report


def write_report(bootstrap: str, output: Path, prefix: str = "") -> Path:
    """Read the topics, render, and write the file whole (a temporary name, then a rename), so a
    reader never opens half a report. Returns `output`."""
    page = render_report(asyncio.run(read_messages(bootstrap, prefix)))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(output)
    return output
