"""The find-similar results: the query, then its nearest images with their scores."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QListView, QVBoxLayout, QWidget

from ..thumbnails import ThumbnailLoader
from .similar_search import SimilarResult

CELL = 112
QUERY_SIDE = 96


class _ResultsModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailLoader):
        super().__init__()
        self._thumbnails = thumbnails
        self._rows: list[tuple[int, float]] = []
        self._paths: list[Path] = []
        self._hashes: list[str] = []
        self._placeholder = QPixmap(CELL, CELL)
        self._placeholder.fill(QColor(128, 128, 128, 60))
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_results(self, rows: list[tuple[int, float]], paths: list[Path], hashes: list[str]) -> None:
        self.beginResetModel()
        self._rows, self._paths, self._hashes = rows, paths, hashes
        self.endResetModel()

    def image_index(self, row: int) -> int:
        return self._rows[row][0]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        image, score = self._rows[index.row()]
        if role == Qt.DisplayRole:
            return f"{score:.2f}  {self._paths[image].stem[:14]}"
        if role == Qt.ToolTipRole:
            return f"{self._paths[image].name}\nsimilarity {score:.3f}"
        if role == Qt.DecorationRole:
            pixmap = self._thumbnails.pixmap(self._paths[image], self._hashes[image])
            # An icon, not the pixmap: the view scales icons to its icon size, not pixmaps.
            return QIcon(pixmap if pixmap is not None else self._placeholder)
        return None

    def _thumbnail_ready(self, digest: str) -> None:
        for row, (image, _) in enumerate(self._rows):
            if self._hashes[image] == digest:
                self.dataChanged.emit(self.index(row), self.index(row), [Qt.DecorationRole])


class SimilarPanel(QWidget):
    selection_changed = Signal(list)
    context_requested = Signal(int, QPoint)
    activated = Signal(int)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None):
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._query_icon = QLabel()
        self._query_icon.setFixedSize(QUERY_SIDE, QUERY_SIDE)
        self._query_icon.setAlignment(Qt.AlignCenter)
        self._title = QLabel("Right-click an image and choose Find similar,\nor drop an image file on the window.")
        self._title.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(self._query_icon)
        header.addWidget(self._title, 1)

        self.model = _ResultsModel(thumbnails)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setViewMode(QListView.IconMode)
        self.list.setResizeMode(QListView.Adjust)
        self.list.setMovement(QListView.Static)
        self.list.setUniformItemSizes(True)
        self.list.setIconSize(QSize(CELL, CELL))
        self.list.setGridSize(QSize(CELL + 12, CELL + 28))
        self.list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.doubleClicked.connect(lambda index: self.activated.emit(self.model.image_index(index.row())))
        self.list.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit(self.selection()))

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        self._query: SimilarResult | None = None
        thumbnails.ready.connect(self._query_thumbnail_ready)

    def show_result(self, result: SimilarResult, paths: list[Path], hashes: list[str]) -> None:
        self._query = result
        self._query_hashes = hashes
        self.model.set_results(result.matches, paths, hashes)
        where = "" if result.query_index is not None else " (from outside the folder)"
        self._title.setText(f"<b>{len(result.matches)} images like</b><br>{result.query_path.name}{where}")
        self._query_icon.clear()  # not the previous query's icon while this one's thumbnail loads
        self._show_query_icon()

    def _show_query_icon(self) -> None:
        result, pixmap = self._query, None
        if result.query_index is not None:
            pixmap = self._thumbnails.pixmap(result.query_path, self._query_hashes[result.query_index])
        elif result.query_thumbnail is not None:  # an outside file's, made off the GUI thread with the search
            pixmap = QPixmap.fromImage(QImage.fromData(result.query_thumbnail))
        if pixmap is not None and not pixmap.isNull():
            self._query_icon.setPixmap(pixmap.scaled(QUERY_SIDE, QUERY_SIDE, Qt.KeepAspectRatio,
                                                     Qt.SmoothTransformation))

    def _query_thumbnail_ready(self, digest: str) -> None:
        # Only a folder image's icon waits for the loader; an outside query's is shown at once or never.
        result = self._query
        if result is not None and result.query_index is not None and self._query_hashes[result.query_index] == digest:
            self._show_query_icon()

    def results(self) -> list[tuple[int, float]]:
        return list(self.model._rows)

    def selection(self) -> list[int]:
        return [self.model.image_index(i.row()) for i in self.list.selectionModel().selectedIndexes()]

    def clear(self) -> None:
        self._query = None
        self.model.set_results([], [], [])
        self._query_icon.clear()

    def _context_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        if index.isValid():
            self.context_requested.emit(self.model.image_index(index.row()), self.list.viewport().mapToGlobal(pos))
