"""bench.utility prints, per table, what the secondary rules cost, from counts that add up."""

from __future__ import annotations

import re

import pytest

from bench import utility
from schemas.exchange.aggregates import TABLES


@pytest.mark.parametrize("mode", [[], ["--greedy"]])
def test_it_prints_one_consistent_row_per_table(mode: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    utility.main(["--events", "3000", *mode])
    out = capsys.readouterr().out
    assert ("smallest-first greedy" in out) == bool(mode)
    for table in TABLES:
        row = re.search(
            rf"^\| {table} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+) % \| (\d+) \| (\d+) \|$",
            out,
            re.MULTILINE,
        )
        assert row is not None, out
        cells, passed, shown, lost, share, residual, recovery = (float(g) for g in row.groups())
        assert shown + lost <= passed <= cells
        assert share == round(100 * shown / max(1, shown + lost), 1)
        assert residual + recovery <= lost
