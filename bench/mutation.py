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
import hashlib
import json
import os
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


def _generate() -> None:
    """mutmut's first step alone (copy the packages into mutants/ and write every mutant), so the
    sample can be drawn before anything runs."""
    from mutmut import __main__ as mm

    os.environ["MUTANT_UNDER_TEST"] = "mutant_generation"
    Path("mutants").mkdir(exist_ok=True)
    mm.copy_src_dir()
    mm.copy_also_copy_files()
    mm.create_mutants(1)


def sample(by_file: dict[str, dict[str, int | None]], per_module: int) -> list[str]:
    """`per_module` mutants of each module (all of a smaller one), the same on every run of the same
    code: those whose name has the smallest SHA-256, i.e. a uniform draw independent of the order of
    the code and of which mutants the tests kill."""
    names: dict[str, list[str]] = {name: [] for name, _ in MODULES}
    for path, codes in by_file.items():
        module = module_of(path)
        if module is not None:
            names[module].extend(codes)
    digest = lambda key: hashlib.sha256(key.encode()).hexdigest()  # noqa: E731
    return sorted(key for keys in names.values() for key in sorted(keys, key=digest)[:per_module])


def module_of(path: str) -> str | None:
    return next((name for name, prefix in MODULES if path.startswith(prefix)), None)


def results(mutants_dir: Path, only: list[str] | None = None) -> dict[str, dict[str, int | None]]:
    """The exit code of every mutant (of those in `only`, if given), by source file (relative to the
    repository), from mutmut's `.meta` files."""
    keep = None if only is None else set(only)
    found: dict[str, dict[str, int | None]] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        source = meta.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found[source] = {k: v for k, v in codes.items() if keep is None or k in keep}
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
    parser.add_argument("names", nargs="*", help="run only the mutants matching these names (globs)")
    parser.add_argument("--max-children", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument(
        "--per-module", type=int, default=0, metavar="N", help="a fixed sample of N mutants per module"
    )
    parser.add_argument("--table", action="store_true", help="print the table of the last run, run nothing")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants, run nothing")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # mutmut reads pyproject.toml and writes mutants/ in the working directory
    mutants = ROOT / "mutants"
    if not (args.table or args.survivors):
        os.nice(19)
        _patch_pytest()
        from mutmut.__main__ import cli

        if args.per_module and not results(mutants):
            _generate()
        names = args.names or (sample(results(mutants), args.per_module) if args.per_module else [])
        try:
            cli.main(["run", "--max-children", str(args.max_children), *names], standalone_mode=False)
        except SystemExit as stop:
            if stop.code:
                raise
    by_file = results(mutants, sample(results(mutants), args.per_module) if args.per_module else None)
    if args.survivors:
        print("\n".join(survivors(by_file)))
    else:
        print(table(by_file))


if __name__ == "__main__":
    main()
