"""The import layers: the kernel (common, audit, accounts) imports no domain app, and no import
cycle runs through it. Read from the source with ast, so a new import anywhere is seen at once.

Layers, as measured when the registries were inverted (issue 12):
- kernel: ``common`` (shared machinery), ``audit`` (the log every write records) and ``accounts``
  (users and roles). They import each other, but at module level without a cycle (common.alerts
  -> audit.services -> audit.models; audit.selectors -> common.scope, accounts.roles), and none
  imports a domain app: what a domain app adds to the whole it declares in its registry.py.
- domain: every other app; it may import the kernel and other domain apps.
Test code (``tests/`` and the ``common/testing.py`` pytest plugin) may build any app's rows and is
not part of the layers.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import fangkong

ROOT = Path(fangkong.__file__).parent
KERNEL = {"common", "audit", "accounts"}
# Domain cycles that were there before issue 12 and are not through the kernel; the test lets
# them shrink and fails when one grows or a new one appears.
KNOWN_DOMAIN_CYCLES = [
    {"geo", "people"},
    {"command", "control", "testing", "tracing"},
]


def _apps() -> set[str]:
    return {p.name for p in ROOT.iterdir() if (p / "apps.py").exists()}


def _is_test_support(rel: Path) -> bool:
    return "tests" in rel.parts or rel.as_posix() == "common/testing.py"


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["fangkong", *parts])


def _is_module(dotted: str) -> bool:
    path = ROOT.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def module_graph() -> dict[str, set[str]]:
    """fangkong module -> the fangkong modules it imports (anywhere in its body), test code left out."""
    graph: dict[str, set[str]] = {}
    for file in ROOT.rglob("*.py"):
        rel = file.relative_to(ROOT)
        if "migrations" in rel.parts or _is_test_support(rel):
            continue
        name = _module_name(rel)
        package = name if rel.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                bases = [alias.name for alias in node.names]
                subnames: list[str] = []
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                else:
                    base = node.module
                bases = [base]
                subnames = [alias.name for alias in node.names]
            else:
                continue
            for base in bases:
                if not base.startswith("fangkong."):
                    continue
                found = [f"{base}.{s}" for s in subnames if _is_module(f"{base}.{s}")]
                targets.update(found or [base])
        graph[name] = {t for t in targets if t != name}
    return graph


def _app(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def app_graph() -> dict[str, set[str]]:
    apps = _apps()
    graph: dict[str, set[str]] = defaultdict(set)
    for source, targets in module_graph().items():
        for target in targets:
            a, b = _app(source), _app(target)
            if a in apps and b in apps and a != b:
                graph[a].add(b)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components with more than one node, or with a self-loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def kernel_to_domain(graph: dict[str, set[str]]) -> list[str]:
    domain = _apps() - KERNEL
    return sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if _app(source) in KERNEL
        for target in targets
        if _app(target) in domain
    )


def test_the_kernel_imports_no_domain_app():
    assert kernel_to_domain(module_graph()) == []


def test_no_import_cycle_runs_through_the_kernel():
    graph = module_graph()
    through_kernel = [
        sorted(component)
        for component in strongly_connected(graph)
        if any(_app(m) in KERNEL for m in component)
    ]
    assert through_kernel == []
    # At app level the kernel's three import each other (that is one layer), but no cycle
    # through common reaches a domain app.
    assert [sorted(c) for c in strongly_connected(app_graph()) if "common" in c] == [
        ["accounts", "audit", "common"]
    ]


def test_domain_cycles_do_not_grow():
    graph = app_graph()
    domain_only = {
        a: {b for b in bs if b not in KERNEL} for a, bs in graph.items() if a not in KERNEL
    }
    for component in strongly_connected(domain_only):
        assert any(component <= known for known in KNOWN_DOMAIN_CYCLES), sorted(component)


def test_the_old_imports_would_be_caught():
    # common/context.py imported control's, testing's and tracing's roles before issue 12.
    graph = module_graph()
    graph["fangkong.common.context"].add("fangkong.control.roles")
    assert kernel_to_domain(graph) == ["fangkong.common.context -> fangkong.control.roles"]
