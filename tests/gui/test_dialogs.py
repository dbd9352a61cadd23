"""The export, preview and settings dialogs, driven as a user would, on real files."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from organizer.embedding import make_spec
from organizer.embedding.library import Library
from organizer.export import apply as apply_mod
from organizer.export.flow import ExportSource
from organizer.folder.invalidation import what_changed
from organizer.gui.dialogs import export_dialog as export_module
from organizer.gui.dialogs.export_dialog import ExportDialog
from organizer.gui.dialogs.settings_dialog import SettingsDialog
from organizer.gui.panels.preview import PreviewDialog
from organizer.io.scan import hash_file
from organizer.storage.settings import Settings

COUNT = 12
LABELS = np.array([0, 1, 2] * 4)
WAIT_MS = 20_000


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hash_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _exported(out: Path) -> list[str]:
    return sorted(v for k, v in _tree(out).items() if k.endswith(".png") and k != "contact_sheet.png")


@pytest.fixture
def library(tmp_path) -> Library:
    folder = tmp_path / "patterns"
    folder.mkdir()
    rng = np.random.default_rng(1)
    paths = []
    for i in range(COUNT):
        path = folder / f"swatch_{i:02d}.png"
        Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return Library(folder.resolve(), make_spec(mode="mean-colour"), paths, [hash_file(p) for p in paths],
                   rng.normal(size=(COUNT, 8)).astype(np.float32))


@pytest.fixture
def dialog(qtbot, runner, library, tmp_path) -> ExportDialog:
    dialog = ExportDialog(runner, ExportSource(library, LABELS, {1: "Checks"}), default_out=tmp_path / "out")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


@pytest.fixture
def slow_copies(monkeypatch):
    """Each copy takes 0.3 s, so an export of 12 files runs long enough to stop midway."""
    copy = apply_mod.copy_to

    def slow(source, target):
        time.sleep(0.3)
        return copy(source, target)
    monkeypatch.setattr(apply_mod, "copy_to", slow)


# export ------------------------------------------------------------------------------------------
def test_preview_lists_the_plan(qtbot, dialog):
    dialog.set_plan("clusters")
    dialog.preview()
    qtbot.waitUntil(lambda: dialog.preview_table.rowCount() == COUNT, timeout=WAIT_MS)
    assert "12</b> files into <b>3</b> folders" in dialog.plan_summary.text()
    targets = {dialog.preview_table.item(row, 1).text().split("/")[0] for row in range(COUNT)}
    assert targets == {"01_Cluster 1", "02_Checks", "03_Cluster 3"}
    assert {dialog.preview_table.item(row, 2).text() for row in range(COUNT)} == {"Cluster 1", "Checks", "Cluster 3"}
    dialog.set_mode("link")  # any change makes the preview stale
    assert dialog.preview_table.rowCount() == 0


def test_preview_shows_at_most_its_row_limit(qtbot, dialog, monkeypatch):
    monkeypatch.setattr(export_module, "PREVIEW_ROWS", 5)
    dialog.preview()
    qtbot.waitUntil(lambda: dialog.preview_table.rowCount() == 5, timeout=WAIT_MS)
    assert "first 5 shown" in dialog.plan_summary.text()


@pytest.mark.parametrize("kind", ["sorted", "grid"])
def test_copy_export_writes_the_files_and_keeps_the_originals(qtbot, dialog, library, tmp_path, kind):
    before = _tree(library.folder)
    dialog.set_plan(kind)
    dialog.preview()
    qtbot.waitUntil(lambda: dialog.preview_table.rowCount() == COUNT, timeout=WAIT_MS)
    planned = [dialog.preview_table.item(row, 1).text() for row in range(COUNT)]
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS) as signal:
        dialog.start_export()
        assert not dialog.export_button.isEnabled()
    report = signal.args[0]
    assert report.done == COUNT and not report.failed
    out = tmp_path / "out"
    assert _tree(library.folder) == before
    assert _exported(out) == sorted(before.values())
    assert all((out / name).is_file() for name in planned)
    assert (out / "contact_sheet.png").is_file() == (kind == "grid")
    assert "12 files written" in dialog.status_label.text() and str(report.journal) in dialog.status_label.text()
    assert dialog.export_button.isEnabled()


def test_an_export_to_a_stick_that_refuses_permissions_says_so_once(qtbot, dialog, library, tmp_path, refuse_in):
    refuse_in(tmp_path / "out", "chmod", "utime")
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS) as signal:
        dialog.start_export()
    assert signal.args[0].done == COUNT and _exported(tmp_path / "out") == sorted(_tree(library.folder).values())
    status = dialog.status_label.text()
    assert "12 files written" in status
    assert status.count(f"kept the content but not the permissions or times of {COUNT} files") == 1


def test_export_without_a_preview_plans_first(qtbot, dialog, library, tmp_path):
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS):
        dialog.start_export()
    assert _exported(tmp_path / "out") == sorted(_tree(library.folder).values())
    assert dialog.preview_table.rowCount() == COUNT  # the table lists what was written


def test_a_target_inside_the_library_is_refused(qtbot, dialog, library):
    before = _tree(library.folder)
    inside = library.folder / "sorted"
    dialog.set_target(inside)
    qtbot.waitUntil(lambda: "inside the source" in dialog.status_label.text(), timeout=WAIT_MS)
    dialog.status_label.clear()
    dialog.start_export()
    qtbot.waitUntil(lambda: "inside the source" in dialog.status_label.text(), timeout=WAIT_MS)
    assert not inside.exists() and _tree(library.folder) == before
    assert dialog.export_button.isEnabled()


def test_open_export_folder_says_when_it_cannot_open_the_folder(qtbot, dialog, tmp_path, monkeypatch):
    opened = []

    class NoFileManager:  # openUrl's answer where no file manager is set up
        @staticmethod
        def openUrl(url) -> bool:
            opened.append(url.toLocalFile())
            return False

    monkeypatch.setattr(export_module, "QDesktopServices", NoFileManager)
    out = tmp_path / "out"
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS):
        dialog.start_export()
    qtbot.waitUntil(dialog.open_button.isEnabled, timeout=WAIT_MS)
    dialog.open_button.click()
    qtbot.waitUntil(lambda: "Could not open" in dialog.status_label.text(), timeout=WAIT_MS)
    assert opened == [str(out)] and str(out) in dialog.status_label.text()

    shutil.rmtree(out)  # deleted in the file manager while the dialog stayed open
    dialog.open_button.click()
    qtbot.waitUntil(lambda: "not there any more" in dialog.status_label.text(), timeout=WAIT_MS)
    assert opened == [str(out)] and not dialog.open_button.isEnabled()


def test_move_mode_warns(dialog):
    assert not dialog.mode_warning.isVisible()
    dialog.set_mode("move")
    assert dialog.mode_warning.isVisible()
    assert "moved" in dialog.mode_warning.text() and "undo" in dialog.mode_warning.text().lower()
    dialog.set_mode("copy")
    assert not dialog.mode_warning.isVisible()


def test_undo_last_move_restores_the_originals(qtbot, dialog, library, tmp_path):
    before = _tree(library.folder)
    assert not dialog.undo_button.isEnabled()
    dialog.set_mode("move")
    with qtbot.waitSignal(dialog.exported, timeout=WAIT_MS):
        dialog.start_export()
    assert not list(library.folder.glob("*.png"))
    qtbot.waitUntil(dialog.undo_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.undone, timeout=WAIT_MS) as signal:
        dialog.undo_button.click()
    assert signal.args[0].restored == COUNT
    assert _tree(library.folder) == before
    assert "12 files moved back" in dialog.status_label.text()
    qtbot.waitUntil(lambda: not dialog.undo_button.isEnabled(), timeout=WAIT_MS)


def test_cancel_stops_the_export(qtbot, dialog, tmp_path, slow_copies):
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=WAIT_MS)
    dialog.cancel()
    qtbot.waitUntil(lambda: "Stopped" in dialog.status_label.text(), timeout=WAIT_MS)
    assert 1 <= len(_exported(tmp_path / "out")) < COUNT
    assert dialog.export_button.isEnabled() and not dialog.cancel_button.isVisible()


def test_closing_the_dialog_stops_the_export(qtbot, dialog, tmp_path, slow_copies):
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=WAIT_MS)
    dialog.close()
    written = len(_exported(tmp_path / "out"))
    qtbot.wait(1000)  # time for three more copies, were the export still running
    assert len(_exported(tmp_path / "out")) <= written + 1  # the copy under way when it closed


@pytest.fixture
def held_second_file(monkeypatch):
    """The export's second file waits until ``release`` is set; ``under_way`` counts the files being written."""
    real, calls = apply_mod._apply_one, []
    gate = {"entered": threading.Event(), "release": threading.Event(), "under_way": 0}

    def held(op, mode, report):
        calls.append(op)
        gate["under_way"] += 1
        try:
            if len(calls) == 2:
                gate["entered"].set()
                gate["release"].wait(WAIT_MS / 1000)
            return real(op, mode, report)
        finally:
            gate["under_way"] -= 1
    monkeypatch.setattr(apply_mod, "_apply_one", held)
    return gate


