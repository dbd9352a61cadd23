"""The map's legend: each cluster's number, name, size and colour; a click shows only that cluster.

Showing one cluster is the filter bar's cluster choice, so the grid, the map's veil and the
filter bar's own combo box always agree on what is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from ..palette import colour_icon

if TYPE_CHECKING:
    from ..panels.filter_bar import FilterBar
    from ..session import FolderSession

WIDTH = 230
MARGIN = 10
#: Rows shown before the legend scrolls, so it never covers most of the map.
MAX_ROWS = 14


class MapLegend(QListWidget):
    """A list over the map's top-right corner, one row per cluster, numbered as the grid numbers them."""

    def __init__(self, session: FolderSession, filter_bar: FilterBar, map_widget: QWidget):
        super().__init__(map_widget)
        self._session, self._filter = session, filter_bar
        self.setFocusPolicy(Qt.NoFocus)  # the map keeps the keys
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setToolTip("Click a cluster to show only it; click it again to show all")
        self.setStyleSheet("QListWidget { background: rgba(255, 255, 255, 215); border: 1px solid #bbb; }")
        self.itemClicked.connect(self._clicked)
        session.clusters_changed.connect(self.refill)
        session.library_changed.connect(self.refill)
        filter_bar.cluster.currentIndexChanged.connect(self._follow_filter)
        map_widget.installEventFilter(self)
        self.refill()

    def refill(self) -> None:
        book = self._session.book
        self.clear()
        identities = book.identities() if book is not None else {}
        for label, identity in identities.items():
            number = "–" if identity.number is None else str(identity.number)
            text = f"{number} · {identity.name} ({book.size(label)})"
            item = QListWidgetItem(colour_icon(QColor(identity.colour)), text)
            item.setData(Qt.UserRole, label)
            self.addItem(item)
        rows = min(self.count(), MAX_ROWS)
        self.setFixedSize(WIDTH, rows * self.sizeHintForRow(0) + 2 * self.frameWidth() if rows else 0)
        self.setVisible(bool(rows))
        self._place()
        self._follow_filter()

    def chosen(self) -> int | None:
        return self._filter.cluster.currentData()

    def _clicked(self, item: QListWidgetItem) -> None:
        label = item.data(Qt.UserRole)
        combo = self._filter.cluster
        combo.setCurrentIndex(0 if self.chosen() == label else max(0, combo.findData(label)))

    def _follow_filter(self, *_) -> None:
        chosen = self.chosen()
        for row in range(self.count()):
            self.item(row).setSelected(self.item(row).data(Qt.UserRole) == chosen)

    def _place(self) -> None:
        parent = self.parentWidget()
        self.move(parent.width() - self.width() - MARGIN, MARGIN)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Resize:
            self._place()
        return False
