"""The back-fill bench, small (issue 12): a few thousand platform messages through ingest, normalize
and aggregate as their own processes; its own check (the published cells equal the in-process plan of
the same feed) passes and every figure is printed. The full run is `python -m bench.backfill --events
1000000`. Without a broker: the check fails loudly on a cell changed, missing or doubled."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

import pytest

from bench.backfill import STAGES, Backfill, Cell, Expected, check_release, cpu_rows, main
from bench.harness import Result

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
    cores = re.search(r"^release committed\s+[\d.]+((\s+-?[\d.]+){7})$", out, re.M)
    assert cores is not None, out
    assert float(cores[1].split()[2]) > 0, out  # aggregate worked during its release


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


def _cpu(
    ingest: float,
    normalize: float,
    aggregate: float,
    bench: float,
    busy: float,
    idle: float,
    steal: float = 0,
) -> dict[str, float]:
    return {
        "machine steal": steal,
        "ingest": ingest,
        "normalize": normalize,
        "aggregate": aggregate,
        "bench": bench,
        "machine busy": busy,
        "machine idle": idle,
    }


def test_cpu_rows_give_each_process_its_cores_per_stage() -> None:
    """Cores = CPU seconds over the stage's own seconds; 'other' is the machine's busy time that no
    process of the run accounts for; a stage reached in the same poll as the one before has no row."""
    stages = dict(zip(STAGES, (10.0, 20.0, 40.0, 40.0, 50.0), strict=True))
    cpu = {
        "start": _cpu(100, 100, 100, 100, 1000, 1000),
        "publish": _cpu(105, 103, 101, 108, 1020, 1000),
        "ingest caught up": _cpu(112, 110, 102, 109, 1040, 1000),
        "normalize caught up": _cpu(113, 130, 106, 110, 1070, 1010),
        "aggregate consumed": _cpu(113, 130, 106, 110, 1070, 1010),
        "release committed": _cpu(113, 130, 116, 110, 1080, 1020, 5),
    }
    baseline = Result("pass-through", 1, 1.0, 1.0, 0.0, 0.0, 1.0)
    b = Backfill(1000, Expected(), stages, {}, cpu, 1.0, baseline)
    assert cpu_rows(b) == [
        ("publish", "10.00", "0.50", "0.30", "0.10", "0.80", "0.30", "0.00", "0.00"),
        ("ingest caught up", "10.00", "0.70", "0.70", "0.10", "0.10", "0.40", "0.00", "0.00"),
        ("normalize caught up", "20.00", "0.05", "1.00", "0.20", "0.05", "0.20", "0.50", "0.00"),
        ("release committed", "10.00", "0.00", "0.00", "1.00", "0.00", "0.00", "1.00", "0.50"),
    ]
