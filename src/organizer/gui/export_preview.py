"""The export dialog's preview table: its layout, and the first operations of a plan listed in it."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..core.edits import ClusterBook
from ..core.export_flow import PreparedExport
from .palette import cluster_colour


def preview_table(row_height: int) -> QTableWidget:
    """An empty, read-only table with a file's name, where it goes, and its cluster."""
    table = QTableWidget(0, 3, alternatingRowColors=True, wordWrap=False,
                         editTriggers=QAbstractItemView.EditTrigger.NoEditTriggers,
                         selectionBehavior=QAbstractItemView.SelectionBehavior.SelectRows)
    table.setHorizontalHeaderLabels(["File", "Goes to", "Cluster"])
    table.verticalHeader().setDefaultSectionSize(row_height)
    header = table.horizontalHeader()
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
    header.resizeSection(0, 200)
    return table


def fill_table(table: QTableWidget, prepared: PreparedExport, book: ClusterBook | None, limit: int) -> None:
    """Lists the first ``limit`` operations of the plan, clusters named as in ``book``."""
    operations, out = prepared.plan.operations, prepared.plan.out_dir
    table.setRowCount(min(limit, len(operations)))
    for row, op in enumerate(operations[:limit]):
        source = QTableWidgetItem(op.source.name)
        source.setToolTip(str(op.source))
        target = QTableWidgetItem(str(op.target.relative_to(out)))
        target.setToolTip(str(op.target))
        table.setItem(row, 0, source)
        table.setItem(row, 1, target)
        table.setItem(row, 2, _cluster_item(op.cluster, book))


def _cluster_item(label: int | None, book: ClusterBook | None) -> QTableWidgetItem:
    if label is None:
        return QTableWidgetItem("")
    item = QTableWidgetItem(book.name(label) if book is not None else f"Cluster {label + 1}")
    swatch = QPixmap(QSize(10, 10))
    swatch.fill(cluster_colour(label))
    item.setIcon(QIcon(swatch))
    return item