def test_closing_the_dialog_mid_move_announces_the_move_once_it_has_ended(qtbot, dialog, library, runner,
                                                                          held_second_file):
    under_way_when_announced = []
    dialog.library_files_changed.connect(lambda: under_way_when_announced.append(held_second_file["under_way"]))
    dialog.set_mode("move")
    dialog.start_export()
    assert held_second_file["entered"].wait(WAIT_MS / 1000)
    dialog.close()  # while the second file is being moved
    assert under_way_when_announced == []
    held_second_file["release"].set()
    qtbot.waitUntil(lambda: not runner.busy(), timeout=WAIT_MS)
    # Announced once, after the file under way was moved and the move stopped: a rescan sees it all.
    assert under_way_when_announced == [0]
    assert len(list(library.folder.glob("*.png"))) == COUNT - 2


# preview -----------------------------------------------------------------------------------------
@pytest.fixture
def preview(qtbot) -> PreviewDialog:
    dialog = PreviewDialog()
    qtbot.addWidget(dialog)
    return dialog


def test_preview_shows_an_image(preview, tmp_path):
    path = tmp_path / "tile.png"
    Image.new("RGB", (300, 200), (20, 120, 200)).save(path)
    preview.show_image(path, "tile.png", "Cluster 2")
    assert preview.isVisible() and preview.has_image()
    assert not preview.image_label.pixmap().isNull()
    assert preview.title_label.text() == "tile.png"
    assert "300 × 200 px" in preview.info_label.text() and "Cluster 2" in preview.info_label.text()


