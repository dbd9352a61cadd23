"""The cluster grid: every cluster as a section of thumbnails under a full-width header.

One flat list model holds header rows and image rows; a wrapping QListView lays them out
and a delegate sizes headers as wide as a line, which forces the line break. There are no
per-item widgets, so rebuilding after an edit is a model reset, and a thumbnail is asked
for only when its cell is painted: 10,000 images scroll as smoothly as 100.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import (QAbstractListModel, QItemSelection, QItemSelectionModel, QMimeData, QModelIndex,
                            QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal)
from PySide6.QtGui import (QColor, QContextMenuEvent, QDrag, QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent,
                           QDropEvent, QPainter, QPainterPath, QPaintEvent, QPalette, QPen, QPixmap)
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListView, QSlider, QStyle,
                               QStyledItemDelegate, QStyleOptionViewItem, QVBoxLayout, QWidget)

from ..core.edits import ClusterBook
from .palette import cluster_colour
from .thumbnails import ThumbnailLoader

MIME = "application/x-pattern-organizer-images"
MIN_COLUMNS, MAX_COLUMNS, DEFAULT_COLUMNS = 2, 16, 8
HEADER_HEIGHT = 54  # a 40 px band under a gap that separates the sections
Role, Colour = Qt.ItemDataRole, QPalette.ColorRole
LABEL_ROLE = Role.UserRole + 1  # the row's cluster label
IMAGE_ROLE = Role.UserRole + 2  # the row's image index; -1 on a header
BROKEN_ROLE = Role.UserRole + 3  # True when the image has no thumbnail
_Index = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft


class ClusterGridModel(QAbstractListModel):
    """Header and image rows. Drops are reported, never applied: the owner edits the book."""

    move_requested = Signal(list, int)

    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self._thumbnails = thumbnails
        self.clear()
        thumbnails.ready.connect(self._thumbnail_ready)

    def clear(self) -> None:
        self.set_data(ClusterBook(np.empty(0, np.int64)), {}, [], [])

    def set_data(self, book: ClusterBook, medoids: dict[int, int], paths: list[Path], hashes: list[str]) -> None:
        self.beginResetModel()
        labels = np.asarray(book.labels, dtype=np.int64)
        order = np.argsort(labels, kind="stable")  # members in index order within each cluster
        starts = dict(zip(*np.unique(labels[order], return_index=True)))
        pieces, self._header_rows, self._headers = [np.empty(0, np.int64)], {}, {}
        for label in book.clusters():
            members = order[starts[label]:starts[label] + book.size(label)]
            self._header_rows[label] = sum(map(len, pieces))
            pieces += [np.array([-1]), members]
            self._headers[label] = (f"{book.name(label)} · {len(members)} image{'s' * (len(members) != 1)}",
                                    medoids.get(label, int(members[0])))
        flat = np.concatenate(pieces)
        header_at = np.flatnonzero(flat < 0)
        # Plain lists, not arrays: data() and sizeHint() index them once per painted cell.
        self._rows = flat.tolist()
        self._row_labels = np.repeat(list(self._header_rows), np.diff(np.append(header_at, len(flat)))).tolist()
        self._image_rows = np.full(len(labels), -1, dtype=np.int64)
        self._image_rows[flat[flat >= 0]] = np.flatnonzero(flat >= 0)
        self._labels, self._paths, self._hashes = labels, paths, hashes
        # A loaded thumbnail repaints every row that shows it: duplicates, and medoids in headers.
        self._digest_rows: dict[str, list[int]] = {}
        for row, image in enumerate(self._rows):
            shown = image if image >= 0 else self._headers[self._row_labels[row]][1]
            self._digest_rows.setdefault(hashes[shown], []).append(row)
        self.endResetModel()

    # reading ----------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def cluster_count(self) -> int:
        return len(self._headers)

    def is_header(self, row: int) -> bool:
        return self._rows[row] < 0

    def image_at(self, row: int) -> int:
        return self._rows[row]

    def label_at(self, row: int) -> int:
        return self._row_labels[row]

    def header_row(self, label: int) -> int:
        return self._header_rows.get(label, -1)

    def rows_of_images(self, images) -> np.ndarray:
        """Rows showing ``images``, ascending; unknown indices are skipped."""
        images = np.asarray(images, dtype=np.int64).reshape(-1)
        images = images[(images >= 0) & (images < len(self._image_rows))]
        return np.unique(self._image_rows[images])

    def images_in_rows(self, rows) -> np.ndarray:
        picked = np.asarray(self._rows, dtype=np.int64)[np.asarray(rows, dtype=np.int64)]
        return np.unique(picked[picked >= 0])

    def data(self, index: _Index, role: int = Role.DisplayRole):
        image, label = self._rows[index.row()], self._row_labels[index.row()]
        shown = image if image >= 0 else self._headers[label][1]
        if role == IMAGE_ROLE:
            return image
        if role == LABEL_ROLE:
            return label
        if role == Role.DecorationRole:
            return self._thumbnails.pixmap(self._paths[shown], self._hashes[shown])
        if role == BROKEN_ROLE:
            return self._thumbnails.is_broken(self._hashes[shown])
        if role == Role.DisplayRole:
            return self._paths[image].name if image >= 0 else self._headers[label][0]
        if role == Role.ToolTipRole:
            return str(self._paths[image]) if image >= 0 else self._headers[label][0]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()] < 0:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
                | Qt.ItemFlag.ItemIsDropEnabled)

    # drag and drop ----------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:
        return [MIME]

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        mime.setData(MIME, self.images_in_rows([i.row() for i in indexes]).astype("<i8").tobytes())
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: _Index) -> bool:
        return bool(self._movable(data, row, parent)[0])

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: _Index) -> bool:
        images, target = self._movable(data, row, parent)
        if images:
            self.move_requested.emit(images, target)
        return bool(images)

    def _movable(self, data: QMimeData, row: int, parent: _Index) -> tuple[list[int], int]:
        """The dragged images not yet in the cluster under the drop, and that cluster."""
        target_row = parent.row() if parent.isValid() else row
        if not data.hasFormat(MIME) or not 0 <= target_row < len(self._rows):
            return [], 0
        target = self._row_labels[target_row]
        images = np.frombuffer(data.data(MIME).data(), dtype="<i8")
        images = images[(images >= 0) & (images < len(self._labels))]
        return images[self._labels[images] != target].tolist(), target

    def _thumbnail_ready(self, digest: str) -> None:
        for row in self._digest_rows.get(digest, ()):
            self.dataChanged.emit(self.index(row), self.index(row), [Role.DecorationRole])


class ClusterGridDelegate(QStyledItemDelegate):
    """Paints header bands and square thumbnail cells; keeps the scaled thumbnails it drew."""

    def __init__(self, view: "ClusterGridView"):
        super().__init__(view)
        self._view = view
        self.columns = DEFAULT_COLUMNS
        self._scaled: OrderedDict[tuple[int, int, int], QPixmap] = OrderedDict()

    def line_width(self) -> int:
        # QListView wraps an item that would reach the viewport's last pixel.
        return self._view.viewport().width() - 1

    def cell_side(self) -> int:
        return max(24, self.line_width() // self.columns)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        if index.model().is_header(index.row()):
            return QSize(self.line_width(), HEADER_HEIGHT)
        return QSize(self.cell_side(), self.cell_side())

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if index.data(IMAGE_ROLE) < 0:
            self._paint_header(painter, option, index)
        else:
            self._paint_cell(painter, option, index)
        painter.restore()

    def _paint_header(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        palette, label = option.palette, index.data(LABEL_ROLE)
        colour = cluster_colour(label)
        band = option.rect.adjusted(4, HEADER_HEIGHT - 42, -4, -2)
        target = self._view.drop_label == label
        painter.setPen(QPen(palette.color(Colour.Highlight), 2) if target else Qt.PenStyle.NoPen)
        painter.setBrush(_mix(palette.color(Colour.Base), colour, 0.14))
        painter.drawRoundedRect(band.adjusted(1, 1, -1, -1), 6, 6)
        painter.fillRect(QRect(band.left(), band.top() + 6, 4, band.height() - 12), colour)
        thumb = QRect(band.left() + 14, band.top() + 4, band.height() - 8, band.height() - 8)
        self.draw_thumbnail(painter, thumb, index, radius=4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(QRect(thumb.right() + 12, band.center().y() - 5, 10, 10))
        name, _, size = index.data().rpartition(" · ")
        text = band.adjusted(thumb.right() + 32 - band.left(), 0, -12, 0)
        font = option.font
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(Colour.Text))
        name = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, text.width() - 120)
        painter.drawText(text, _LEFT, name)
        text.setLeft(text.left() + painter.fontMetrics().horizontalAdvance(name) + 10)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(_muted(palette))
        painter.drawText(text, _LEFT, size)

    def _paint_cell(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        pad = max(2, option.rect.width() // 40)
        cell = option.rect.adjusted(pad, pad, -pad, -pad)
        self.draw_thumbnail(painter, cell, index, radius=5)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if not (selected or option.state & QStyle.StateFlag.State_MouseOver
                or self._view.drop_label == index.data(LABEL_ROLE)):
            return
        highlight = QColor(option.palette.color(Colour.Highlight))
        highlight.setAlpha(50 if selected else 140)
        if selected:  # tint the image too, so a selection reads at a glance at 16 columns
            painter.fillPath(_rounded(cell, 5), highlight)
            highlight.setAlpha(255)
        painter.setPen(QPen(highlight, 3.0 if selected else 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(cell.adjusted(1, 1, -1, -1), 5, 5)

    def draw_thumbnail(self, painter: QPainter, rect: QRect, index: _Index, radius: float) -> None:
        """The row's thumbnail cropped to ``rect``; grey while it loads, struck out if it cannot."""
        pixmap, path = index.data(Role.DecorationRole), _rounded(rect, radius)
        if pixmap is not None and not pixmap.isNull():
            painter.save()
            painter.setClipPath(path)
            painter.drawPixmap(rect, self._cover(pixmap, rect.size()))
            painter.restore()
            return
        palette = self._view.palette()
        painter.fillPath(path, _mix(palette.color(Colour.Base), _muted(palette), 0.18))
        if index.data(BROKEN_ROLE):
            side = max(8, min(rect.width(), rect.height()) // 3)
            mark, inset = QRect(0, 0, side, side), side // 7
            mark.moveCenter(rect.center())
            painter.setPen(QPen(_muted(palette), max(1.5, side / 12)))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(mark)
            painter.drawLine(mark.topRight() + QPoint(-inset, inset), mark.bottomLeft() + QPoint(inset, -inset))

    def _cover(self, pixmap: QPixmap, size: QSize) -> QPixmap:
        """``pixmap`` scaled to fill ``size`` and cropped to the centre; cached, since a
        smooth downscale per paint would make scrolling stutter."""
        ratio = self._view.devicePixelRatioF()
        key = (pixmap.cacheKey(), size.width(), size.height())
        found = self._scaled.get(key)
        if found is None:
            target = size * ratio
            scaled = pixmap.scaled(target, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                   Qt.TransformationMode.SmoothTransformation)
            found = scaled.copy((scaled.width() - target.width()) // 2, (scaled.height() - target.height()) // 2,
                                target.width(), target.height())
            found.setDevicePixelRatio(ratio)
            self._scaled[key] = found
            # About three screens of cells: enough to scroll back without rescaling, and the
            # memory stays near three screens of pixels whether cells are small or huge.
            side = max(1, size.width())
            while len(self._scaled) > 3 * self.columns * (self._view.viewport().height() // side + 2):
                self._scaled.popitem(last=False)
        self._scaled.move_to_end(key)
        return found


class ClusterGridView(QListView):
    """The list view, with drag and drop and context menus that speak of images and clusters."""

    context_at = Signal(int, QPoint)  # a row and the global position of the click


    def dataChanged(self, top_left: QModelIndex, bottom_right: QModelIndex, roles=()) -> None:
        # QListView answers every dataChanged with a relayout of all rows, which runs
        # sizeHint 10,000 times per arriving thumbnail; a new thumbnail changes no size,
        # so it only needs a repaint.
        if list(roles) == [Qt.ItemDataRole.DecorationRole]:
            QAbstractItemView.dataChanged(self, top_left, bottom_right, roles)
        else:
            super().dataChanged(top_left, bottom_right, roles)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.drop_label: int | None = None  # the cluster a drag hovers over, highlighted
        self.setViewMode(QListView.ViewMode.ListMode)  # first: it resets flow, wrapping and movement
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)  # before the drag settings: it turns them off
        self.setUniformItemSizes(False)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDragDropOverwriteMode(True)  # a drop lands on an item, never between two
        self.setDropIndicatorShown(False)  # the target cluster is highlighted instead
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always on, so the viewport width that sizes headers and cells never flips with it.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover)

    def _top(self, row: int) -> int:
        return self.visualRect(self.model().index(row)).top()

    def visible_range(self) -> tuple[int, int]:
        """First and last row on screen; rows run top to bottom, so two bisections find them."""
        rows = range(self.model().rowCount() if self.model() else 0)
        first = bisect_left(rows, 0, key=lambda row: self.visualRect(self.model().index(row)).bottom())
        return first, bisect_left(rows, self.viewport().height(), key=self._top) - 1

    def row_near(self, pos: QPoint) -> int:
        """The row under ``pos``, or the row whose line's empty end it is on; -1 for none."""
        index = self.indexAt(pos)
        if index.isValid():
            return index.row()
        row = bisect_right(range(self.model().rowCount()), pos.y(), key=self._top) - 1
        return row if row >= 0 and self.visualRect(self.model().index(row)).bottom() >= pos.y() else -1

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        row = self.row_near(event.pos())
        if row >= 0:
            self.context_at.emit(row, event.globalPos())

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        indexes = [i for i in self.selectedIndexes() if i.flags() & Qt.ItemFlag.ItemIsDragEnabled]
        if not indexes:
            return
        drag = QDrag(self)
        drag.setMimeData(self.model().mimeData(indexes))
        drag.setPixmap(self._drag_pixmap(indexes[0], len(indexes)))
        drag.setHotSpot(QPoint(20, 20))
        # Nothing is removed whatever the drop returns: the owner applies the move.
        drag.exec(Qt.DropAction.MoveAction)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        # Accept our images even over their own cluster, or Qt sends no move events after this.
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()
            self.setState(QAbstractItemView.State.DraggingState)
        else:
            event.ignore()  # files from outside are the window's business

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        super().dragMoveEvent(event)  # auto-scrolls near the edges
        row = self.row_near(event.position().toPoint())
        index = self.model().index(row) if row >= 0 else QModelIndex()
        ok = self.model().canDropMimeData(event.mimeData(), event.dropAction(), -1, -1, index)
        event.setAccepted(ok)
        if (label := self.model().label_at(row) if ok else None) != self.drop_label:
            self.drop_label = label
            self.viewport().update()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._end_drag()

    def dropEvent(self, event: QDropEvent) -> None:
        row = self.row_near(event.position().toPoint())
        index = self.model().index(row) if row >= 0 else QModelIndex()
        if self.model().dropMimeData(event.mimeData(), event.dropAction(), -1, -1, index):
            event.acceptProposedAction()
        else:
            event.ignore()
        self._end_drag()

    def _end_drag(self) -> None:
        self.stopAutoScroll()
        self.setState(QAbstractItemView.State.NoState)
        self.drop_label = None
        self.viewport().update()

    def _drag_pixmap(self, first: QModelIndex, count: int) -> QPixmap:
        """One thumbnail with a badge counting the dragged images, not a collage of them all."""
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(QSize(86, 86) * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.itemDelegate().draw_thumbnail(painter, QRect(0, 14, 72, 72), first, radius=6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.palette().color(Colour.Highlight))
        painter.drawEllipse(QRect(58, 0, 28, 28))
        painter.setPen(self.palette().color(Colour.HighlightedText))
        painter.drawText(QRect(58, 0, 28, 28), Qt.AlignmentFlag.AlignCenter, str(count) if count < 1000 else "999+")
        painter.end()
        return pixmap

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.model() or not self.model().rowCount():
            painter = QPainter(self.viewport())
            painter.setPen(_muted(self.palette()))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, "No clusters yet")


