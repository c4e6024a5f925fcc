"""Mutation testing of the code that protects people: `python -m bench.mutation`.

Runs mutmut (configured in `[tool.mutmut]` of pyproject.toml) over the disclosure rules, the
populations, the cell measures, release hygiene, normalize's mapping, pseudonymisation, resolution and
engine, ingest's admission and its duplicate decision, against the non-broker tests, then prints the
kill rate per module (the table of docs/testing.md). mutmut copies the packages into `mutants/` and
runs each mutant against only the tests that call the mutated function; its results stay in
`mutants/` (not in git), so a second run only tests what changed, and `--table` prints the table of
the last run without running anything.

At low priority (`nice 19`) and one mutant at a time by default: the full run takes long on one core
and is kept out of CI. `--sample` runs a few mutants of the dedup decision and the disclosure rules
only (under a minute plus mutmut's one pass of the suite), a smoke test of the set-up.

    python -m bench.mutation                       # the full run, then the table
    python -m bench.mutation --table               # the table of the last run
    python -m bench.mutation 'services.ingest.dedup.*'   # only the mutants matching these names
    python -m bench.mutation --survivors           # the names of the surviving mutants
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The modules of the report, in its order: a file belongs to the first prefix it starts with.
MODULES: tuple[tuple[str, str], ...] = (
    ("aggregate/disclosure", "services/aggregate/disclosure/"),
    ("aggregate/population", "services/aggregate/population.py"),
    ("aggregate/tables", "services/aggregate/tables.py"),
    ("aggregate/release (hygiene)", "services/aggregate/release.py"),
    ("normalize/mapping", "services/normalize/mapping/"),
    ("normalize/pseudonymise", "services/normalize/pseudonymise.py"),
    ("normalize/resolve", "services/normalize/resolve.py"),
    ("normalize/engine", "services/normalize/engine.py"),
    ("ingest/admit", "services/ingest/admit.py"),
    ("ingest/dedup", "services/ingest/dedup.py"),
)

# The sample of `--sample`: the whole of the dedup decision and one disclosure rule file.
SAMPLE = ("services.ingest.dedup.*", "services.aggregate.disclosure.rules.*")

# mutmut's exit codes of a mutant's test run (mutmut.__main__.status_by_exit_code).
KILLED = {1, 3, -24, 24, 152, 255, 36}  # a failing test, pytest's internal error, a timeout
SURVIVED = {0}
NO_TESTS = {5, 33}


def _patch_pytest() -> None:
    """mutmut 3.7 reads `item._nodeid`, which pytest 9.2 no longer has (`item.nodeid` is the same
    string): give it back, in this process only."""
    from _pytest.nodes import Node

    if not hasattr(Node, "_nodeid"):
        Node._nodeid = property(lambda self: str(self.nodeid))  # type: ignore[attr-defined]


def module_of(path: str) -> str | None:
    return next((name for name, prefix in MODULES if path.startswith(prefix)), None)


def results(mutants_dir: Path) -> dict[str, dict[str, int | None]]:
    """The exit code of every mutant, by source file (relative to the repository), from mutmut's
    `.meta` files."""
    found: dict[str, dict[str, int | None]] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        source = meta.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        found[source] = json.loads(meta.read_text())["exit_code_by_key"]
    return found


def status(code: int | None) -> str:
    if code is None:
        return "not run"
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return "other"


def table(by_file: dict[str, dict[str, int | None]]) -> str:
    counts: dict[str, Counter[str]] = {name: Counter() for name, _ in MODULES}
    for path, codes in by_file.items():
        module = module_of(path)
        if module is not None:
            counts[module].update(status(code) for code in codes.values())
    lines = [
        "| module | mutants | killed | survived | no tests | not run | kill rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for name, _ in MODULES:
        total.update(counts[name])
        lines.append(_row(name, counts[name]))
    lines.append(_row("**all**", total))
    return "\n".join(lines)


def _row(name: str, c: Counter[str]) -> str:
    n = sum(c.values())
    tried = c["killed"] + c["survived"] + c["no tests"] + c["other"]
    rate = f"{100 * c['killed'] / tried:.1f} %" if tried else "–"
    return f"| {name} | {n} | {c['killed']} | {c['survived']} | {c['no tests']} | {c['not run']} | {rate} |"


def survivors(by_file: dict[str, dict[str, int | None]]) -> list[str]:
    left = ("survived", "no tests")
    return sorted(key for codes in by_file.values() for key, code in codes.items() if status(code) in left)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="only the mutants matching these names (globs)")
    parser.add_argument("--max-children", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--table", action="store_true", help="print the table of the last run, run nothing")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants, run nothing")
    parser.add_argument("--sample", action="store_true", help=f"run only {', '.join(SAMPLE)}")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # mutmut reads pyproject.toml and writes mutants/ in the working directory
    if not (args.table or args.survivors):
        os.nice(19)
        _patch_pytest()
        from mutmut.__main__ import cli

        names = list(SAMPLE) if args.sample else args.names
        try:
            cli.main(["run", "--max-children", str(args.max_children), *names], standalone_mode=False)
        except SystemExit as stop:
            if stop.code:
                raise
    by_file = results(ROOT / "mutants")
    if args.survivors:
        print("\n".join(survivors(by_file)))
        return
    print(table(by_file))
    if args.sample:
        left = [key for key in survivors(by_file) if any(key.startswith(s.rstrip("*")) for s in SAMPLE)]
        if left:
            sys.exit(f"surviving mutants in the sample: {left}")


if __name__ == "__main__":
    main()
