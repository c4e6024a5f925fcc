"""bench.mutation's bookkeeping: which mutants the sample takes and how the table counts them (the
mutation run itself is not a test: docs/testing.md)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.mutation import MODULES, module_of, results, sample, status, survivors, table


def by_file(n: int) -> dict[str, dict[str, int | None]]:
    return {
        "services/aggregate/disclosure/rules.py": {f"rules.f__mutmut_{i}": 1 for i in range(n)},
        "services/ingest/dedup.py": {"dedup.g__mutmut_1": 0, "dedup.g__mutmut_2": 1},
        "services/ingest/app.py": {"app.h__mutmut_1": 0},  # not a module of the report
    }


def test_every_reported_file_belongs_to_one_module() -> None:
    assert module_of("services/aggregate/disclosure/view.py") == "aggregate/disclosure"
    assert module_of("services/normalize/mapping/sedex.py") == "normalize/mapping"
    assert module_of("services/normalize/keys.py") is None
    assert len({name for name, _ in MODULES}) == len(MODULES)


def test_the_sample_is_a_fixed_draw_per_module_and_grows_by_inclusion() -> None:
    files = by_file(50)
    five, ten = sample(files, 5), sample(files, 10)
    assert sample(files, 5) == five
    assert len([k for k in ten if k.startswith("rules.")]) == 10
    assert {"dedup.g__mutmut_1", "dedup.g__mutmut_2"} <= set(five)  # a small module is taken whole
    assert set(five) <= set(ten)
    assert not any(k.startswith("app.") for k in ten)


def test_the_table_counts_survivors_and_mutants_without_tests_as_not_killed() -> None:
    files: dict[str, dict[str, int | None]] = {
        "services/ingest/dedup.py": {"a": 1, "b": 0, "c": 33, "d": None},
        "services/ingest/admit.py": {"e": 1, "f": -24},  # a timeout is a kill
    }
    assert [status(code) for code in (1, 0, 33, None, 36)] == [
        "killed",
        "survived",
        "no tests",
        "not run",
        "killed",
    ]
    rows = {line.split(" | ")[0].strip("| "): line for line in table(files).splitlines()}
    assert rows["ingest/dedup"].endswith("| 4 | 1 | 1 | 1 | 1 | 33.3 % |")
    assert rows["ingest/admit"].endswith("| 2 | 2 | 0 | 0 | 0 | 100.0 % |")
    assert rows["**all**"].endswith("| 6 | 3 | 1 | 1 | 1 | 60.0 % |")
    assert survivors(files) == ["b", "c"]


def test_results_are_read_from_mutmuts_meta_files(tmp_path: Path) -> None:
    meta = tmp_path / "services" / "ingest" / "dedup.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"x": 1, "y": 0}}))
    assert results(tmp_path) == {"services/ingest/dedup.py": {"x": 1, "y": 0}}
    assert results(tmp_path, ["y"]) == {"services/ingest/dedup.py": {"y": 0}}
