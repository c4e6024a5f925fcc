"""The back-fill bench, small (issue 12): a few thousand platform messages through ingest, normalize
and aggregate as their own processes; its own check (the published cells equal the in-process plan of
the same feed) passes and every figure is printed. The full run is `python -m bench.backfill --events
1000000`. Without a broker: the check fails loudly on a cell changed, missing or doubled."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

import pytest

from bench.backfill import STAGES, Cell, Expected, check_release, main

STAGE_ROW = re.compile(r"^(?P<stage>[a-z ]+?)\s+(?P<at>[\d.]+)\s+(?P<took>[\d.]+)\s+(?P<rate>[\d,]+)$")


@pytest.mark.broker
def test_a_small_backfill_publishes_the_planned_cells_and_prints_its_figures(
    bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--events", "3000", "--bootstrap", bootstrap])  # raises unless the check passes
    out = capsys.readouterr().out
    assert re.search(r"^check: the published cells equal the in-process plan \([\d,]+ cells", out, re.M), out
    assert re.search(r"^feed: 3,000 platform messages .* -> [1-9][\d,]* public cells", out, re.M), out
    rows = {m["stage"]: m for m in map(STAGE_ROW.match, out.splitlines()) if m}
    assert list(rows) == list(STAGES), out
    ats = [float(rows[s]["at"]) for s in STAGES]
    assert ats == sorted(ats) and ats[0] > 0, out
    assert re.search(r"^aiokafka pass-through \(one hop\)\s+3,000\s+[\d.]+\s+[\d,]+\s+[\d.]+$", out, re.M), (
        out
    )
    assert re.search(r"^back-fill .*\s+3,000\s+[\d.]+\s+[\d,]+\s+[\d.]+$", out, re.M), out
    for process in ("ingest", "normalize", "aggregate"):
        assert re.search(rf"^{process}\s+[1-9][\d.]*$", out, re.M), out
    assert re.search(r"runs at \d+% of the pass-through rate and \d+% of the target", out), out


def _expected() -> Expected:
    cells = [("t.a", b"k1", b"v1"), ("t.a", b"k2", b"v2"), ("t.b", b"k1", b"v3")]
    return Expected(accepted=10, rejected=2, cells=sorted(cells))


def _metrics() -> dict[str, defaultdict[str, float]]:
    ingest = defaultdict(
        float, sx_ingest_messages_accepted_total=10.0, sx_ingest_messages_dead_lettered_total=2.0
    )
    return {"ingest": ingest}


def test_the_check_passes_on_exactly_the_planned_cells() -> None:
    expected = _expected()
    check_release(expected, list(expected.cells), len(expected.cells), _metrics())


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda cells: [*cells[:-1], (*cells[-1][:2], b"other")], id="a value changed"),
        pytest.param(lambda cells: cells[1:], id="a cell missing"),
        pytest.param(lambda cells: sorted([*cells, ("t.b", b"k9", b"v9")]), id="a cell not planned"),
    ],
)
def test_the_check_fails_on_any_other_cells(change: Callable[[list[Cell]], list[Cell]]) -> None:
    expected = _expected()
    published = change(list(expected.cells))
    with pytest.raises(RuntimeError, match="published cells differ from the in-process plan"):
        check_release(expected, published, len(published), _metrics())


def test_the_check_fails_on_a_doubled_record_or_ingest_counts() -> None:
    expected = _expected()
    with pytest.raises(RuntimeError, match="hold 4 records for 3 planned cells"):
        check_release(expected, list(expected.cells), 4, _metrics())
    metrics = _metrics()
    metrics["ingest"]["sx_ingest_messages_dead_lettered_total"] = 1.0
    with pytest.raises(RuntimeError, match="ingest dead-lettered 1 messages, admission 2"):
        check_release(expected, list(expected.cells), 3, metrics)
