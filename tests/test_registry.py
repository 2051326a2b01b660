"""Registry of sources and the shape of the package: every module imports, and data flows one way
(no import cycle among ``observatoire.*`` modules, module-level or inside functions)."""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

import pytest

import observatoire
from observatoire.errors import ObservatoireError
from observatoire.sources import registry

PACKAGE_DIR = Path(observatoire.__file__).resolve().parent


# ----------------------------------------------------------------------------------------------------
# import graph from the AST
# ----------------------------------------------------------------------------------------------------
def module_files() -> dict[str, Path]:
    """``{"observatoire.sources.fetch": path, …}`` for every ``.py`` file of the package."""
    out = {}
    for p in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(p.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every ``import``/``from … import`` node, at module level or nested in functions and classes,
    except those under ``if TYPE_CHECKING:`` (never executed)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _known_prefix(name: str, modules) -> str | None:
    """The longest prefix of the dotted ``name`` that is a module of the package."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in modules:
            return cand
    return None


def imported_modules(module: str, path: Path, modules) -> set[str]:
    """``observatoire.*`` modules that ``module`` (file ``path``) imports."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    out: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                full = ".".join(base + ([node.module] if node.module else []))
            else:
                full = node.module or ""
            # « from .sources import anct » imports the submodule anct; « from .fr import f » the module fr
            targets = [f"{full}.{a.name}" if f"{full}.{a.name}" in modules else full for a in node.names]
        for t in targets:
            hit = _known_prefix(t, modules)
            if hit is not None and hit != module:
                out.add(hit)
    return out


@functools.lru_cache(maxsize=1)
def import_graph() -> dict[str, frozenset[str]]:
    modules = module_files()
    return {m: frozenset(imported_modules(m, p, modules)) for m, p in modules.items()}


def components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm): modules that
    import each other, directly or through others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[set[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle ``[a, b, …, a]`` per strongly connected component."""
    return [_one_cycle(graph, comp) for comp in components(graph)]


def _one_cycle(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A shortest path from the first module of ``comp`` back to itself inside ``comp``."""
    start = min(comp)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start] + path[::-1][1:] + [start] if len(path) > 1 else [start, start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(comp)


def _show(graph: dict[str, set[str]], comps: list[set[str]]) -> str:
    """Each component as one of its cycles, then all its modules."""
    short = lambda m: m.removeprefix("observatoire.")  # noqa: E731
    return "\n".join(" → ".join(map(short, _one_cycle(graph, c)))
                     + f"   (modules liés : {', '.join(sorted(map(short, c)))})" for c in comps)


# ----------------------------------------------------------------------------------------------------
# the graph builder itself, on hand-written modules
# ----------------------------------------------------------------------------------------------------
def test_graph_reads_relative_function_level_and_absolute_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\nfrom . import c as cc\n")
    (pkg / "c.py").write_text("import pkg.sub.b\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import X\n"
        "def f():\n    from ..a import g\n    return g\n")
    modules = {"pkg": pkg / "__init__.py", "pkg.sub": pkg / "sub/__init__.py", "pkg.a": pkg / "a.py",
               "pkg.c": pkg / "c.py", "pkg.sub.b": pkg / "sub/b.py"}
    graph = {m: imported_modules(m, p, modules) for m, p in modules.items()}
    assert graph["pkg.a"] == {"pkg.sub.b", "pkg.c"}
    assert graph["pkg.c"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.a"}  # the TYPE_CHECKING import is never executed
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a"]]
    del graph["pkg.sub.b"]
    assert cycles(graph) == []


def test_cycles_finds_every_component():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(map(tuple, cycles(g))) == [("a", "b", "c", "a"), ("d", "e", "d")]


# ----------------------------------------------------------------------------------------------------
# the package
# ----------------------------------------------------------------------------------------------------
def test_every_module_imports():
    failed = {}
    for m in module_files():
        if m.endswith("__main__"):
            continue
        try:
            importlib.import_module(m)
        except Exception as e:  # noqa: BLE001 - report them all
            failed[m] = f"{type(e).__name__}: {e}"
    assert failed == {}


FETCH_LAYER = {"observatoire.sources.fetch", "observatoire.sources.raw", "observatoire.sources.registry",
               "observatoire.status"}


def test_fetch_raw_registry_status_are_in_no_cycle():
    graph = import_graph()
    assert FETCH_LAYER <= set(graph)
    mine = [c for c in components(graph) if FETCH_LAYER & c]
    assert mine == [], "cycles d'import :\n" + _show(graph, mine)


def test_raw_and_fetch_never_import_territory():
    graph = import_graph()
    assert "observatoire.territory" not in graph["observatoire.sources.raw"]
    assert "observatoire.territory" not in graph["observatoire.sources.fetch"]
    assert graph["observatoire.sources.registry"] <= {"observatoire.errors", "observatoire.sources.base"}


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    found = components(graph)
    assert found == [], "cycles d'import :\n" + _show(graph, found)


# ----------------------------------------------------------------------------------------------------
# registry
# ----------------------------------------------------------------------------------------------------
def test_every_source_is_declared_once_with_a_page_and_a_file_name():
    sources = registry.all_sources()
    assert "insee_epci" in sources and "ign_communes" in sources
    for sid, s in sources.items():
        assert s.id == sid
        assert s.par in ("france", "departement", "commune"), sid
        if s.par == "departement":
            assert "{dep}" in s.fichier, sid
        assert "/" not in s.fichier.replace("{", "").replace("}", ""), sid


def test_get_source_unknown_lists_the_known_ids():
    assert registry.get_source("insee_epci").producteur == "INSEE"
    with pytest.raises(ObservatoireError) as e:
        registry.get_source("inconnue")
    assert "inconnue" in str(e.value) and "insee_epci" in str(e.value)


def test_filosofi_iris_url_follows_insee_renaming_from_2020():
    """INSEE renamed the IRIS archive from the 2020 edition on (BASE_TD_FILO_IRIS_2021_DISP_CSV.zip)."""
    from observatoire.sources.insee_filosofi import SOURCES

    iris = next(s for s in SOURCES if s.id == "insee_filosofi_iris")
    assert iris.url.format(millesime=2021).endswith("/8229323/BASE_TD_FILO_IRIS_2021_DISP_CSV.zip")
    assert iris.url.format(millesime=2019).endswith("/BASE_TD_FILO_DISP_IRIS_2019_CSV.zip")
