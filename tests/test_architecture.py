"""The package's shape: layers that only point down, no import cycles, small modules, one top-level package.

The layer order is the import-linter contract in pyproject.toml ([tool.importlinter]); `lint-imports` checks it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    if exe.exists():
        return str(exe)
    found = shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[dev]' installs import-linter")
    return found


def test_layers_contract_holds():
    proc = subprocess.run([_lint_imports(), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"lint-imports failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert "0 broken" in proc.stdout


def _cycles(graph) -> list:
    """Strongly connected components (size > 1) of the module import graph (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles_even_inside_functions():
    grimp = pytest.importorskip("grimp")  # installed with import-linter
    # grimp records imports inside functions too, so a cycle hidden in a function body counts
    graph = grimp.build_graph("tfrec", exclude_type_checking_imports=True, cache_dir=None)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    class Graph:  # a -> b -> c -> a, d alone
        edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        modules = set(edges)

        def find_modules_directly_imported_by(self, m):
            return self.edges[m]

    assert _cycles(Graph()) == [["a", "b", "c"]]


def test_no_module_over_600_lines():
    too_long = []
    for folder in ("tfrec", "training", "serving"):
        for path in (REPO / folder).rglob("*.py"):
            if path.is_symlink() or any(p.is_symlink() for p in path.relative_to(REPO).parents if p != Path(".")):
                continue
            n = len(path.read_text().splitlines())
            if n > MAX_LINES:
                too_long.append(f"{path.relative_to(REPO)} ({n})")
    assert too_long == [], f"modules over {MAX_LINES} lines (one public concept per file): {too_long}"


def test_only_tfrec_is_a_top_level_package(tmp_path):
    # from a folder that is not the repository, as an installed user would
    for name in ("training", "serving"):
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode != 0 and "No module named" in proc.stderr, proc.stderr
    ok = subprocess.run([sys.executable, "-c", "import tfrec.training, tfrec.serving; print('ok')"], cwd=tmp_path,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok", ok.stderr


def test_source_folders_refuse_to_import_as_top_level_packages():
    # even from the repository root, where training/ and serving/ sit on sys.path
    for name in ("training", "serving"):
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode != 0 and f"tfrec.{name}" in proc.stderr, proc.stderr
