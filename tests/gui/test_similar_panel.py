"""The similar panel as a designer uses it: thumbnails that follow the panel's width, captions with the name,
cluster and score, the results marked on the map, and a search with part of an outside photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QRect, QSettings, Qt
from PySide6.QtGui import QImage, QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from organizer.analysis.identity import identify
from organizer.gui.app import SETTINGS_KEY, create_window
from organizer.gui.dialogs.region_dialog import RegionCanvas, RegionDialog
from organizer.gui.panels import similar_panel
from organizer.gui.panels.similar_panel import SimilarPanel
from organizer.gui.panels.similar_search import SimilarResult
from organizer.storage.settings import Settings

from .test_window_defects import FAST, TIMEOUT_MS, _folder, _open, window  # noqa: F401 - the shared window fixture

SIDE = 96
LONG_NAME = "a very long file name of a printed cotton pattern photographed in the studio 0123.jpg"


def texture(kind: str, seed: int, size: tuple[int, int] = (SIDE, SIDE)) -> Image.Image:
    """A noisy texture: "warm" stripes in reds and oranges, or "cool" dots in blues and greens."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    if kind == "warm":
        colours = np.where((np.sin((x + y) / 4.0 + seed) > 0)[..., None], [220, 60, 30], [250, 170, 40])
    else:
        colours = np.where(((x % 12 - 6) ** 2 + (y % 12 - 6) ** 2 < 12)[..., None], [30, 90, 220], [40, 170, 120])
    return Image.fromarray(np.clip(colours + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255).astype(np.uint8))


@pytest.fixture
def panel(qtbot, loader, tmp_path):
    """A panel showing three results: a short name, a long one, another; the second in a named cluster."""
    names = ["stripes.png", LONG_NAME, "dots.png"]
    paths = []
    for seed, name in enumerate(names):
        paths.append(tmp_path / name)
        texture("warm", seed).save(paths[-1], format="PNG")
    panel = SimilarPanel(loader, columns=2)
    qtbot.addWidget(panel)
    panel.resize(320, 600)
    panel.show()
    result = SimilarResult(tmp_path / "query.png", None, [(0, 0.873), (1, 0.5), (2, 0.25)])
    panel.show_result(result, paths, [f"digest{i}" for i in range(3)])
    panel.set_clusters(np.array([0, 3, 0]), {3: identify(3, {3: "Printed florals"})})
    return panel


def _cell_side(panel: SimilarPanel) -> int:
    return panel.list.visualRect(panel.model.index(0)).width()


# Resizable ------------------------------------------------------------------------------------------------
def test_a_wider_panel_shows_larger_thumbnails_in_as_many_columns(qtbot, panel):
    narrow, narrow_cell = panel.list.thumbnail_side(), _cell_side(panel)
    panel.resize(640, 600)
    qtbot.waitUntil(lambda: panel.list.thumbnail_side() > narrow)
    assert panel.list.thumbnail_side() >= 2 * narrow - 20 and _cell_side(panel) > narrow_cell
    # Two columns still: the second result sits beside the first.
    first, second = (panel.list.visualRect(panel.model.index(row)) for row in (0, 1))
    assert second.top() == first.top() and second.left() > first.right()


def test_the_columns_control_and_ctrl_wheel_change_the_thumbnails_size(qtbot, panel):
    two = panel.list.thumbnail_side()
    panel.slider.setValue(4)
    assert panel.columns() == 4 and panel.list.thumbnail_side() < two
    viewport = panel.list.viewport()
    up = QWheelEvent(QPointF(20, 20), QPointF(viewport.mapToGlobal(QPoint(20, 20))), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, up)
    assert panel.columns() == 3 and panel.slider.value() == 3  # wheel up: one column fewer, larger thumbnails


# Captions ------------------------------------------------------------------------------------------------
def _caption(panel: SimilarPanel, row: int):
    option = QStyleOptionViewItem()
    option.initFrom(panel.list)
    option.rect = panel.list.visualRect(panel.model.index(row))
    return panel.list.delegate.caption(option, panel.model.index(row)), QRect(option.rect)


