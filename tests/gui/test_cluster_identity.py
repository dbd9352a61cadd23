"""One cluster, one identity: the grid, the map, the dendrogram, the similar panel, the export and the CLI agree.

The app opens a real folder; each view is read for the number, name and colour it shows
for every image's cluster, and they must be those of the grid's header, before and after
a rename and a merge, which must leave every other cluster as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from organizer.analysis.identity import ClusterIdentity
from organizer.cli import main
from organizer.export.flow import build_plan
from organizer.gui.app import SETTINGS_KEY, create_window
from organizer.gui.clusters.cluster_grid_model import IDENTITY_ROLE
from organizer.gui.panels import similar_results
from organizer.storage.settings import Settings

from .test_app import wait_until_ready

#: Colour features (no network) and agglomerative clustering, which has a dendrogram.
SETTINGS = Settings(feature_mode="colour", cluster_method="agglomerative")
CLI_CHOICES = ["--mode", "colour", "--method", "agglomerative"]
#: (number, name, colour) of one cluster.
Shown = tuple[int | None, str, str]


@pytest.fixture
def window(qtbot, tmp_path, sample_folder):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    store.setValue(SETTINGS_KEY, SETTINGS.to_json())
    window = create_window(store)
    qtbot.addWidget(window)
    window.show()
    window.open_folder(sample_folder)
    wait_until_ready(qtbot, window, 36)
    qtbot.waitUntil(lambda: window.dendrogram.dendrogram() is not None, timeout=30_000)
    yield window
    window.close()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []


def _shown(identity: ClusterIdentity) -> Shown:
    return identity.number, identity.name, identity.colour


def grid_clusters(window) -> dict[int, Shown]:
    """Each image's cluster as the grid heads it: the header's number, name and colour."""
    model, shown, header = window.grid.model, {}, None
    for row in range(model.rowCount()):
        index = model.index(row)
        if model.is_header(row):
            header = index.data(IDENTITY_ROLE)
            assert index.data().startswith(f"{header.name} · ")
        else:
            shown[model.image_at(row)] = _shown(header)
    return shown


def map_clusters(window) -> dict[int, Shown]:
    """Each point's cluster on the map: its dot's colour, and the number and name its hover preview gives."""
    view, shown = window.map_view, {}
    for item, members in zip(view._dots, view._groups):
        colour = item.opts["brush"].color().name()
        for image in members.tolist():
            identity = view.identity(int(view._labels[image]))
            assert identity.colour == colour
            shown[image] = (identity.number, identity.name, colour)
    return shown


def dendrogram_clusters(window) -> dict[int, Shown]:
    """Each cluster on the dendrogram, by label: the colour of its leaves and the name beside its first leaf."""
    view, shown = window.dendrogram, {}
    d = view.dendrogram()
    texts = view._leaf_texts(d)
    for label, text in zip(d.leaf_colours.tolist(), texts):
        identity = view.identity(label)
        if label not in shown:
            assert text.startswith(identity.full_name)
        shown[label] = _shown(identity)
    return shown


def similar_clusters(qtbot, window, query: int) -> dict[int, Shown]:
    """Each result's cluster as the similar panel captions it."""
    window.similar.clear()
    window.session.find_similar(query)
    qtbot.waitUntil(lambda: bool(window.similar.results()), timeout=30_000)
    model, shown = window.similar.model, {}
    for row, (image, _) in enumerate(window.similar.results()):
        identity = model.identity(image)
        # The caption draws this identity (the numbered disc, the name), the tooltip names it in full.
        assert model.index(row).data(similar_results.IDENTITY_ROLE) == identity
        assert model.index(row).data(Qt.ToolTipRole).endswith(f"\n{identity.full_name}")
        shown[image] = _shown(identity)
    return shown


def export_folders(window, out: Path) -> dict[int, str]:
    """Each image's folder in the by-cluster export of the clusters as the app holds them."""
    session = window.session
    book = session.book
    plan = build_plan("clusters", session.library, out, book.labels, book.names).plan
    index = {path: i for i, path in enumerate(session.library.paths)}
    return {index[op.source]: op.target.parent.name for op in plan.operations}


def cli_clusters(capsys, window) -> dict[int, tuple[Shown, str]]:
    """Each image's cluster in ``organizer cluster --json``: number, name, colour, and export folder."""
    window.session._writer.flush()  # the app's edits are saved from its writer thread
    library = window.session.library
    assert main(["cluster", str(library.folder), "--json", *CLI_CHOICES]) == 0
    data = json.loads(capsys.readouterr().out)
    clusters = {entry["number"]: entry for entry in data["clusters"]}
    index = {str(path): i for i, path in enumerate(library.paths)}
    return {index[path]: ((number, clusters[number]["name"], clusters[number]["colour"]), clusters[number]["folder"])
            for path, number in data["labels"].items()}


def check_every_view_agrees(qtbot, capsys, window, tmp_path: Path) -> dict[int, Shown]:
    """Every view's clusters are the grid's; returns the grid's by image."""
    grid = grid_clusters(window)
    assert sorted(grid) == list(range(36))
    assert map_clusters(window) == grid
    labels = window.session.book.labels
    assert dendrogram_clusters(window) == {int(labels[i]): shown for i, shown in grid.items()}
    similar = similar_clusters(qtbot, window, 0)
    assert similar == {image: grid[image] for image in similar}
    folders = export_folders(window, tmp_path / "out")
    assert folders == {image: f"{number:02d}_{name}" for image, (number, name, _) in grid.items()}
    cli = cli_clusters(capsys, window)
    assert {image: shown for image, (shown, _) in cli.items()} == grid
    assert {image: folder for image, (_, folder) in cli.items()} == folders
    return grid


def test_every_view_and_the_cli_show_one_identity_per_cluster(qtbot, capsys, window, tmp_path):
    before = check_every_view_agrees(qtbot, capsys, window, tmp_path)
    numbers = sorted({number for number, _, _ in before.values()})
    assert numbers == list(range(1, len(numbers) + 1))  # a fresh clustering: 1..K
    sizes = [sum(shown[0] == number for shown in before.values()) for number in numbers]
    assert sizes == sorted(sizes, reverse=True)  # Cluster 1 the largest

    session = window.session
    book = session.book
    first, second, third = book.clusters()[:3]
    session.rename(first, "Wavy lines")
    session.merge(second, third)
    after = check_every_view_agrees(qtbot, capsys, window, tmp_path)

    # The renamed cluster keeps its number and colour; the merged one's images take the kept one's
    # identity; every other cluster is shown as before.
    renamed = book.identity(first)
    assert (renamed.number, renamed.name) == (first + 1, "Wavy lines")
    for image, (number, name, colour) in before.items():
        if number == first + 1:
            assert after[image] == (number, "Wavy lines", colour)
        elif number in (second + 1, third + 1):
            assert after[image] == _shown(book.identity(second))
        else:
            assert after[image] == (number, name, colour)
    assert third + 1 not in {number for number, _, _ in after.values()}
    assert np.count_nonzero(book.labels == second) == sizes[1] + sizes[2]
