"""The cluster grid: every cluster as a section of thumbnails under a full-width header.

One flat list model holds header rows and image rows; a wrapping QListView lays them out
and a delegate sizes headers as wide as a line, which forces the line break. There are no
per-item widgets, so rebuilding after an edit is a model reset, and a thumbnail is asked
for only when its cell is painted: 10,000 images scroll as smoothly as 100. The model is
in :mod:`.cluster_grid_model`, the delegate in :mod:`.cluster_grid_delegate`; this module
holds the view and the widget around it, and re-exports the names the others are known by.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (QContextMenuEvent, QDrag, QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent,
                           QKeyEvent, QPainter, QPaintEvent, QPixmap)
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QListView, QSlider, QVBoxLayout, QWidget

from ...analysis.edits import ClusterBook
from ..palette import tone_colour
from ..thumbnails import ThumbnailLoader
from .cluster_grid_delegate import DEFAULT_COLUMNS, HEADER_HEIGHT, MAX_COLUMNS, MIN_COLUMNS, ClusterGridDelegate, Colour
from .cluster_grid_model import ANNOTATION_ROLE, BROKEN_ROLE, IMAGE_ROLE, LABEL_ROLE, MIME, ClusterGridModel
from .groups_control import NO_CLUSTERS, GroupsControl

__all__ = ["BROKEN_ROLE", "DEFAULT_COLUMNS", "HEADER_HEIGHT", "IMAGE_ROLE", "LABEL_ROLE", "MAX_COLUMNS", "MIME",
           "MIN_COLUMNS", "ClusterGrid", "ClusterGridDelegate", "ClusterGridModel", "ClusterGridView"]


class ClusterGridView(QListView):
    """The list view, with drag and drop and context menus that speak of images and clusters."""

    context_at = Signal(int, QPoint)  # a row and the global position of the click
    rating_key = Signal(int)  # a digit key 0-5: rate the selection, as in Lightroom

    def dataChanged(self, top_left: QModelIndex, bottom_right: QModelIndex, roles=()) -> None:
        # QListView answers every dataChanged with a relayout of all rows, which runs
        # sizeHint 10,000 times per arriving thumbnail; a new thumbnail changes no size,
        # so it only needs a repaint.
        if list(roles) in ([Qt.ItemDataRole.DecorationRole], [ANNOTATION_ROLE]):
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

    @staticmethod
    def _stars(event: QKeyEvent) -> int | None:
        """The rating a key gives: 0 to 5 for a plain digit key (keypad too), None for any other key."""
        plain = not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return event.key() - Qt.Key.Key_0 if plain and Qt.Key.Key_0 <= event.key() <= Qt.Key.Key_5 else None

    def event(self, event: QEvent) -> bool:
        # The window binds 0 to Fit Map; in the grid a digit rates, as in Lightroom, so the
        # grid claims it before the window's shortcut does.
        if event.type() == QEvent.Type.ShortcutOverride and self._stars(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if (stars := self._stars(event)) is not None:
            self.rating_key.emit(stars)
        else:
            super().keyPressEvent(event)

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
            painter.setPen(tone_colour(self.palette(), "muted"))
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
    #: The selection and the stars a digit key gave it.
    rating_requested = Signal(list, int)
    #: The groups control asks for the tree re-cut into this many groups.
    cut_requested = Signal(int)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None):
        super().__init__(parent)
        self._quiet = False
        self._data: tuple | None = None
        self._shown: np.ndarray | None = None
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
        # Dragged with the mouse, never focused: arrow keys move the selection in the grid.
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusProxy(self._view)
        self.groups = GroupsControl()
        bar = QHBoxLayout()
        bar.setContentsMargins(12, 6, 12, 6)
        bar.addWidget(self.summary)
        bar.addStretch(1)
        bar.addWidget(self.groups)
        bar.addSpacing(18)
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
        self.groups.cut_requested.connect(self.cut_requested)
        self.groups.done.connect(self._view.setFocus)
        self._view.selectionModel().selectionChanged.connect(self._selection_moved)
        self._view.doubleClicked.connect(self._double_clicked)
        self._view.context_at.connect(self._context_at)
        self._view.rating_key.connect(self._rate_selection)

    def view(self) -> QListView:
        return self._view

    def set_data(self, book: ClusterBook, medoids: dict[int, int], paths: list[Path], hashes: list[str]) -> None:
        self._data = (book, medoids, paths, hashes)
        if self._shown is not None and len(self._shown) != len(book.labels):
            self._shown = None  # a filter of another scan
        scrolled = self._view.verticalScrollBar().value()
        self.model.set_data(book, medoids, paths, hashes, self._shown)
        # Stay put across an edit: lay out now, so the old offset can be restored.
        self._view.doItemsLayout()
        self._view.verticalScrollBar().setValue(scrolled)
        clusters, images = self.model.cluster_count(), len(book.labels)
        shown = f"{int(self._shown.sum()):,} of " if self._shown is not None else ""
        self.summary.setText(f"{clusters} cluster{'s' * (clusters != 1)} · {shown}{images:,} image{'s' * (images != 1)}"
                             if images else "")

    def set_shown(self, shown: np.ndarray | None) -> None:
        """Show only the images ``shown`` marks (a filter's), or all with None."""
        self._shown = None if shown is None else np.asarray(shown, dtype=bool)
        if self._data is not None:
            selection = self.selection()
            self.set_data(*self._data)
            self.set_selection(selection)

    def shown_images(self) -> list[int]:
        """The images the grid shows now, ascending."""
        return self.model.images_in_rows(np.arange(self.model.rowCount())).tolist()

    def _rate_selection(self, stars: int) -> None:
        if selection := self.selection():
            self.rating_requested.emit(selection, stars)

    def clear(self) -> None:
        self._data = None
        self.model.clear()
        self.summary.clear()
        self.groups.show_groups(0, None, NO_CLUSTERS)

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

