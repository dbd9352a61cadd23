"""Issue 18's small defects, as a designer meets them in the window."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QKeySequence, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton

from organizer.analysis.reduce import degenerate
from organizer.gui import session as session_module
from organizer.gui.app import SETTINGS_KEY, create_window
from organizer.gui.panels import similar_search
from organizer.gui.panels.failures_panel import FailuresPanel
from organizer.gui.panels.similar_panel import HINT
from organizer.gui.panels.welcome import WelcomePage
from organizer.jobs.tasks import Cancelled
from organizer.samples import write_sample_folder
from organizer.storage.settings import Settings

TIMEOUT_MS = 120_000
#: Colour histograms: a real scan, map and clustering without loading a network.
FAST = Settings(feature_mode="colour", perplexity=5.0)


@pytest.fixture
def window(qtbot, tmp_path):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    store.setValue(SETTINGS_KEY, FAST.to_json())
    window = create_window(store)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def _folder(tmp_path: Path, count: int) -> Path:
    """A folder of the first ``count`` of nine sample patterns, one per family."""
    rendered = write_sample_folder(tmp_path / "rendered", per_family=1, colourways=1, size=(96, 96))
    folder = tmp_path / f"{count} patterns"
    folder.mkdir()
    for path in sorted(rendered)[:count]:
        shutil.copy(path, folder / path.name)
    return folder


def _open(qtbot, window, folder: Path, images: int) -> None:
    window.open_folder(folder)
    session = window.session
    qtbot.waitUntil(lambda: session.library is not None and len(session.library) == images
                    and session.book is not None and not session.runner.busy(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.map_view.point_count() == images, timeout=5000)


# Redo --------------------------------------------------------------------------------------------
def test_every_redo_key_of_the_platform_redoes_the_edit(qtbot, window, sample_folder):
    _open(qtbot, window, sample_folder, 36)
    session = window.session
    target = next(label for label in session.book.clusters() if label != session.book.labels[0])
    session.move_to_cluster([0], target)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.grid.view().setFocus()
    keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    assert keys
    for key in keys:
        window.actions_by_name["undo"].trigger()
        assert session.book.labels[0] != target and session.model.can_redo()
        QTest.keySequence(window.grid.view(), key)
        assert session.book.labels[0] == target, f"{key.toString()} did not redo"


def test_no_key_is_bound_twice_so_qt_drops_none_as_ambiguous(window):
    # Under X11 the old hand-made Ctrl+Shift+Z was the platform's own Redo key a second time.
    keys = [key.toString() for action in window.actions() for key in action.shortcuts() if not key.isEmpty()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


# The map of a small folder -------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 2, 5])
def test_a_small_folder_gets_a_map_with_a_point_for_each_image(qtbot, window, tmp_path, count):
    _open(qtbot, window, _folder(tmp_path, count), count)
    layout = np.asarray(window.session.layout)
    assert layout.shape == (count, 2) and not degenerate(layout)
    if count >= 2:
        rows, cols = np.triu_indices(count, 1)
        assert np.linalg.norm(layout[rows] - layout[cols], axis=1).min() > 0.1 * np.ptp(layout, axis=0).max()


# Status that outlives its job -------------------------------------------------------------------------
def test_a_map_stopped_by_a_rescan_leaves_the_status_bar_when_the_rescan_fails(qtbot, window, sample_folder,
                                                                               monkeypatch):
    _open(qtbot, window, sample_folder, 36)

    def slow_map(*_args, progress, should_stop, **_kwargs):
        progress(1, 100, "layout")
        while not should_stop():
            threading.Event().wait(0.01)
        raise Cancelled()

    def offline(*_args, **_kwargs):
        raise RuntimeError("the weights need a download")

    monkeypatch.setattr(session_module, "cached_map", slow_map)
    monkeypatch.setattr(session_module, "open_library_or_default", offline)
    window.session.recompute_map()
    qtbot.waitUntil(lambda: window.progress.isVisible() and "map" in window.progress.label.text(), timeout=5000)
    window.session.rescan()  # stops the map
    qtbot.waitUntil(lambda: window.message.text().startswith("Scan failed"), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.session.runner.busy(), timeout=5000)
    assert not window.progress.isVisible(), window.progress.label.text()


def test_a_search_replaced_by_another_takes_its_message_along(qtbot, window, sample_folder, monkeypatch):
    _open(qtbot, window, sample_folder, 36)
    session = window.session

    def held(*_args, should_stop, **_kwargs):
        while not should_stop():
            threading.Event().wait(0.01)
        raise Cancelled()

    monkeypatch.setattr(similar_search, "search_similar", held)
    query = session.library.paths[3]
    session.find_similar_to_file(query)
    assert window.message.text() == f"Searching with {query.name}…"
    session.find_similar(0)  # Ctrl+F on another image before the first search ended
    assert window.message.text() == f"Searching like {session.library.paths[0].name}…"
    session.cancel()


# The welcome page's links -------------------------------------------------------------------------------
def _link_pixels(widget) -> int:
    """How many of the widget's pixels are drawn in (nearly) the palette's link colour."""
    link = widget.palette().color(QPalette.ColorRole.Link)
    image = widget.grab().toImage()
    return sum(1 for x in range(image.width()) for y in range(image.height())
               if _near(QColor(image.pixel(x, y)), link))


def _near(colour: QColor, other: QColor) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(colour.getRgb()[:3], other.getRgb()[:3]))


def test_the_welcome_pages_links_look_and_point_like_links(qtbot):
    page = WelcomePage()
    qtbot.addWidget(page)
    page.set_recent(("/home/designer/patterns/summer",))
    page.resize(900, 600)
    page.show()
    qtbot.waitExposed(page)
    links = [b for b in page.findChildren(QPushButton) if b.text() != "Open folder…"]
    assert sorted(b.text() for b in links) == ["Try the sample patterns", "summer  —  /home/designer/patterns/summer"]
    for link in links:
        assert link.cursor().shape() == Qt.CursorShape.PointingHandCursor
        assert _link_pixels(link) > 20, f"{link.text()!r} is not drawn in the link colour"


# The Problems panel's folders ---------------------------------------------------------------------------
def test_problems_show_each_files_folder_from_the_opened_folder(qtbot, tmp_path):
    root = tmp_path / "patterns"
    panel = FailuresPanel()
    qtbot.addWidget(panel)
    panel.set_failures([(root / "summer" / "knits" / "bad.png", "damaged image data"),
                        (root / "notes.jpg", "not an image")], root)
    table = panel.table
    assert [table.horizontalHeaderItem(c).text() for c in range(3)] == ["File", "Folder", "Why it was skipped"]
    assert [[table.item(r, c).text() for c in range(3)] for r in range(2)] == [
        ["bad.png", "patterns/summer/knits", "damaged image data"], ["notes.jpg", "patterns", "not an image"]]
    assert table.item(0, 1).toolTip() == str(root / "summer" / "knits" / "bad.png")


def test_the_windows_problems_panel_names_the_folder_of_a_broken_file(qtbot, window, tmp_path):
    folder = _folder(tmp_path, 5)
    (folder / "summer").mkdir()
    (folder / "summer" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    _open(qtbot, window, folder, 5)
    table = window.failures.table
    assert table.rowCount() == 1
    assert [table.item(0, c).text() for c in range(2)] == ["broken.png", f"{folder.name}/summer"]


# The similar panel after a change of mode ------------------------------------------------------------
def test_a_change_of_mode_clears_the_similar_panel_at_once_and_for_good(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    session = window.session
    session.find_similar(0)
    qtbot.waitUntil(lambda: bool(window.similar.results()), timeout=TIMEOUT_MS)
    assert window.similar._title.text() != HINT
    session.apply_settings(replace(session.settings, feature_mode="mean-colour"))
    # Found by vectors the folder no longer has: gone as the scan starts, not when it ends.
    assert window.similar.results() == [] and window.similar._title.text() == HINT
    qtbot.waitUntil(lambda: session.library is not None and session.book is not None
                    and not session.runner.busy(), timeout=TIMEOUT_MS)
    assert window.similar.results() == [] and window.similar._title.text() == HINT
