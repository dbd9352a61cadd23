"""Files that could not be used, each with its reason: a panel, never a storm of dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


def shown_folder(path: Path, folder: Path | None) -> str:
    """The folder holding ``path``, from the opened ``folder``'s name down ("patterns/summer"),
    so a file of the folder itself shows its name, not "."; the full folder if outside it."""
    if folder is not None and path.parent.is_relative_to(folder):
        return path.parent.relative_to(folder.parent).as_posix()
    return str(path.parent)


class FailuresPanel(QWidget):
    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._summary = QLabel("No problems")
        copy = QPushButton("Copy list")
        copy.clicked.connect(self.copy_to_clipboard)
        top = QHBoxLayout()
        top.addWidget(self._summary, 1)
        top.addWidget(copy)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["File", "Folder", "Why it was skipped"])
        for column in (0, 1):
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._failures: list[tuple[Path, str]] = []

    def set_failures(self, failures: list[tuple[Path, str]], folder: Path | None = None) -> None:
        """List ``failures``, each with its folder as seen from the opened ``folder``'s parent."""
        self._failures = list(failures)
        self.table.setRowCount(len(failures))
        for row, (path, reason) in enumerate(failures):
            path = Path(path)
            for column, text in enumerate((path.name, shown_folder(path, folder), reason)):
                item = QTableWidgetItem(text)
                item.setToolTip(str(path))
                self.table.setItem(row, column, item)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(1)
        count = len(failures)
        self._summary.setText(f"{count} file{'s' * (count != 1)} skipped; the rest were sorted" if count
                              else "No problems")
        self.count_changed.emit(count)

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(f"{path}\t{reason}" for path, reason in self._failures))
