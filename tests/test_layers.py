"""The import direction the codebase keeps (issue 10): schemas at the bottom, services above them,
simulator beside them on schemas alone, report on schemas and services, bench and demo on top (the
demo writes the report), and nobody imports the tests. And no import cycle between modules of the
project, deferred imports included (a cycle hidden in a function is still a cycle). Read from the
source with `ast`, so importing nothing."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "services", "simulator", "bench", "demo", "report")
# package -> the project's packages it may import
ALLOWED = {
    "schemas": {"schemas"},
    "services": {"schemas", "services"},
    "simulator": {"schemas", "simulator"},
    "bench": {"schemas", "services", "simulator", "bench"},
    "demo": {"schemas", "services", "simulator", "demo", "report"},
    "report": {"schemas", "services", "report"},
}


# Single modules allowed one import beyond their package's layer, each with its reason.
EXCEPTIONS = {
    # The simulator's command line stands for a platform's backend connecting to the secured broker:
    # it reads the same SASL settings as every other client (the simulator's library code does not).
    "simulator.__main__": {"services.kafka_auth"},
    # The publisher writes record batches with the partitions `send()` would choose, as the services
    # do: Kafka client plumbing with no knowledge of the exchange, kept in one copy rather than two
    # (a per-message `send()` cost the back-fill half a core: docs/performance.md, seventeenth session).
    "simulator.publish": {
        "services.record_batches",
        "services.record_batches.Output",
        "services.record_batches.deliver_as_batches",
    },
}


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """The project modules `name` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in (*PACKAGES, "tests")}


def test_imports_go_down_the_layers_only() -> None:
    wrong = []
    for name, path in modules().items():
        top = name.split(".")[0]
        for target in imports(name, path):
            excepted = any(target == e or target.startswith(f"{e}.") for e in EXCEPTIONS.get(name, ()))
            if target.split(".")[0] not in ALLOWED[top] and not excepted:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    known = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in known.items():
        for target in imports(name, path):
            while target and target not in known:  # `from pkg import name` names a module or an attribute
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(f"{target}."):
                graph[name].add(target)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if nxt.startswith(f"{node}."):
                continue  # a package importing its own submodules (its public surface) is no cycle
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(known):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)
