"""The export dialog's views of an export: the preview table of a plan, and the summary of a run."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ...analysis.edits import ClusterBook
from ...export.flow import PreparedExport
from ...export.plan import MODE_KINDS, PLAN_KINDS
from ..palette import cluster_colour, colour_icon

PLAN_CHOICES = tuple((kind.name, kind.label, kind.description) for kind in PLAN_KINDS.values())
MODE_CHOICES = tuple((kind.name, kind.label, kind.description) for kind in MODE_KINDS.values())
MOVE_WARNING = ("The originals will be moved out of the library folder into the export. "
                "You can undo it here later (Undo last move) from the export's journal.")
SHOWN_DETAILS = 5  # failed files listed under an export's summary; the journal has them all


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


def plan_headline(prepared: PreparedExport, shown: int) -> str:
    """The plan in a line: how many files into how many folders, and whether the table lists them all."""
    files, folders = len(prepared.plan.operations), prepared.folder_count
    return (f"<b>{files}</b> files into <b>{folders}</b> folder{'s' if folders != 1 else ''}"
            + (f" · first {shown} shown" if files > shown else ""))


def _cluster_item(label: int | None, book: ClusterBook | None) -> QTableWidgetItem:
    if label is None or book is None:  # a plan without clusters
        return QTableWidgetItem("")
    item = QTableWidgetItem(book.name(label))
    item.setIcon(colour_icon(cluster_colour(label), 10))
    return item


def summary_html(headline: str, details: list[str]) -> str:
    """The core's summary for the status line: the counts in bold, the first few details."""
    counts, semicolon, rest = headline.partition("; ")  # "; journal: …" reads better unbolded
    lines = [f"<b>{escape(counts[0].upper() + counts[1:])}</b>{escape(semicolon + rest)}"]
    lines += [escape(line) for line in details[:SHOWN_DETAILS]]
    if len(details) > SHOWN_DETAILS:
        lines.append(f"… and {len(details) - SHOWN_DETAILS} more, listed in the journal.")
    return "<br>".join(lines)
