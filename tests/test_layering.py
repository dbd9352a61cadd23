"""The package's import graph has no circles: every module sits above the ones it imports."""

from __future__ import annotations

import grimp
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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
