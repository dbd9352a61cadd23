"""The similar panel's list of results: each thumbnail framed in its cluster's colour, captioned
with its file name, its cluster (the grid's numbered disc and name) and its score, at a size that
follows the panel's width and the chosen number of columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ...analysis.identity import ClusterIdentity, identity_in
from ..clusters.annotation_badges import paint_cluster_disc
from ..palette import tone_colour
from ..thumbnails import ThumbnailLoader

AnyIndex = QModelIndex | QPersistentModelIndex
SCORE_ROLE = Qt.ItemDataRole.UserRole + 1
IDENTITY_ROLE = Qt.ItemDataRole.UserRole + 2
FRAME = 3  # the cluster colour's frame around a result, as on the map
PAD = 6
MIN_SIDE = 48  # below this a thumbnail says nothing, so the columns give way
MIN_COLUMNS, MAX_COLUMNS = 1, 6


class ResultsModel(QAbstractListModel):
    """The matches of one search, best first, with the folder's clusters to caption them."""

    def __init__(self, thumbnails: ThumbnailLoader) -> None:
        super().__init__()
        self._thumbnails = thumbnails
        self.rows: list[tuple[int, float]] = []
        self._paths: list[Path] = []
        self._hashes: list[str] = []
        self._labels = np.zeros(0, dtype=np.int64)
        self._identities: dict[int, ClusterIdentity] = {}
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_results(self, rows: list[tuple[int, float]], paths: list[Path], hashes: list[str]) -> None:
        self.beginResetModel()
        self.rows, self._paths, self._hashes = list(rows), paths, hashes
        self.endResetModel()

    def set_clusters(self, labels: np.ndarray, identities: dict[int, ClusterIdentity]) -> None:
        """The folder's clusters (a label per image, identities by label), to name and frame each result's."""
        self._labels, self._identities = np.asarray(labels, dtype=np.int64), dict(identities)
        if self.rows:
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1))

    def identity(self, image: int) -> ClusterIdentity | None:
        """The cluster of the folder's ``image``, or None before the folder is clustered."""
        if not 0 <= image < len(self._labels):
            return None
        label = int(self._labels[image])
        return identity_in(self._identities, label)

    def image_index(self, row: int) -> int:
        return self.rows[row][0]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole):
        image, score = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._paths[image].name
        if role == SCORE_ROLE:
            return score
        if role == IDENTITY_ROLE:
            return self.identity(image)
        if role == Qt.ItemDataRole.ToolTipRole:
            identity = self.identity(image)
            return (f"{self._paths[image].name}\nsimilarity {score:.3f}"
                    + ("" if identity is None else f"\n{identity.full_name}"))
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnails.pixmap(self._paths[image], self._hashes[image])
        return None

    def _thumbnail_ready(self, digest: str) -> None:
        for row, (image, _) in enumerate(self.rows):
            if self._hashes[image] == digest:
                self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.DecorationRole])


def caption_height(font_height: int) -> int:
    """The two caption lines under a thumbnail: the file name, then the cluster and the score."""
    return 2 * font_height + 10


@dataclass(frozen=True)
class Caption:
    """Where a result's parts go in its cell, and the texts as they fit: all of the caption under the thumbnail."""

    square: QRect
    name: str
    name_rect: QRect
    score: str
    score_rect: QRect
    cluster: str
    cluster_rect: QRect
    disc: QRect


