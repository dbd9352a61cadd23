"""Tags, ratings and colour labels in the window: the rating keys, the context menu, the badges, and the
filter bar that hides non-matching thumbnails in the grid and dims them on the map."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from organizer.folder import load_annotations
from organizer.gui.clusters.cluster_grid_model import ANNOTATION_ROLE
from organizer.gui.menus import image_menu
from organizer.storage.annotations import Annotation

from .test_window_defects import _folder, _open, window  # noqa: F401 - the window fixture these tests share


@pytest.fixture
def opened(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    window.tabs.setCurrentWidget(window.grid)
    return window


def _saved(window) -> list[Annotation]:
    window.session._writer.flush(5)
    return load_annotations(window.session.model.cache_path, window.session.library)


def test_digit_keys_rate_the_selection_and_undo_restores(qtbot, opened):
    window = opened
    window.set_selection([1, 4])
    view = window.grid.view()
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_4)
    notes = window.session.model.annotations
    assert [notes[i].rating for i in range(9)] == [0, 4, 0, 0, 4, 0, 0, 0, 0]
    row = int(window.grid.model.rows_of_images([4])[0])
    assert window.grid.model.index(row).data(ANNOTATION_ROLE).rating == 4  # what the delegate draws
    assert _saved(window)[4].rating == 4
    QTest.keyClick(view, Qt.Key.Key_0)
    assert window.session.model.annotations[1].rating == 0
    window.actions_by_name["undo"].trigger()
    assert window.session.model.annotations[1].rating == 4


def test_the_context_menu_labels_and_tags_the_selection(qtbot, opened, monkeypatch):
    window = opened
    window.set_selection([0, 2])
    menu = image_menu(window, 0, [0, 2])
    titles = {action.text(): action for action in menu.actions()}
    assert {"Rating", "Colour Label", "Add Tag…", "Remove Tag"} <= set(titles)
    red = next(a for a in titles["Colour Label"].menu().actions() if a.text() == "Red")
    red.trigger()
    monkeypatch.setattr("organizer.gui.menus.QInputDialog.getText", lambda *a, **k: ("florals", True))
    titles["Add Tag…"].trigger()
    notes = window.session.model.annotations
    assert notes[0] == notes[2] == Annotation(("florals",), 0, "red")
    three = next(a for a in titles["Rating"].menu().actions() if a.text().endswith("\t3"))
    three.trigger()
    assert window.session.model.annotations[2].rating == 3
    remove = image_menu(window, 0, [0, 2]).actions()
    remove_menu = next(a for a in remove if a.text() == "Remove Tag").menu()
    assert [a.text() for a in remove_menu.actions()] == ["florals"]


def test_the_filter_bar_hides_thumbnails_in_the_grid_and_dims_them_on_the_map(qtbot, opened):
    window = opened
    session, bar = window.session, window.filter_bar
    session.model.add_tag([2, 5], "Florals")
    session.model.set_rating([5, 7], 5)
    session.model.set_label([7], "blue")
    assert window.grid.shown_images() == list(range(9))
    bar.search.setText("flor")
    assert window.grid.shown_images() == [2, 5]
    assert window.map_view.fade.shown.tolist() == [i in (2, 5) for i in range(9)]
    bar.rating.setCurrentIndex(bar.rating.findData(5))
    assert window.grid.shown_images() == [5]
    bar.search.clear()
    bar.label.setCurrentIndex(bar.label.findData("blue"))
    assert window.grid.shown_images() == [7]
    assert "1 of 9 images" in window.grid.summary.text()
    session.model.set_label([5], "blue")  # an edit shows at once under the filter
    assert window.grid.shown_images() == [5, 7]
    label = int(session.book.labels[5])
    bar.clear()
    bar.cluster.setCurrentIndex(bar.cluster.findData(label))
    assert window.grid.shown_images() == np.flatnonzero(session.book.labels == label).tolist()
    bar.clear()
    assert window.grid.shown_images() == list(range(9))
    assert window.map_view.fade.shown is None
