"""The package layout, read from the code (ast): the core imports no worker,
CLI, drafting or connector module; no import cycle; no folder over ~15
modules; and an import inside a function only for an optional heavy
library, with a comment saying why it is lazy (or, in the CLI alone, for
the module of one command, marked `# lazy:`)."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGES = ("sync", "connectors")
# The core is pure: tickets, readings, config and `now` in, figures out.
CORE_MAY_NOT_IMPORT = ("sync.worker", "sync.cli", "sync.drafting", "connectors")
# Third-party libraries an import inside a function may load: each costs a
# tenth of a second or more and serves one connector or one command only.
LAZY_ALLOWED = {"openpyxl", "gspread", "google", "google_auth_oauthlib", "jira", "trello",
                "sqlalchemy", "numpy"}
# The command line imports what a command needs once its arguments parse
# (`--version`, `--help` and a usage error answer without the worker), and
# a module that serves one command only (drafting for `init`, Google's
# consent for `auth`) when that command runs: every other command, a sync
# above all, starts without them.  Nowhere else is our own code lazy.
LAZY_OWN_IN = ("sync/cli/",)
LAZY_OWN_MARK = "# lazy:"
MAX_MODULES = 15


def _files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in _files()}


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path) -> list[str]:
    """Our own modules an import statement loads (the submodule a
    `from package import name` names, when it is one)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        anchor = anchor[:len(anchor) - node.level + 1]
        base = ".".join(anchor + ([node.module] if node.module else []))
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    if base in MODULES and len(found) < len(node.names):
        found.append(base)
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """(import node, inside a function?) for every import that runs: those
    under `if TYPE_CHECKING:` only feed annotations and are left out."""
    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for sub in child.orelse:
                    yield from walk(ast.Module(body=[sub], type_ignores=[]), in_function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            yield from walk(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    yield from walk(tree, False)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {t for node, _ in _imports(tree) for t in _targets(node, module, path)
                         if t != module}
    return graph


@pytest.mark.slow
def test_the_core_imports_no_worker_cli_drafting_or_connector_module():
    wrong = sorted(f"{module} imports {target}" for module, targets in _graph().items()
                   if module.startswith("sync.core") for target in targets
                   if any(target == p or target.startswith(p + ".") for p in CORE_MAY_NOT_IMPORT))
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_no_import_cycle():
    graph = _graph()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:      # Tarjan: each cycle is a strongly connected component
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def _commented(lines: list[str], node: ast.stmt, lazy: set[int]) -> bool:
    """A comment on the import's own line, or above it: directly, or above
    the run of lazy imports it stands in (one comment may serve a group)."""
    if "#" in lines[node.lineno - 1]:
        return True
    row = node.lineno - 1
    while row >= 1 and row in lazy:
        row -= 1
    return row >= 1 and lines[row - 1].strip().startswith("#")


def test_imports_inside_functions_are_only_of_heavy_optional_libraries_with_a_comment():
    wrong = []
    for path in _files():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        inner = [node for node, in_function in _imports(ast.parse(text)) if in_function]
        lazy = {row for node in inner for row in range(node.lineno, node.end_lineno + 1)}
        for node in inner:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                else [node.module or "." * node.level]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            tops = sorted({n.split(".")[0] for n in names})
            if _lazy_own_command(path, node, lines, tops):
                continue
            refused = [t for t in tops if t not in LAZY_ALLOWED]
            if getattr(node, "level", 0) or refused:
                wrong.append(f"{where}: import of {', '.join(names)} inside a function: "
                             "own modules and light libraries go to the top of the module")
            elif not _commented(lines, node, lazy):
                wrong.append(f"{where}: lazy import of {', '.join(names)} without a comment "
                             "saying why it is lazy")
    assert not wrong, "\n".join(wrong)


def _lazy_own_command(path: Path, node: ast.stmt, lines: list[str], tops: list[str]) -> bool:
    """An import of our own module, absolute, in the CLI, marked `# lazy:` on its line."""
    return (path.relative_to(ROOT).as_posix().startswith(LAZY_OWN_IN)
            and not getattr(node, "level", 0) and all(t in PACKAGES for t in tops)
            and LAZY_OWN_MARK in lines[node.lineno - 1])


def test_lazy_imports_of_our_own_modules_are_refused_outside_the_cli():
    """The exception is narrow: the same line elsewhere, or unmarked in the CLI, is refused."""
    line = "def f():\n    from sync.drafting import starter  # lazy: for init alone\n"
    node = next(n for n, inner in _imports(ast.parse(line)) if inner)
    lines = line.splitlines()
    assert _lazy_own_command(ROOT / "sync/cli/commands.py", node, lines, ["sync"])
    assert not _lazy_own_command(ROOT / "sync/worker/engine.py", node, lines, ["sync"])
    unmarked = [lines[0], lines[1].replace("# lazy:", "#")]
    assert not _lazy_own_command(ROOT / "sync/cli/commands.py", node, unmarked, ["sync"])
    assert not _lazy_own_command(ROOT / "sync/cli/commands.py", node, lines, ["yaml"])


def test_no_folder_holds_more_than_15_modules():
    crowded = []
    for folder in sorted({p.parent for p in _files()}):
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        if len(modules) > MAX_MODULES:
            crowded.append(f"{folder.relative_to(ROOT)}: {len(modules)} modules")
    assert not crowded, "\n".join(crowded)


def test_the_readmes_layout_names_every_module():
    """The README's Layout section is the map a newcomer reads first: every
    package folder and every module in it is named there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Za-z_/.]+)`", section))
    words = {part.strip("/") for name in named for part in name.split("/")} | named
    missing = []
    for root in ("sync", "connectors"):
        for path in sorted((ROOT / root).rglob("*.py")):
            if path.name in ("__init__.py", "__main__.py") or "__pycache__" in path.parts:
                continue
            if path.stem not in words:
                missing.append(str(path.relative_to(ROOT)))
        for folder in sorted(p for p in (ROOT / root).rglob("*") if p.is_dir() and p.name != "__pycache__"):
            if folder.name not in words:
                missing.append(str(folder.relative_to(ROOT)) + "/")
    assert not missing, f"README's Layout section does not name: {missing}"
