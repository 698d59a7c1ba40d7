"""No import cycles between modules of robotr1_data and robotr1_train (module-level imports,
found statically): a cycle makes import order matter and hides which room depends on which."""

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("robotr1_data", "robotr1_train")

# Cycles that wait for a restructure, each with the reason. Shrink this list; never grow it.
KNOWN: set = set()


def _modules():
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _module_level(body):
    """Import statements that run when the module is imported (not in functions or classes,
    not under ``if TYPE_CHECKING``)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "TYPE_CHECKING" not in test:
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in [node.body, node.orelse, node.finalbody] + [h.body for h in node.handlers]:
                yield from _module_level(block)
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)


def _everywhere(body):
    """Every import statement, also those inside functions (run later, on first call)."""
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


@functools.lru_cache(maxsize=2)
def import_graph(deferred: bool = False):
    """Module -> modules it imports; ``deferred`` counts imports inside functions too."""
    mods = _modules()
    find = _everywhere if deferred else _module_level
    graph = {m: set() for m in mods}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in find(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for t in targets:
                while t and t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != mod:
                    graph[mod].add(t)
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_finder_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [frozenset({"a", "b"})]


def test_no_import_cycles_at_module_level():
    assert not cycles(import_graph()), "modules that import each other on import"


def test_no_import_cycles_through_deferred_imports():
    """Imports inside functions too: a cycle there still ties two modules into one."""
    found = set(cycles(import_graph(deferred=True)))
    new = [sorted(c) for c in found - KNOWN]
    assert not new, f"import cycles: {new}"
    gone = [sorted(c) for c in KNOWN - found]
    assert not gone, f"a known cycle is gone, remove it from KNOWN: {gone}"


# The one-way flow of docs/architecture.md, checked on every import (deferred ones included).
SIMULATOR_FREE = ("robotr1_data.shards", "robotr1_data.qa", "robotr1_data.keypoints",
                  "robotr1_data.episode", "robotr1_data.errors", "robotr1_data.config",
                  "robotr1_data.shard_paths")
SIMULATOR_SIDE = ("robotr1_data.backends", "robotr1_data.tasks", "robotr1_data.expert",
                  "robotr1_data.record", "robotr1_data.generate", "robotr1_data.render")
# robotr1_data.demo runs a training smoke step when the train extra is installed (a guarded
# import inside a function); nothing else on the data side may reach into robotr1_train.
DATA_MAY_IMPORT_TRAIN = ("robotr1_data.demo",)


def _in(mod, rooms):
    return any(mod == r or mod.startswith(r + ".") for r in rooms)


def test_data_side_never_imports_the_train_side():
    bad = [(a, b) for a, bs in import_graph(deferred=True).items() for b in bs
           if a.startswith("robotr1_data") and b.startswith("robotr1_train")
           and not _in(a, DATA_MAY_IMPORT_TRAIN)]
    assert not bad, bad


def test_stored_data_and_questions_need_no_simulator():
    bad = [(a, b) for a, bs in import_graph(deferred=True).items() for b in bs
           if _in(a, SIMULATOR_FREE) and _in(b, SIMULATOR_SIDE)]
    assert not bad, bad
