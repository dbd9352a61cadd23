"""The find-similar results: the query, then its nearest images with their scores and clusters.

For a query from outside the folder, "Search part of it…" opens the picture to draw a region
on (the print on a garment, not the garment), and searches with that part only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QModelIndex, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout,
                               QWidget)

from ...analysis.identity import ClusterIdentity
from ..dialogs.region_dialog import RegionDialog
from ..thumbnails import ThumbnailLoader
from .similar_results import MAX_COLUMNS, MIN_COLUMNS, ResultsView, ResultsModel
from .similar_search import SimilarResult, reranking_label

QUERY_SIDE = 96

#: What the panel says while it shows no search.
HINT = "Right-click an image and choose Find similar,\nor drop an image file on the window."


class SimilarPanel(QWidget):
    selection_changed = Signal(list)
    context_requested = Signal(int, QPoint)
    activated = Signal(int)
    #: A result was clicked or reached with the arrow keys: the folder's image, for the map to bring into view.
    result_chosen = Signal(int)
    #: The search shown: the query's image in the folder (None for an outside file) and the results'
    #: images, best first; (None, []) once the panel is cleared.
    results_shown = Signal(object, list)
    #: A new search asked for here: the outside file and the part of it (None for all of it).
    search_requested = Signal(object, object)
    columns_changed = Signal(int)

    def __init__(self, thumbnails: ThumbnailLoader, columns: int = 2, parent: QWidget | None = None):
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._query_icon = QLabel()
        self._query_icon.setFixedSize(QUERY_SIDE, QUERY_SIDE)
        self._query_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._title = QLabel(HINT)
        self._title.setWordWrap(True)
        self.region_button = QPushButton("Search part of it…")
        self.region_button.setToolTip("Draw a box around the part to search with: the print on a garment, "
                                      "not the garment")
        self.region_button.clicked.connect(self.choose_region)
        self.region_button.hide()
        about = QVBoxLayout()
        about.addWidget(self._title, 1)
        about.addWidget(self.region_button, 0, Qt.AlignmentFlag.AlignLeft)
        header = QHBoxLayout()
        header.addWidget(self._query_icon, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(about, 1)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(MIN_COLUMNS, MAX_COLUMNS)
        self.slider.setToolTip("Thumbnails per row (Ctrl+wheel over the results); a wider panel, larger thumbnails")
        # Dragged with the mouse, never focused: arrow keys move through the results.
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._columns_label = QLabel()
        self._columns_label.setMinimumWidth(16)
        bar = QHBoxLayout()
        bar.addStretch(1)
        for widget in (QLabel("Columns"), self.slider, self._columns_label):
            bar.addWidget(widget)

        self.model = ResultsModel(thumbnails)
        self.list = ResultsView()
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        self.list.doubleClicked.connect(lambda index: self.activated.emit(self.model.image_index(index.row())))
        self.list.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit(self.selection()))
        self.list.columns_wheeled.connect(self.set_columns)
        self.slider.valueChanged.connect(self._apply_columns)
        self.slider.valueChanged.connect(self.columns_changed)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(bar)
        layout.addWidget(self.list, 1)
        self._query: SimilarResult | None = None
        self._query_hashes: list[str] = []
        self.set_columns(columns)
        self._apply_columns(self.slider.value())
        thumbnails.ready.connect(self._query_thumbnail_ready)

    # columns ----------------------------------------------------------------------------
    def columns(self) -> int:
        return self.list.columns

    def set_columns(self, columns: int) -> None:
        self.slider.setValue(max(MIN_COLUMNS, min(MAX_COLUMNS, int(columns))))

    def _apply_columns(self, columns: int) -> None:
        self.list.set_columns(columns)
        self._columns_label.setText(str(columns))

    # the search shown -------------------------------------------------------------------
    def show_result(self, result: SimilarResult, paths: list[Path], hashes: list[str]) -> None:
        self._query = result
        self._query_hashes = hashes
        self.model.set_results(result.matches, paths, hashes)
        where = "" if result.query_index is not None else " (from outside the folder)"
        part = "part of " if result.region is not None else ""
        # A re-ranking changes what the scores are (an index's distance, or a smoothed similarity): say which.
        ranked = f"<br><i>re-ranked by {reranking_label(result.reranked_by)}</i>" if result.reranked_by else ""
        query = f"{part}{result.query_path.name}{where}"
        self._title.setText(f"<b>{len(result.matches)} images like</b><br>{query}{ranked}")
        self._title.setToolTip(str(result.query_path))
        self.region_button.setVisible(result.query_thumbnail is not None and result.query_size is not None)
        self._query_icon.clear()  # not the previous query's icon while this one's thumbnail loads
        self._show_query_icon()
        self.results_shown.emit(result.query_index, [image for image, _ in result.matches])

    def _show_query_icon(self) -> None:
        result, pixmap = self._query, None
        if result.query_index is not None:
            pixmap = self._thumbnails.pixmap(result.query_path, self._query_hashes[result.query_index])
        elif result.query_thumbnail is not None:  # an outside file's, made off the GUI thread with the search
            pixmap = QPixmap.fromImage(_part(QImage.fromData(result.query_thumbnail), result))
        if pixmap is not None and not pixmap.isNull():
            self._query_icon.setPixmap(pixmap.scaled(QUERY_SIDE, QUERY_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))

    def _query_thumbnail_ready(self, digest: str) -> None:
        # Only a folder image's icon waits for the loader; an outside query's is shown at once or never.
        result = self._query
        if result is not None and result.query_index is not None and self._query_hashes[result.query_index] == digest:
            self._show_query_icon()

    def choose_region(self) -> None:
        """Open the outside query's picture to draw the part to search with, then ask for that search."""
        result = self._query
        if result is None or result.query_thumbnail is None or result.query_size is None:
            return
        dialog = RegionDialog(QImage.fromData(result.query_thumbnail), result.query_size, result.region,
                              result.query_path.name, self)
        if dialog.exec():
            self.search_requested.emit(result.query_path, dialog.region())

    def set_clusters(self, labels: np.ndarray, identities: dict[int, ClusterIdentity]) -> None:
        """The folder's clusters, which each result is framed in the colour of and captioned with."""
        self.model.set_clusters(labels, identities)

    def results(self) -> list[tuple[int, float]]:
        return list(self.model.rows)

    def query(self) -> SimilarResult | None:
        return self._query

    def selection(self) -> list[int]:
        return [self.model.image_index(i.row()) for i in self.list.selectionModel().selectedIndexes()]

    def clear_for_scan(self, slot: str, _words: str = "") -> None:
        """Clear at the start of a scan: after it the results' indices name other images, and
        after a change of mode they were found by vectors the folder no longer has."""
        if slot == "scan":
            self.clear()

    def clear(self) -> None:
        self._title.setText(HINT)
        self._title.setToolTip("")
        self._query = None
        self.region_button.hide()
        self.model.set_results([], [], [])
        self.model.set_clusters(np.zeros(0, dtype=np.int64), {})
        self._query_icon.clear()
        self.results_shown.emit(None, [])

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():  # not the reset of a new search
            self.result_chosen.emit(self.model.image_index(current.row()))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        if index.isValid():
            self.context_requested.emit(self.model.image_index(index.row()), self.list.viewport().mapToGlobal(pos))


def _part(preview: QImage, result: SimilarResult) -> QImage:
    """The part of an outside query's ``preview`` that was searched with: its region, scaled to the preview."""
    if result.region is None or result.query_size is None or preview.isNull():
        return preview
    scale = preview.width() / result.query_size[0]
    x, y, w, h = (round(v * scale) for v in result.region)
    return preview.copy(QRect(x, y, max(1, w), max(1, h)))
