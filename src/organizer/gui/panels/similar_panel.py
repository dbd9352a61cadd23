"""The find-similar results: the query, then its nearest images with their scores and clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QListView, QVBoxLayout, QWidget

from ...analysis.identity import ClusterIdentity, identify
from ..thumbnails import ThumbnailLoader
from .similar_search import SimilarResult

CELL = 112
QUERY_SIDE = 96
FRAME = 3  # the cluster colour's frame around a result, as on the map

#: What the panel says while it shows no search.
HINT = "Right-click an image and choose Find similar,\nor drop an image file on the window."


class _ResultsModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailLoader):
        super().__init__()
        self._thumbnails = thumbnails
        self._rows: list[tuple[int, float]] = []
        self._paths: list[Path] = []
        self._hashes: list[str] = []
        self._labels = np.zeros(0, dtype=np.int64)
        self._identities: dict[int, ClusterIdentity] = {}
        self._icons: dict[tuple[str, str], QIcon] = {}
        self._placeholder = QPixmap(CELL, CELL)
        self._placeholder.fill(QColor(128, 128, 128, 60))
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_results(self, rows: list[tuple[int, float]], paths: list[Path], hashes: list[str]) -> None:
        self.beginResetModel()
        self._rows, self._paths, self._hashes = rows, paths, hashes
        self._icons.clear()
        self.endResetModel()

    def set_clusters(self, labels: np.ndarray, identities: dict[int, ClusterIdentity]) -> None:
        """The folder's clusters (a label per image, identities by label), to name and frame each result's."""
        self._labels, self._identities = np.asarray(labels, dtype=np.int64), dict(identities)
        self._icons.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def identity(self, image: int) -> ClusterIdentity | None:
        """The cluster of the folder's ``image``, or None before the folder is clustered."""
        if not 0 <= image < len(self._labels):
            return None
        label = int(self._labels[image])
        return self._identities.get(label) or identify(label, {})

    def image_index(self, row: int) -> int:
        return self._rows[row][0]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        image, score = self._rows[index.row()]
        identity = self.identity(image)
        cluster = "" if identity is None else identity.full_name
        if role == Qt.DisplayRole:
            return f"{score:.2f}  {self._paths[image].stem[:14]}" + (f"\n{cluster}" if cluster else "")
        if role == Qt.ToolTipRole:
            return f"{self._paths[image].name}\nsimilarity {score:.3f}" + (f"\n{cluster}" if cluster else "")
        if role == Qt.DecorationRole:
            return self._icon(image, identity)
        return None

    def _icon(self, image: int, identity: ClusterIdentity | None) -> QIcon:
        """The thumbnail framed in its cluster's colour; an icon, not the pixmap: the view scales icons to its
        icon size, not pixmaps."""
        pixmap = self._thumbnails.pixmap(self._paths[image], self._hashes[image])
        if pixmap is None:
            return QIcon(self._placeholder)
        if identity is None:
            return QIcon(pixmap)
        key = (self._hashes[image], identity.colour)
        if key not in self._icons:
            self._icons[key] = QIcon(_framed(pixmap, QColor(identity.colour)))
        return self._icons[key]

    def _thumbnail_ready(self, digest: str) -> None:
        for row, (image, _) in enumerate(self._rows):
            if self._hashes[image] == digest:
                self.dataChanged.emit(self.index(row), self.index(row), [Qt.DecorationRole])


def _framed(pixmap: QPixmap, colour: QColor) -> QPixmap:
    """``pixmap`` fitted into a CELL square, inside a frame of ``colour``."""
    scaled = pixmap.scaled(CELL - 2 * FRAME, CELL - 2 * FRAME, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    framed = QPixmap(CELL, CELL)
    framed.fill(Qt.transparent)
    place = QRectF(0, 0, scaled.width(), scaled.height())
    place.moveCenter(QRectF(framed.rect()).center())
    painter = QPainter(framed)
    painter.drawPixmap(place.topLeft(), scaled)
    pen = QPen(colour, FRAME)
    pen.setJoinStyle(Qt.MiterJoin)
    painter.setPen(pen)
    painter.drawRect(place.adjusted(-FRAME / 2, -FRAME / 2, FRAME / 2, FRAME / 2))
    painter.end()
    return framed


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
        self._title = QLabel(HINT)
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
        # Two caption lines: the score and file, then the cluster.
        self.list.setGridSize(QSize(CELL + 12, CELL + 12 + 2 * self.fontMetrics().lineSpacing()))
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

    def set_clusters(self, labels: np.ndarray, identities: dict[int, ClusterIdentity]) -> None:
        """The folder's clusters, which each result is framed in the colour of and captioned with."""
        self.model.set_clusters(labels, identities)

    def results(self) -> list[tuple[int, float]]:
        return list(self.model._rows)

    def selection(self) -> list[int]:
        return [self.model.image_index(i.row()) for i in self.list.selectionModel().selectedIndexes()]

    def clear_for_scan(self, slot: str, _words: str = "") -> None:
        """Clear at the start of a scan: after it the results' indices name other images, and
        after a change of mode they were found by vectors the folder no longer has."""
        if slot == "scan":
            self.clear()

    def clear(self) -> None:
        self._title.setText(HINT)
        self._query = None
        self.model.set_results([], [], [])
        self.model.set_clusters(np.zeros(0, dtype=np.int64), {})
        self._query_icon.clear()

    def _context_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        if index.isValid():
            self.context_requested.emit(self.model.image_index(index.row()), self.list.viewport().mapToGlobal(pos))
