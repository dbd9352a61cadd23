"""The package's import graph has no circles: every module sits above the ones it imports."""

from __future__ import annotations

from pathlib import Path

import grimp
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import organizer


def import_cycles(package: str) -> list[set[str]]:
    """The groups of ``package``'s modules that import each other, directly or through others.

    Imports under ``TYPE_CHECKING`` count: an annotation that names a module's importer
    is a circle in the design, even when Python never runs it.
    """
    graph = grimp.build_graph(package, cache_dir=None)
    modules = sorted(graph.modules)
    number = {name: i for i, name in enumerate(modules)}
    edges = [(number[source], number[target]) for source in modules
             for target in graph.find_modules_directly_imported_by(source)]
    rows, cols = np.array(edges, dtype=int).reshape(-1, 2).T
    adjacency = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(modules), len(modules)))
    _, component = connected_components(adjacency, directed=True, connection="strong")
    groups: dict[int, set[str]] = {}
    for name, group in zip(modules, component):
        groups.setdefault(int(group), set()).add(name)
    return [group for group in groups.values() if len(group) > 1]


def test_no_import_cycles():
    cycles = [sorted(group) for group in import_cycles("organizer")]
    assert not cycles, f"import circles: {cycles}"


def test_the_check_finds_a_circle(tmp_path, monkeypatch):
    package = tmp_path / "circled"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    (package / "c.py").write_text("from . import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("circled") == [{"circled.a", "circled.b"}]


PACKAGE_ROOT = Path(organizer.__file__).parent
#: The house rules from docs/architecture.md: a module a reader can hold in mind, a
#: package whose contents fit on one screen.
MAX_MODULE_LINES = 400
MAX_PACKAGE_MODULES = 12


def test_no_module_is_over_400_lines():
    long = {str(path.relative_to(PACKAGE_ROOT)): n for path in PACKAGE_ROOT.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_sub_package_holds_more_than_12_modules():
    crowded = {str(package.relative_to(PACKAGE_ROOT)): n for package in PACKAGE_ROOT.rglob("__init__.py")
               if (n := sum(1 for m in package.parent.glob("*.py") if m.name != "__init__.py")) > MAX_PACKAGE_MODULES}
    assert not crowded, f"sub-packages over {MAX_PACKAGE_MODULES} modules: {crowded}"


def test_the_engine_is_split_into_pipeline_packages():
    # The flat `organizer.core` room of 40 modules is gone; the steps have their packages.
    packages = {p.name for p in PACKAGE_ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert {"io", "embedding", "analysis", "search", "arrange", "export", "tools", "jobs", "storage",
            "folder", "gui", "cli"} <= packages
    assert "core" not in packages
