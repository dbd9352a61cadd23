"""How many groups in the app: the grid's control and the dendrogram's cut line re-cut the tree, and follow undo.

The app opens a real folder (colour features, no network) and the tests turn the controls
as a person would: the spin box by keys, the slider, the cut line by a mouse drag.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from organizer.gui.app import SETTINGS_KEY, create_window
from organizer.gui.clusters.dendrogram import MIN_THUMB, THUMB
from organizer.gui.clusters.groups_control import NO_CLUSTERS, NO_TREE
from organizer.storage.settings import Settings

from .test_app import wait_until_ready


def _window(qtbot, tmp_path, folder, settings: Settings):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    store.setValue(SETTINGS_KEY, settings.to_json())
    window = create_window(store)
    qtbot.addWidget(window)
    window.resize(1280, 820)
    window.show()
    window.open_folder(folder)
    wait_until_ready(qtbot, window, 36)
    return window


@pytest.fixture
def window(qtbot, tmp_path, sample_folder):
    window = _window(qtbot, tmp_path, sample_folder, Settings(feature_mode="colour"))
    qtbot.waitUntil(lambda: window.dendrogram.dendrogram() is not None, timeout=30_000)
    yield window
    window.close()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []


def _shown_clusters(window) -> int:
    return window.grid.model.cluster_count()


def test_the_spin_box_recuts_at_once_and_follows_undo_and_redo(qtbot, window):
    model, control = window.session.model, window.grid.groups
    window.tabs.setCurrentWidget(window.grid)
    first = model.group_count()
    assert control.isEnabled() and control.slider.isVisible() and control.value() == first == _shown_clusters(window)
    assert (control.spin.minimum(), control.spin.maximum()) == model.group_range() == (1, 36)
    control.spin.setFocus()
    QTest.keyClick(control.spin, Qt.Key.Key_Up)
    assert model.group_count() == first + 1 == _shown_clusters(window)
    assert model.undo_text() == f"Cut into {first + 1} groups" and control.slider.value() == first + 1
    window.actions_by_name["undo"].trigger()
    assert model.group_count() == first == _shown_clusters(window)
    assert control.value() == control.slider.value() == first
    window.actions_by_name["redo"].trigger()
    assert control.value() == first + 1 == _shown_clusters(window)


def test_a_typed_number_cuts_once_on_enter_and_gives_the_keys_back_to_the_grid(qtbot, window):
    model, control = window.session.model, window.grid.groups
    window.tabs.setCurrentWidget(window.grid)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    control.spin.setFocus()
    control.spin.selectAll()
    QTest.keyClicks(control.spin, "12")
    assert model.history.count() == 0  # not a cut into 1 group on the way to 12
    QTest.keyClick(control.spin, Qt.Key.Key_Return)
    assert model.group_count() == 12 == _shown_clusters(window) and model.history.count() == 1
    assert window.grid.view().hasFocus()
    # Ctrl+Z from the grid, where the keys went: the grouping and the control go back.
    QTest.keySequence(window.grid.view(), QKeySequence(QKeySequence.StandardKey.Undo))
    assert model.group_count() == control.value() != 12


def test_the_slider_cuts_where_it_is_let_go_and_never_takes_focus(qtbot, window):
    model, control = window.session.model, window.grid.groups
    assert control.slider.focusPolicy() == Qt.FocusPolicy.NoFocus
    first = model.group_count()
    target = first + 3
    control.slider.setSliderDown(True)
    for value in range(first + 1, target + 1):
        control.slider.setSliderPosition(value)
        assert control.spin.value() == value
    assert model.history.count() == 0 and model.group_count() == first  # dragging shows the number, letting go cuts
    control.slider.setSliderDown(False)
    assert model.group_count() == target and model.history.count() == 1


def _line_point(view, x: float) -> QPoint:
    """Where the cut line at merge height ``x`` is on the plot's viewport, halfway down."""
    box = view.plot.getPlotItem().getViewBox()
    y = float(np.mean(view.dendrogram().leaf_positions))
    return view.plot.mapFromScene(box.mapViewToScene(QPointF(x, y)))


