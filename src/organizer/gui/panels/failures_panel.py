"""Files that could not be used, each with its reason: a panel, never a storm of dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


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
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["File", "Why it was skipped"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Interactive)
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

    def set_failures(self, failures: list[tuple[Path, str]]) -> None:
        self._failures = list(failures)
        self.table.setRowCount(len(failures))
        for row, (path, reason) in enumerate(failures):
            name = QTableWidgetItem(Path(path).name)
            name.setToolTip(str(path))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(reason))
        self.table.resizeColumnToContents(0)
        count = len(failures)
        self._summary.setText(f"{count} file{'s' * (count != 1)} skipped; the rest were sorted" if count
                              else "No problems")
        self.count_changed.emit(count)

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(f"{path}\t{reason}" for path, reason in self._failures))
