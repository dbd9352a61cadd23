"""The map's legend: one row per cluster with the grid's number, name and colour; a click shows only that cluster."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QPalette

from .test_window_defects import _folder, _open, window  # noqa: F401 - the window fixture these tests share


def test_the_legend_lists_every_cluster_as_the_grid_numbers_and_colours_it(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    book, legend = window.session.book, window.legend
    identities = book.identities()
    assert legend.isVisible() and legend.count() == len(identities)
    for row, (label, identity) in enumerate(identities.items()):
        item = legend.item(row)
        assert item.text().startswith(f"{identity.number} · {identity.name}")
        assert f"({book.size(label)})" in item.text()
        assert item.icon().pixmap(8, 8).toImage().pixelColor(4, 4).name() == identity.colour
    # After a rename the legend says the new name.
    label = next(iter(identities))
    window.session.rename(label, "Stripes")
    assert "Stripes" in legend.item(0).text()


def test_a_click_shows_only_that_cluster_and_a_second_click_shows_all(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    book, legend = window.session.book, window.legend
    label = book.clusters()[0]
    shown = []
    window.filter_bar.shown_changed.connect(shown.append)
    legend.itemClicked.emit(legend.item(0))
    assert window.filter_bar.cluster.currentData() == label
    assert np.array_equal(np.flatnonzero(shown[-1]), book.members(label))
    assert legend.item(0).isSelected()
    legend.itemClicked.emit(legend.item(0))
    assert window.filter_bar.cluster.currentData() is None and shown[-1] is None
    assert not legend.item(0).isSelected()


def test_the_legend_is_opaque_in_the_themes_colour(qtbot, window, tmp_path):
    _open(qtbot, window, _folder(tmp_path, 9), 9)
    dark = QPalette(window.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e8eaed"))
    window.setPalette(dark)
    image = window.legend.grab().toImage()
    # Inside the border, below the last row's text: the legend's own background, nothing from under it.
    assert image.pixelColor(image.width() - 4, image.height() - 4).name() == "#202124"