def test_dragging_the_cut_line_recuts_into_the_groups_it_crosses(qtbot, window):
    model, view = window.session.model, window.dendrogram
    window.tabs.setCurrentWidget(view)
    qtbot.waitExposed(view.plot)
    first = model.group_count()
    d = view.dendrogram()
    assert view.cut_line.isVisible() and view.cut_line.value() == pytest.approx(d.cut_height(first))
    assert d.groups_at(view.cut_line.value()) == first
    target = 2 if first != 2 else 3
    start, end = _line_point(view, d.cut_height(first)), _line_point(view, d.cut_height(target))
    viewport = view.plot.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in np.linspace(0, 1, 8)[1:]:
        QTest.mouseMove(viewport, start + (end - start) * float(step))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert model.group_count() == target == window.grid.groups.value()
    assert model.undo_text() == f"Cut into {target} groups"
    # Snapped to the middle of its gap; links coloured by the new clusters.
    assert view.cut_line.value() == pytest.approx(view.dendrogram().cut_height(target))
    assert set(view.dendrogram().colours.tolist()) - {-1} <= set(model.book.clusters())
    window.actions_by_name["undo"].trigger()
    assert view.cut_line.value() == pytest.approx(view.dendrogram().cut_height(first))


def test_the_grid_control_moves_the_cut_line(qtbot, window):
    view = window.dendrogram
    window.grid.groups.spin.setValue(5)
    assert view.groups() == 5 and view.dendrogram().groups_at(view.cut_line.value()) == 5
    assert view.cut_line.label.format == "5 groups"


def test_each_leaf_shows_its_medoid_thumbnail_beside_its_name_and_size(qtbot, window):
    session, view = window.session, window.dendrogram
    window.tabs.setCurrentWidget(view)
    qtbot.waitExposed(view.plot)
    d, library = view.dendrogram(), session.library
    assert len(view.axis.leaves) == len(d.leaf_positions) == len(d.leaf_images)
    for (_, path, digest), members, image in zip(view.axis.leaves, d.leaf_members, d.leaf_images):
        assert image in members.tolist() and path == library.paths[image] and digest == library.hashes[image]
    assert MIN_THUMB <= view.axis.thumb_side() <= THUMB
    loader = window.thumbnails
    qtbot.waitUntil(lambda: all(loader.pixmap(path, digest) is not None for _, path, digest in view.axis.leaves),
                    timeout=20_000)
    # The thumbnail is painted between the leaf's text and the tree: not the plot's plain background there.
    shot = view.grab().toImage()
    box = view.plot.getPlotItem().getViewBox()
    background = view.plot.backgroundBrush().color()
    y, _, _ = view.axis.leaves[0]
    centre = view.plot.mapTo(view, view.plot.mapFromScene(box.mapViewToScene(QPointF(0, y))))
    right = view.plot.mapTo(view, view.plot.mapFromScene(view.axis.mapToScene(view.axis.boundingRect().topRight())))
    painted = [QColor(shot.pixel(x, centre.y())) for x in range(right.x() - THUMB, right.x() - 6)]
    assert any(colour != background for colour in painted)
    assert view._leaf_texts(d)[0].startswith(session.book.identity(int(d.leaf_colours[0])).full_name)


def test_without_a_tree_the_control_is_off_and_says_why(qtbot, tmp_path, sample_folder):
    window = _window(qtbot, tmp_path, sample_folder,
                     Settings(feature_mode="colour", cluster_method="kmeans", cluster_k=4))
    control = window.grid.groups
    qtbot.waitUntil(lambda: window.session.model.group_count() == 4, timeout=30_000)
    assert not control.isEnabled() and control.toolTip() == NO_TREE and control.value() == 4
    assert control.slider.isHidden()
    assert not window.dendrogram.cut_line.isVisible()
    window.grid.clear()
    assert not control.isEnabled() and control.toolTip() == NO_CLUSTERS
    window.close()