class ResultsDelegate(QStyledItemDelegate):
    """Paints a result: the thumbnail in a square ``side`` wide, its caption beneath, never over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.side = 120
        self._scaled: dict[tuple[int, int], QPixmap] = {}  # (pixmap key, side): scrolling repaints every cell

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(self.side + 2 * PAD, self.side + 2 * PAD + caption_height(option.fontMetrics.height()))

    def caption(self, option: QStyleOptionViewItem, index: AnyIndex) -> Caption:
        """The layout of ``index``'s cell: the file name elided in the middle (its start and extension stay),
        then the cluster's disc and name at the left and the score at the right."""
        metrics = option.fontMetrics
        square = QRect(option.rect.left() + PAD, option.rect.top() + PAD, self.side, self.side)
        name_rect = QRect(square.left(), square.bottom() + 5, self.side, metrics.height())
        name = metrics.elidedText(index.data(), Qt.TextElideMode.ElideMiddle, name_rect.width())
        bold = QFont(option.font)
        bold.setBold(True)
        score = f"{index.data(SCORE_ROLE):.2f}"
        score_width = QFontMetrics(bold).horizontalAdvance(score) + 2
        line = name_rect.translated(0, metrics.height() + 2)
        score_rect = QRect(line.right() - score_width + 1, line.top(), score_width, line.height())
        identity: ClusterIdentity | None = index.data(IDENTITY_ROLE)
        number = "" if identity is None or identity.number is None else str(identity.number)
        # A disc for one digit, a pill for more; nothing for an image of no cluster yet.
        disc_width = max(line.height(), QFontMetrics(_disc_font(option.font)).horizontalAdvance(number) + 8)
        disc = QRect(line.left(), line.top(), disc_width if identity is not None else 0, line.height())
        cluster_rect = QRect(disc.right() + 5, line.top(), max(0, score_rect.left() - disc.right() - 11), line.height())
        cluster = "" if identity is None else metrics.elidedText(identity.name, Qt.TextElideMode.ElideRight,
                                                                   cluster_rect.width())
        return Caption(square, name, name_rect, score, score_rect, cluster, cluster_rect, disc)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected or option.state & QStyle.StateFlag.State_MouseOver:
            highlight = QColor(palette.color(palette.ColorRole.Highlight))
            highlight.setAlpha(90 if selected else 35)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(highlight)
            painter.drawRoundedRect(option.rect.adjusted(2, 2, -2, -2), 6, 6)
        identity: ClusterIdentity | None = index.data(IDENTITY_ROLE)
        caption = self.caption(option, index)
        self._paint_thumbnail(painter, caption.square, index.data(Qt.ItemDataRole.DecorationRole), identity)
        painter.setPen(palette.color(palette.ColorRole.Text))
        painter.drawText(caption.name_rect, Qt.AlignmentFlag.AlignCenter, caption.name)
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(caption.score_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         caption.score)
        if identity is not None:
            self._paint_cluster(painter, caption, identity, option)
        painter.restore()

    def _paint_thumbnail(self, painter: QPainter, square: QRect, pixmap: QPixmap | None,
                         identity: ClusterIdentity | None) -> None:
        inner = square.adjusted(FRAME, FRAME, -FRAME, -FRAME)
        if pixmap is None or pixmap.isNull():
            painter.fillRect(inner, QColor(128, 128, 128, 60))  # until the loader delivers it
            return
        key = (pixmap.cacheKey(), inner.width())
        if key not in self._scaled:
            if len(self._scaled) > 512:
                self._scaled.clear()
            self._scaled[key] = pixmap.scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)
        scaled = self._scaled[key]
        place = QRectF(0, 0, scaled.width(), scaled.height())
        place.moveCenter(QRectF(square).center())
        painter.drawPixmap(place.topLeft(), scaled)
        if identity is not None:
            pen = QPen(QColor(identity.colour), FRAME)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(place.adjusted(-FRAME / 2, -FRAME / 2, FRAME / 2, FRAME / 2))

    @staticmethod
    def _paint_cluster(painter: QPainter, caption: Caption, identity: ClusterIdentity,
                       option: QStyleOptionViewItem) -> None:
        """The grid's numbered disc in the cluster's colour, then its name."""
        paint_cluster_disc(painter, caption.disc.adjusted(1, 1, -1, -1), identity, _disc_font(option.font))
        painter.setFont(option.font)
        painter.setPen(tone_colour(option.palette, "muted"))
        painter.drawText(caption.cluster_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         caption.cluster)


def _disc_font(font: QFont) -> QFont:
    """The cluster number's font in its disc: bold, a little smaller than the caption's."""
    small = QFont(font)
    small.setBold(True)
    small.setPointSizeF(font.pointSizeF() * 0.8)
    return small


class ResultsView(QListView):
    """The results in ``columns`` columns that share the panel's width: a wider panel, larger thumbnails.

    Ctrl+wheel asks for one column fewer (larger) or more (smaller) through ``columns_wheeled``.
    """

    columns_wheeled = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = 2
        self.delegate = ResultsDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always there: a bar that came and went as rows grew would change the width, then the rows.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)

    def set_columns(self, columns: int) -> None:
        self.columns = max(MIN_COLUMNS, min(MAX_COLUMNS, int(columns)))
        self._fit()

    def thumbnail_side(self) -> int:
        return self.delegate.side

    def resizeEvent(self, event) -> None:
        self._fit()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = 1 if event.angleDelta().y() < 0 else -1  # as in an image viewer: wheel up, larger
            self.columns_wheeled.emit(self.columns + step)
            event.accept()
            return
        super().wheelEvent(event)

    def _fit(self) -> None:
        """Share the viewport's width among the columns (fewer when they would be too narrow)."""
        width = self.viewport().width() - 2
        columns = self.columns
        while columns > 1 and width // columns - 2 * PAD < MIN_SIDE:
            columns -= 1
        cell = max(MIN_SIDE + 2 * PAD, width // columns)
        side = cell - 2 * PAD
        grid = QSize(cell, side + 2 * PAD + caption_height(self.fontMetrics().height()))
        if side != self.delegate.side or grid != self.gridSize():
            self.delegate.side = side
            self.setGridSize(grid)
            self.doItemsLayout()