def test_each_caption_carries_the_name_cluster_and_score_under_the_thumbnail(panel):
    short, short_cell = _caption(panel, 0)
    assert short.name == "stripes.png" and short.score == "0.87" and short.cluster == "Cluster 1"
    long, long_cell = _caption(panel, 1)
    # Elided in the middle: the start and the extension stay, and the full name is in the tooltip.
    assert long.name.startswith("a very") and long.name.endswith(".jpg") and "…" in long.name
    assert long.cluster.startswith("Printed") and long.score == "0.50"
    assert panel.model.index(1).data(Qt.ToolTipRole).startswith(f"{LONG_NAME}\nsimilarity 0.500\nPrinted florals")
    for caption, rect in ((short, short_cell), (long, long_cell)):
        texts = (caption.name_rect, caption.score_rect, caption.cluster_rect, caption.disc)
        assert all(part.top() > caption.square.bottom() and rect.contains(part) for part in texts)
        assert not caption.score_rect.intersects(caption.cluster_rect)
        assert not caption.disc.intersects(caption.cluster_rect)
        assert panel.list.fontMetrics().horizontalAdvance(caption.score) <= caption.score_rect.width()


# Results on the map ---------------------------------------------------------------------------------------
def _search(qtbot, window, query: int) -> list[int]:
    window.session.find_similar(query)
    qtbot.waitUntil(lambda: window.similar.query() is not None and window.similar.query().query_index == query,
                    timeout=TIMEOUT_MS)
    return [image for image, _ in window.similar.results()]