class ClusterGrid(QWidget):
    """Clusters as sections of thumbnails, with a column slider; edits are requested, not made."""

    selection_changed = Signal(list)
    context_requested = Signal(int, QPoint)
    header_context_requested = Signal(int, QPoint)
    activated = Signal(int)
    rename_requested = Signal(int)
    move_requested = Signal(list, int)
    columns_changed = Signal(int)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None):
        super().__init__(parent)
        self._quiet = False
        self.model = ClusterGridModel(thumbnails, self)
        self._view = ClusterGridView(self)
        self.delegate = ClusterGridDelegate(self._view)
        self._view.setItemDelegate(self.delegate)
        self._view.setModel(self.model)
        self.summary, self._columns_label = QLabel(), QLabel()
        self._columns_label.setMinimumWidth(22)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(MIN_COLUMNS, MAX_COLUMNS)
        self.slider.setFixedWidth(160)
        self.slider.setToolTip("Thumbnails per row")
        bar = QHBoxLayout()
        bar.setContentsMargins(12, 6, 12, 6)
        bar.addWidget(self.summary)
        bar.addStretch(1)
        for widget in (QLabel("Columns"), self.slider, self._columns_label):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self._view, 1)
        self.slider.setValue(DEFAULT_COLUMNS)
        self._apply_columns(DEFAULT_COLUMNS)

        self.slider.valueChanged.connect(self._apply_columns)
        self.slider.valueChanged.connect(self.columns_changed)
        self.model.move_requested.connect(self.move_requested)
        self._view.selectionModel().selectionChanged.connect(self._selection_moved)
        self._view.doubleClicked.connect(self._double_clicked)
        self._view.context_at.connect(self._context_at)

    def view(self) -> QListView:
        return self._view

    def set_data(self, book: ClusterBook, medoids: dict[int, int], paths: list[Path], hashes: list[str]) -> None:
        scrolled = self._view.verticalScrollBar().value()
        self.model.set_data(book, medoids, paths, hashes)
        # Stay put across an edit: lay out now, so the old offset can be restored.
        self._view.doItemsLayout()
        self._view.verticalScrollBar().setValue(scrolled)
        clusters, images = self.model.cluster_count(), len(book.labels)
        self.summary.setText(f"{clusters} cluster{'s' * (clusters != 1)} · {images:,} image{'s' * (images != 1)}"
                             if images else "")

    def clear(self) -> None:
        self.model.clear()
        self.summary.clear()

    # columns ----------------------------------------------------------------------------
    def columns(self) -> int:
        return self.delegate.columns

    def set_columns(self, n: int) -> None:
        self.slider.setValue(max(MIN_COLUMNS, min(MAX_COLUMNS, int(n))))

    def _apply_columns(self, n: int) -> None:
        first, _ = self._view.visible_range()
        self.delegate.columns = n
        self._columns_label.setText(str(n))
        self._view.doItemsLayout()
        self._view.verticalScrollBar().setSingleStep(max(8, self.delegate.cell_side() // 4))
        if first < self.model.rowCount():  # keep the top row in sight as cells grow or shrink
            self._view.scrollTo(self.model.index(first), QAbstractItemView.ScrollHint.PositionAtTop)

    # selection and scrolling ------------------------------------------------------------
    def selection(self) -> list[int]:
        ranges = self._view.selectionModel().selection()
        return self.model.images_in_rows(np.concatenate([np.arange(r.top(), r.bottom() + 1) for r in ranges])
                                         if len(ranges) else []).tolist()

    def set_selection(self, indices) -> None:
        rows = self.model.rows_of_images(list(indices))
        rows = rows[rows >= 0]
        selection = QItemSelection()
        # One range per run of neighbouring rows: a whole cluster is one range, not hundreds.
        for run in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1) if len(rows) else []:
            selection.select(self.model.index(int(run[0])), self.model.index(int(run[-1])))
        self._quiet = True  # the owner set it; echoing it back would loop
        try:
            self._view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._quiet = False

    def scroll_to(self, index: int) -> None:
        rows = self.model.rows_of_images([index])
        if len(rows) and rows[0] >= 0:
            self._view.scrollTo(self.model.index(int(rows[0])), QAbstractItemView.ScrollHint.EnsureVisible)

    def scroll_to_cluster(self, label: int) -> None:
        if (row := self.model.header_row(label)) >= 0:
            self._view.scrollTo(self.model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)

    def visible_rows(self) -> int:
        first, last = self._view.visible_range()
        return max(0, last - first + 1)

    def _selection_moved(self, *_) -> None:
        if not self._quiet:
            self.selection_changed.emit(self.selection())

    def _double_clicked(self, index: QModelIndex) -> None:
        row = index.row()
        if self.model.is_header(row):
            self.rename_requested.emit(self.model.label_at(row))
        else:
            self.activated.emit(self.model.image_at(row))

    def _context_at(self, row: int, pos: QPoint) -> None:
        if self.model.is_header(row):
            self.header_context_requested.emit(self.model.label_at(row), pos)
        else:
            self.context_requested.emit(self.model.image_at(row), pos)


def _mix(base: QColor, tint: QColor, amount: float) -> QColor:
    return QColor.fromRgbF(*(b + (t - b) * amount for b, t in zip(base.getRgbF()[:3], tint.getRgbF()[:3])))


def _muted(palette: QPalette) -> QColor:
    """Secondary text: the text colour faded, so it reads on light and dark themes alike."""
    colour = QColor(palette.color(Colour.Text))
    colour.setAlphaF(0.6)
    return colour


def _rounded(rect: QRect, radius: float) -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    return path
