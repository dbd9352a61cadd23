"""The map's legend: each cluster's number, name, size and colour; a click shows only that cluster.

Showing one cluster is the filter bar's cluster choice, so the grid, the map's veil and the
filter bar's own combo box always agree on what is shown. Before the clusters of the images
on the map exist (a scan's partial map, a scanned folder still clustering) one row in the
points' neutral tone says when they come.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QFrame, QListWidget, QListWidgetItem, QWidget

from ..palette import colour_icon
from .map_overlays import PENDING_NOTE, pending_colour

if TYPE_CHECKING:
    from ..panels.filter_bar import FilterBar
    from ..session import FolderSession

WIDTH = 230
MAX_WIDTH = 320
MARGIN = 10
#: Rows shown before the legend scrolls, so it never covers most of the map.
MAX_ROWS = 14


class MapLegend(QListWidget):
    """A list over the map's top-right corner, one row per cluster, numbered as the grid numbers them."""

    def __init__(self, session: FolderSession, filter_bar: FilterBar, map_widget: QWidget):
        super().__init__(map_widget)
        self._session, self._filter = session, filter_bar
        self._scanned: int | None = None  # how many images a running scan's partial map shows
        self.setFocusPolicy(Qt.NoFocus)  # the map keeps the keys
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        # Wider for a long name or the note, up to MAX_WIDTH, and elided past it: a scroll bar would hide a row.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setToolTip("Click a cluster to show only it; click it again to show all")
        # The list's own opaque background in the theme's colours: a see-through white box let the thumbnails
        # under it show through its names, and stayed white in a dark theme.
        self.setFrameShape(QFrame.Shape.Box)
        self.itemClicked.connect(self._clicked)
        session.clusters_changed.connect(self.refill)
        session.library_changed.connect(self._library_changed)
        session.scan_layout.connect(self._partial_map)
        filter_bar.cluster.currentIndexChanged.connect(self._follow_filter)
        map_widget.installEventFilter(self)
        self.refill()

    def refill(self) -> None:
        book, library = self._session.book, self._session.library
        self.clear()
        if self._scanned is not None:
            self._add_note(f"{self._scanned:,} images so far", PENDING_NOTE)
        elif book is None and library is not None:
            self._add_note(f"{len(library):,} images", "Finding their clusters…")
        identities = book.identities() if book is not None and self._scanned is None else {}
        for label, identity in identities.items():
            number = "–" if identity.number is None else str(identity.number)
            text = f"{number} · {identity.name} ({book.size(label)})"
            item = QListWidgetItem(colour_icon(QColor(identity.colour)), text)
            item.setData(Qt.UserRole, label)
            self.addItem(item)
        rows = min(self.count(), MAX_ROWS)
        height = sum(self.sizeHintForRow(row) for row in range(rows))
        width = min(max(WIDTH, self.sizeHintForColumn(0) + 2 * self.frameWidth()), MAX_WIDTH)
        self.setFixedSize(width, height + 2 * self.frameWidth() if rows else 0)
        self.setVisible(bool(rows))
        self._place()
        self._follow_filter()

    def _add_note(self, count: str, note: str) -> None:
        """One row, in the colour of points not clustered yet, that no click acts on."""
        item = QListWidgetItem(colour_icon(pending_colour(self.palette())), f"{count}\n{note}")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.addItem(item)

    def _partial_map(self, _layout: object, paths: list[Path], _hashes: list[str]) -> None:
        self._scanned = len(paths)
        self.refill()

    def _library_changed(self) -> None:
        self._scanned = None  # the scan ended (or another folder opened): its partial map is gone
        self.refill()

    def chosen(self) -> int | None:
        return self._filter.cluster.currentData()

    def _clicked(self, item: QListWidgetItem) -> None:
        label = item.data(Qt.UserRole)
        if label is None:  # the note before the clusters
            return
        combo = self._filter.cluster
        combo.setCurrentIndex(0 if self.chosen() == label else max(0, combo.findData(label)))

    def _follow_filter(self, *_) -> None:
        chosen = self.chosen()
        for row in range(self.count()):
            self.item(row).setSelected(chosen is not None and self.item(row).data(Qt.UserRole) == chosen)

    def _place(self) -> None:
        parent = self.parentWidget()
        self.move(parent.width() - self.width() - MARGIN, MARGIN)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Resize:
            self._place()
        return False