def test_the_map_marks_the_query_and_its_results_until_the_panel_clears_or_closes(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    marks = window.map_view.marks
    assert marks.shown() == (None, [])
    results = _search(qtbot, window, 0)
    assert results and marks.shown() == (0, results)
    window.similar.clear()
    assert marks.shown() == (None, [])
    results = _search(qtbot, window, 2)
    window.similar_dock.close()
    assert marks.shown() == (None, [])
    window.similar_dock.show()
    assert marks.shown() == (2, results)
    # A rescan clears the panel, and the marks with it: its indices would name other images.
    window.session.rescan()
    assert marks.shown() == (None, [])


def test_a_result_clicked_or_stepped_to_is_selected_and_brought_into_view_on_the_map(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    results = _search(qtbot, window, 0)
    target = results[1]
    x, y = window.map_view._xy[target]
    # Zoomed in far from the result.
    window.map_view._box.setRange(xRange=(x + 50, x + 51), yRange=(y + 50, y + 51), padding=0)
    assert not window.map_view._box.viewRect().contains(x, y)
    zoomed = window.map_view._box.viewRect().width()
    rect = window.similar.list.visualRect(window.similar.model.index(1))
    QTest.mouseClick(window.similar.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.selection() == [target] and window.map_view.selection() == [target]
    view = window.map_view._box.viewRect()
    assert view.contains(x, y) and view.width() == pytest.approx(zoomed, rel=0.01)  # the zoom stays
    # The arrow keys step to the next result, which comes into view too.
    following = results[2]
    x, y = window.map_view._xy[following]
    window.map_view._box.setRange(xRange=(x + 50, x + 51), yRange=(y + 50, y + 51), padding=0)
    QTest.keyClick(window.similar.list, Qt.Key.Key_Right)
    assert window.selection() == [following] and window.map_view._box.viewRect().contains(x, y)


# Width and columns persist ------------------------------------------------------------------------------
def test_the_panels_width_and_columns_come_back_in_the_next_window(qtbot, tmp_path):
    folder = _folder(tmp_path, 9)
    store = QSettings(str(tmp_path / "persist.ini"), QSettings.IniFormat)
    store.setValue(SETTINGS_KEY, FAST.to_json())
    first = create_window(store)
    qtbot.addWidget(first)
    first.show()
    _open(qtbot, first, folder, 9)
    _search(qtbot, first, 0)
    first.similar.set_columns(3)
    first.resizeDocks([first.similar_dock], [520], Qt.Orientation.Horizontal)
    # Saved once the resize has settled: the width the user left it at.
    qtbot.waitUntil(lambda: abs(Settings.from_json(store.value(SETTINGS_KEY)).similar_width - 520) <= 10)
    assert Settings.from_json(store.value(SETTINGS_KEY)).similar_width == first.similar_dock.width()
    assert Settings.from_json(store.value(SETTINGS_KEY)).similar_columns == 3
    first.close()

    second = create_window(store)
    qtbot.addWidget(second)
    second.show()
    _open(qtbot, second, folder, 9)
    _search(qtbot, second, 0)
    assert second.similar.columns() == 3
    qtbot.waitUntil(lambda: abs(second.similar_dock.width() - 520) <= 10)
    second.close()


# A region of an outside photo -----------------------------------------------------------------------------
def drag(canvas: RegionCanvas, start: QPointF, end: QPointF) -> None:
    """Drag a box on ``canvas`` with the left button, as a hand would: press, move, release."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, at, button, buttons in ((QMouseEvent.Type.MouseButtonPress, start, left, left),
                                      (QMouseEvent.Type.MouseMove, end, none, left),
                                      (QMouseEvent.Type.MouseButtonRelease, end, left, none)):
        QApplication.sendEvent(canvas, QMouseEvent(kind, at, canvas.mapToGlobal(at), button, buttons,
                                                   Qt.KeyboardModifier.NoModifier))


@pytest.fixture
def dialog(qtbot):
    """The dialog over a 400 × 200 preview of a 1600 × 800 photo."""
    preview = QImage(400, 200, QImage.Format.Format_RGB32)
    preview.fill(Qt.GlobalColor.darkGray)
    dialog = RegionDialog(preview, (1600, 800), None, "garment.jpg")
    qtbot.addWidget(dialog)
    dialog.resize(700, 500)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_a_band_dragged_over_the_picture_is_the_region_in_the_photos_pixels(dialog):
    canvas = dialog.canvas
    assert canvas.region() is None and not dialog.search_region.isEnabled()
    shown = canvas.image_rect()
    # From the picture's top left corner to its centre: the photo's top left quarter.
    drag(canvas, shown.topLeft() + QPointF(1, 1), shown.center())
    x, y, w, h = canvas.region()
    assert abs(x) <= 8 and abs(y) <= 8 and abs(w - 800) <= 12 and abs(h - 400) <= 12
    assert canvas.band.isVisible() and dialog.search_region.isEnabled()
    dialog.search_region.click()
    assert dialog.result() == RegionDialog.DialogCode.Accepted and dialog.region() == (x, y, w, h)


def test_a_click_is_no_region_and_search_whole_image_gives_none(dialog):
    canvas = dialog.canvas
    shown = canvas.image_rect()
    drag(canvas, shown.center(), shown.center() + QPointF(2, 2))
    assert canvas.region() is None and not dialog.search_region.isEnabled()
    drag(canvas, shown.topLeft(), shown.center())
    dialog.search_whole.click()
    assert dialog.result() == RegionDialog.DialogCode.Accepted and dialog.region() is None


@pytest.fixture
def textures(tmp_path) -> tuple[Path, Path]:
    """A folder of warm and cool textures, and a garment photo whose left half is warm and right half cool."""
    folder = tmp_path / "textures"
    folder.mkdir()
    for seed in range(4):
        texture("warm", seed).save(folder / f"warm_{seed}.png")
        texture("cool", seed).save(folder / f"cool_{seed}.png")
    garment = Image.new("RGB", (2 * SIDE, SIDE))
    garment.paste(texture("warm", 11), (0, 0))
    garment.paste(texture("cool", 12), (SIDE, 0))
    garment.save(tmp_path / "garment.png")
    return folder, tmp_path / "garment.png"


def test_search_part_of_it_searches_with_the_region_drawn(qtbot, window, textures, monkeypatch):
    folder, garment = textures
    _open(qtbot, window, folder, 8)
    session, panel = window.session, window.similar
    session.find_similar_to_file(garment)
    qtbot.waitUntil(lambda: panel.query() is not None, timeout=TIMEOUT_MS)
    assert panel.region_button.isVisible() and panel.query().query_size == (2 * SIDE, SIDE)

    chosen = []

    class Drawn(RegionDialog):
        """The dialog as a hand leaves it: a band drawn over ``chosen[-1]``, then Search with region."""

        def exec(self) -> int:
            self.canvas.set_region(chosen[-1])
            return 1

    monkeypatch.setattr(similar_panel, "RegionDialog", Drawn)
    for region, kind in (((0, 0, SIDE, SIDE), "warm"), ((SIDE, 0, SIDE, SIDE), "cool")):
        chosen.append(region)
        panel.region_button.click()
        qtbot.waitUntil(lambda: panel.query().region == region, timeout=TIMEOUT_MS)
        names = [session.library.paths[image].name for image, _ in panel.results()]
        assert [name.split("_")[0] for name in names[:4]] == [kind] * 4, names
        assert "part of garment.png" in panel._title.text() and not panel._query_icon.pixmap().isNull()
