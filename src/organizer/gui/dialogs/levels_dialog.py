"""The equalization report: each image's brightness, contrast and sharpness, before and after.

It shows what Settings ▸ "Equalize brightness, contrast and sharpness" does to every image
of the folder: the folder's median (the reference) and, per image, the measured levels,
the levels after equalizing, and the gain, offset, sharpening or blur used. Measuring runs
in a worker and is cached with the folder's vectors, so a second report is quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...io.equalize import Adjustment
from ...io.images import MAX_FILE_BYTES
from ...storage.cache import Cache
from ...storage.paths import cache_db_path
from ...tools.levels import REPORT_COLUMNS, equalize_report, measure_folder, quantised, report_table, save_report_csv
from ..workers import TaskContext, TaskRunner
from .worker_dialog import WorkerDialog, add_button

HEADERS = {"path": "Image", "brightness_before": "Brightness\nbefore", "brightness_after": "Brightness\nafter",
           "contrast_before": "Contrast\nbefore", "contrast_after": "Contrast\nafter",
           "sharpness_before": "Sharpness\nbefore", "sharpness_after": "Sharpness\nafter", "gain": "Gain",
           "offset": "Offset", "sharpen": "Sharpen", "blur": "Blur"}


@dataclass
class LevelsReport:
    reference: tuple[float, float, float]
    rows: list[tuple[Path, Adjustment]]
    failures: list[tuple[Path, str]]


def report_folder(folder: Path, context: TaskContext, max_file_bytes: int = MAX_FILE_BYTES) -> LevelsReport:
    """The worker's job: measure the folder (cached), then equalize each image to its median.

    Files over ``max_file_bytes`` are left out, as the app's scan leaves them out.
    """
    with Cache(cache_db_path(folder)) as cache:
        levels = measure_folder(folder, cache, context.progress, context.should_stop, max_file_bytes)
    if not levels.paths:
        raise ValueError(f"No usable images in {folder}")
    rows = equalize_report(levels, context.progress, context.should_stop, max_file_bytes)
    return LevelsReport(quantised(levels.reference), rows, levels.failures)


class LevelsDialog(WorkerDialog):
    def __init__(self, runner: TaskRunner, folder: Path, parent: QWidget | None = None, *,
                 max_file_bytes: int = MAX_FILE_BYTES):
        super().__init__(runner, "levels", parent)
        self.setWindowTitle(f"Equalization Report: {folder.name}")
        self._folder = folder
        self._max_file_bytes = max_file_bytes
        self.report: LevelsReport | None = None
        layout = QVBoxLayout(self)
        self.reference_label = QLabel("Measuring every image against the folder's median…")
        layout.addWidget(self.reference_label)
        self.table = QTableWidget(0, len(REPORT_COLUMNS))
        self.table.setHorizontalHeaderLabels([HEADERS[column] for column in REPORT_COLUMNS])
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.add_status(layout)
        buttons = QHBoxLayout()
        self.measure_button = add_button(buttons, "Measure Again", self.start)
        buttons.addStretch(1)
        self.save_button = add_button(buttons, "Save as CSV…", self.save_csv)
        add_button(buttons, "Close", self.close)
        layout.addLayout(buttons)
        self.resize(1120, 560)
        self.refresh()

    def refresh(self) -> None:
        super().refresh()
        self.measure_button.setEnabled(not self.busy)
        self.save_button.setEnabled(not self.busy and self.report is not None)

    def start(self) -> None:
        folder, limit = self._folder, self._max_file_bytes
        self.run(lambda context: report_folder(folder, context, limit), self._reported, "Measuring…")

    def _reported(self, report: LevelsReport) -> None:
        self.report = report
        self.refresh()
        brightness, contrast, sharpness = report.reference
        self.reference_label.setText(f"Reference, the folder's median: brightness {brightness:.0f}, "
                                     f"contrast {contrast:.0f}, sharpness {sharpness:.1f}")
        table = report_table(report.rows)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(table))
        for row, entry in enumerate(table):
            for column, key in enumerate(REPORT_COLUMNS):
                item = QTableWidgetItem()
                if key == "path":
                    item.setText(Path(entry[key]).name)
                    item.setToolTip(entry[key])
                else:
                    # A number, not text, so a click on the header sorts numerically.
                    item.setData(Qt.ItemDataRole.DisplayRole, round(entry[key], 2))
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.sortItems(0)
        self.table.resizeColumnsToContents()
        skipped = "; ".join(f"{path.name}: {reason}" for path, reason in report.failures)
        self.status.setText(f"{len(table)} images measured" + (f". Left out {skipped}" if skipped else "."))

    def save_csv(self, target: Path | None = None) -> None:
        if self.report is None:
            return
        if target is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save Equalization Report",
                                                    f"{self._folder.name}-levels.csv", "CSV files (*.csv)")
            if not chosen:
                return
            target = Path(chosen)
        rows = self.report.rows
        self.run(lambda _context: save_report_csv(rows, target), lambda path: self.status.setText(f"Saved {path}"),
                 "Saving…")
