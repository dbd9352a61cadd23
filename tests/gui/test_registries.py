"""Registries, one entry per thing: the CLI and the dialogs list what the registry holds."""

from __future__ import annotations

import numpy as np
import pytest

from organizer.analysis.cluster import Clustering, ClusterSpec, cluster
from organizer.analysis.clusterers import CLUSTERERS, Clusterer
from organizer.cli import build_parser
from organizer.export.plan import MODE_KINDS, MODES, PLAN_KINDS, ExportChoice
from organizer.gui.dialogs import export_preview
from organizer.gui.dialogs.settings_dialog import SettingsDialog
from organizer.samples import FAMILIES, SampleSpec, render
from organizer.search.compare_indices import INDEX_SPECS, Index
from organizer.storage.settings import Settings


def _all_one(space, spec, progress, should_stop) -> Clustering:
    return Clustering(np.zeros(len(space), dtype=np.int64), "all-one", {"k": 1})


@pytest.fixture
def all_one(monkeypatch):
    """The toy method, registered for this test only."""
    toy = Clusterer("all-one", "All in one", "Every image in one cluster.", ("k",), _all_one)
    monkeypatch.setitem(CLUSTERERS, toy.name, toy)
    return toy


def _option(command: str, option: str):
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    return next(action for action in parser._actions if option in action.option_strings)


def test_a_registered_clusterer_reaches_the_cli_cluster_and_the_dialog(qtbot, tmp_path, all_one):
    method = _option("cluster", "--method")
    assert "all-one" in method.choices and all_one.description in method.help
    assert build_parser().parse_args(["cluster", str(tmp_path), "--method", "all-one"]).method == "all-one"

    images = [render(SampleSpec(family, 0, 0), (64, 64)) for family in FAMILIES[:6]]
    vectors = np.stack([np.asarray(image.convert("RGB").resize((8, 8)), dtype=np.float32).ravel()
                        for image in images])
    result = cluster(vectors, ClusterSpec("all-one"))
    assert result.method == "all-one" and set(result.labels.tolist()) == {0}
    assert result.sizes == {0: len(images)}

    dialog = SettingsDialog(Settings(cluster_method="all-one"))
    qtbot.addWidget(dialog)
    index = dialog.method_combo.findData("all-one")
    assert index >= 0 and dialog.method_combo.itemText(index) == "All in one"
    assert dialog.method_combo.currentIndex() == index
    assert dialog.method_note.text() == all_one.description
    assert dialog.k_spin.isEnabled() and not dialog.linkage_combo.isEnabled()
    assert not dialog.min_size_spin.isEnabled()
    assert dialog.settings().cluster_method == "all-one"


def test_the_dialog_enables_the_options_each_registered_method_uses(qtbot):
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    widgets = {"k": dialog.k_spin, "linkage": dialog.linkage_combo, "min_cluster_size": dialog.min_size_spin}
    assert [dialog.method_combo.itemData(i) for i in range(dialog.method_combo.count())] == \
        [c.name for c in sorted(CLUSTERERS.values(), key=lambda c: (c.rank, c.name))]
    for name, clusterer in CLUSTERERS.items():
        dialog.method_combo.setCurrentIndex(dialog.method_combo.findData(name))
        assert dialog.method_note.text() == clusterer.description
        assert {p: w.isEnabled() for p, w in widgets.items()} == {p: p in clusterer.parameters for p in widgets}


def test_the_index_registry_gives_the_cli_and_the_rerank_list_their_entries(qtbot, monkeypatch):
    toy = Index("ssim", "Toy SSIM", "a label changed in the registry only", "1 = identical", True)
    monkeypatch.setitem(INDEX_SPECS, "ssim", toy)
    dialog = SettingsDialog(Settings(similar_rerank="ssim"))
    qtbot.addWidget(dialog)
    listed = [dialog.rerank_combo.itemData(i) for i in range(dialog.rerank_combo.count())]
    assert listed == ["", "neighbourhood", *INDEX_SPECS]
    assert dialog.rerank_combo.currentText() == "Toy SSIM: a label changed in the registry only"
    index = _option("compare", "--index")
    assert list(index.choices) == list(INDEX_SPECS)
    assert "ssim (a label changed in the registry only)" in index.help and "emd (" in index.help
    assert set(INDEX_SPECS) <= set(_option("similar", "--rerank").choices)


def test_the_plan_registry_gives_the_cli_and_the_export_dialog_their_entries():
    plan = _option("export", "--plan")
    assert list(plan.choices) == list(PLAN_KINDS)
    assert all(f"{kind.name}: {kind.description}" in plan.help for kind in PLAN_KINDS.values())
    assert export_preview.PLAN_CHOICES == tuple((k.name, k.label, k.description) for k in PLAN_KINDS.values())


def test_the_mode_registry_gives_the_cli_and_the_export_dialog_their_entries(monkeypatch):
    assert MODES == tuple(MODE_KINDS) == ("copy", "link", "move")
    assert export_preview.MODE_CHOICES == tuple((k.name, k.label, k.description) for k in MODE_KINDS.values())
    monkeypatch.setitem(MODE_KINDS, "link", ExportChoice("link", "Hard link", "a description changed in the registry only"))
    mode = _option("export", "--mode")
    assert list(mode.choices) == list(MODE_KINDS) and mode.default == "copy"
    assert "link: a description changed in the registry only" in mode.help
    assert all(f"{kind.name}: {kind.description}" in mode.help for kind in MODE_KINDS.values())