def test_preview_decodes_a_large_image_at_screen_size(preview, tmp_path):
    path = tmp_path / "large.png"
    Image.new("RGB", (4000, 3000), (200, 30, 30)).save(path)
    preview.show_image(path, "large.png", "")
    fit = preview._fit()
    assert preview._image.width() <= fit.width() and preview._image.height() <= fit.height()
    assert "4000 × 3000 px" in preview.info_label.text()


def test_preview_applies_the_exif_orientation(preview, tmp_path):
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    Image.new("RGB", (200, 100), (90, 90, 90)).save(path, exif=exif)
    preview.show_image(path, "turned.jpg", "")
    assert (preview._image.width(), preview._image.height()) == (100, 200)
    assert "100 × 200 px" in preview.info_label.text()


def test_preview_explains_an_unreadable_file(preview, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    preview.show_image(path, "broken.png", "")
    assert preview.isVisible() and not preview.has_image()
    assert "cannot be shown" in preview.image_label.text() and "broken.png" in preview.image_label.text()


def test_preview_keys_step_and_close(qtbot, preview, tmp_path):
    path = tmp_path / "tile.png"
    Image.new("RGB", (64, 64)).save(path)
    preview.show_image(path, "tile.png", "")
    with qtbot.waitSignal(preview.step) as right:
        qtbot.keyClick(preview, Qt.Key.Key_Right)
    with qtbot.waitSignal(preview.step) as left:
        qtbot.keyClick(preview, Qt.Key.Key_Left)
    assert (right.args, left.args) == ([1], [-1])
    qtbot.keyClick(preview, Qt.Key.Key_Space)
    assert not preview.isVisible()


# settings ----------------------------------------------------------------------------------------
CUSTOM = Settings(model="resnet50", layers="early", feature_mode="structure", centre_view=False, device="cpu",
                  runtime="onnx", melt_knots="off",
                  cluster_method="hdbscan",
                  cluster_k=0, linkage="average", min_cluster_size=7, perplexity=45.0, grid_columns=11,
                  similar_rerank="cwssim", equalize=True, max_file_mb=250, recent_folders=("/a", "/b"))


@pytest.mark.parametrize("settings", [Settings(), CUSTOM])
def test_settings_round_trip(qtbot, settings):
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.settings() == settings


def test_settings_edits_reach_the_result(qtbot):
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert not dialog.linkage_combo.isEnabled() and not dialog.min_size_spin.isEnabled()
    dialog.method_combo.setCurrentIndex(dialog.method_combo.findData("agglomerative"))
    assert dialog.linkage_combo.isEnabled()
    dialog.linkage_combo.setCurrentIndex(dialog.linkage_combo.findData("complete"))
    dialog.k_spin.setValue(6)
    dialog.perplexity_spin.setValue(60)
    edited = dialog.settings()
    assert (edited.cluster_method, edited.linkage, edited.cluster_k, edited.perplexity) == \
        ("agglomerative", "complete", 6, 60.0)
    assert what_changed(Settings(), edited) == {"map", "clusters"}
    dialog.runtime_combo.setCurrentIndex(dialog.runtime_combo.findData("torch"))
    assert dialog.settings().runtime == "torch"
    # The runtimes' vectors agree, and share the cache: switching re-embeds nothing.
    assert what_changed(edited, dialog.settings()) == set()
    dialog.centre_view_check.setChecked(False)
    assert dialog.settings().centre_view is False
    assert what_changed(edited, dialog.settings()) == {"embedding", "map", "clusters"}
    dialog.adapt_check.setChecked(False)
    assert dialog.settings().adapt is False
    assert dialog.melt_knots_combo.currentData() == "auto"
    dialog.melt_knots_combo.setCurrentIndex(dialog.melt_knots_combo.findData("on"))
    assert dialog.settings().melt_knots == "on"
    assert "once more" in dialog.adapt_check.toolTip()
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("colour"))
    assert not dialog.model_combo.isEnabled() and not dialog.centre_view_check.isEnabled()
    assert not dialog.adapt_check.isEnabled() and dialog.adapt_check.toolTip() == "Colour modes use no network"
    assert what_changed(Settings(), dialog.settings()) == {"embedding", "map", "clusters"}
    # Back to a network: each option's own explanation comes back; the folder's autoencoder is never adapted.
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("content"))
    assert "once more" in dialog.adapt_check.toolTip() and "middle" in dialog.centre_view_check.toolTip()
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("autoencoder"))
    assert not dialog.adapt_check.isEnabled() and dialog.centre_view_check.isEnabled()


def test_settings_keep_a_value_this_version_does_not_offer(qtbot):
    old = replace(Settings(), model="a_retired_model")
    dialog = SettingsDialog(old)
    qtbot.addWidget(dialog)
    assert dialog.settings().model == "a_retired_model"
