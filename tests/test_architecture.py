"""The shape of the code: dependencies one way, no import cycles, no borrowed privates.

Imports are read with ``ast`` from every module of ``petitions/`` and
``workflows/``: module-level and lazy (inside functions) alike; imports under
``if TYPE_CHECKING:`` are for the type checker only and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("petitions", "workflows")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping ``if TYPE_CHECKING:`` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The internal modules an import statement loads (its own code, not parents')."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in MODULES:
                yield alias.name
        return
    base = node.module or ""
    if node.level:
        pkg = _package_of(module).split(".")
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join([*pkg, base] if base else pkg)
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in MODULES:
            yield sub
        elif base in MODULES:
            yield base


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text("utf-8"))
        graph[module] = {t for node in _imports(tree) for t in _targets(module, node)
                         if t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = _graph()
    assert graph["petitions.service"], "no imports found: the checker is broken"
    assert _cycles(graph) == []


def test_workflows_imports_nothing_from_petitions() -> None:
    graph = _graph()
    for module, targets in graph.items():
        if module.startswith("workflows"):
            assert not [t for t in targets if t.startswith("petitions")], module


def test_the_core_does_not_depend_on_the_service() -> None:
    """Privacy, deadlines, audit, the importer, the read models — everything but
    the package's public face, the demo (which drives the public API) and the HTTP
    face (``petitions.http``, a face like the CLI) — work on the store core
    (:mod:`petitions.core`), not on the service."""
    graph = _graph()
    users = sorted(m for m, targets in graph.items() if "petitions.service" in targets
                   and not m.startswith("petitions.http"))
    # The package root re-exports the service lazily (PEP 562: the import is
    # for the type checker only), so it may or may not be listed.
    assert [m for m in users if m != "petitions"] == ["petitions.demo"]
    for module in ("petitions.deadlines.sweep",
                   "petitions.readmodels.runner", "petitions.filing"):
        assert "petitions.core" in graph[module], module


def test_internal_code_imports_from_modules_not_the_package_root() -> None:
    offenders = []
    for module, path in MODULES.items():
        if module in PACKAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "petitions" and not node.level:
                offenders.append(f"{module}: from {node.module} import "
                                 + ", ".join(a.name for a in node.names))
    assert offenders == []


def _defined_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_object(node: ast.expr) -> bool:
    """``self._x``, ``cls._x``, ``super()._x``: a class's own (or inherited) member."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "super")


def test_no_module_uses_another_module_s_private_names() -> None:
    """``from m import _x`` of an internal module, or ``obj._x`` where ``_x`` is
    defined in another module (``svc._load``, ``service._when``), is refused."""
    internal_private: dict[str, set[str]] = {}
    trees = {m: ast.parse(p.read_text("utf-8")) for m, p in MODULES.items()}
    for module, tree in trees.items():
        internal_private[module] = {n for n in _defined_names(tree) if _private(n)}
    everywhere = set().union(*internal_private.values())
    offenders = []
    for module, tree in trees.items():
        own = internal_private[module]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGES):
                offenders += [f"{module}: from {node.module} import {a.name}"
                              for a in node.names if _private(a.name)]
            elif (isinstance(node, ast.Attribute) and _private(node.attr)
                  and node.attr not in own and node.attr in everywhere
                  and not _own_object(node.value)):
                offenders.append(f"{module}: .{node.attr} (line {node.lineno})")
    assert offenders == []


def test_nothing_in_the_library_imports_the_http_face() -> None:
    graph = _graph()
    assert "petitions.http.app" in graph and "petitions.http.open311" in graph["petitions.http.app"]
    offenders = sorted(m for m, targets in graph.items() if not m.startswith("petitions.http")
                       and any(t.startswith("petitions.http") for t in targets))
    assert offenders == []


def test_nothing_public_of_the_service_hands_out_an_aggregate_or_the_store() -> None:
    """Point 2 of issue 12: the service composes the store; audit tools get a
    narrow log (stored events, snapshots), never the store or an aggregate."""
    import inspect
    import re

    from petitions.core import AuditLog
    from petitions.service import PetitionService

    # (``Petition.Event`` values are recorded facts, not the aggregate.)
    handing_out = re.compile(r"\b(Store|Petition|Aggregate|Application|Repository)\b(?!\.Event)")
    for name, member in inspect.getmembers(PetitionService):
        if name.startswith("_"):
            continue
        fn = member.fget if isinstance(member, property) else member
        returns = getattr(fn, "__annotations__", {}).get("return")
        if returns is None:
            continue
        assert not handing_out.search(str(returns)), (name, returns)
    assert not hasattr(PetitionService, "store")
    with PetitionService.open(":memory:") as svc:
        log = svc.audit_log()
        assert isinstance(log, AuditLog)
        for power in ("repository", "save", "find", "load", "execute", "get"):
            assert not hasattr(log, power), power
