"""Compare two images by every classic index: SSIM, CW-SSIM, MSE, SIFT matching and palette EMD.

The images are read and scored in a worker (SIFT on two large photos takes seconds); the
dialog shows both images, each one's dominant colours, and a table of the indices with
how to read each and what it found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...io import images
from ...search.compare import INDICES, Comparison, compare_all
from ...search.compare_indices import INDEX_SPECS
from ..workers import TaskContext, TaskRunner
from .worker_dialog import WorkerDialog, add_button, to_pixmap

PREVIEW_SIDE = 240
PALETTE_HEIGHT = 18


@dataclass
class PairComparison:
    previews: tuple[Image.Image, Image.Image]
    comparisons: list[Comparison]

    def score(self, index: str) -> float:
        return next(c.score for c in self.comparisons if c.index == index)


def compare_files(first: Path, second: Path, context: TaskContext,
                  max_file_bytes: int = images.MAX_FILE_BYTES) -> PairComparison:
    """The worker's job: read both files (refusing any over ``max_file_bytes``), score every index,
    and make the small previews."""
    image_a, image_b = images.load(first, 0, max_file_bytes), images.load(second, 0, max_file_bytes)
    comparisons = compare_all(image_a, image_b, progress=context.progress, should_stop=context.should_stop)
    previews = []
    for image in (image_a, image_b):
        preview = images.to_rgb(image)
        preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
        previews.append(preview)
    return PairComparison((previews[0], previews[1]), comparisons)


def details_text(comparison: Comparison) -> str:
    details = comparison.details
    if comparison.index == "sift":
        return (f"{details['inliers']} of {details['matches']} matches fit one view "
                f"({details['keypoints_a']} and {details['keypoints_b']} keypoints)")
    if comparison.index == "emd":
        return f"{len(details['palette_a']['hex'])} and {len(details['palette_b']['hex'])} dominant colours"
    return ""


def palette_strip(palette: dict, width: int = PREVIEW_SIDE, height: int = PALETTE_HEIGHT) -> QPixmap:
    """The palette as bands as wide as each colour's share of the image."""
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    left = 0.0
    for colour, share in zip(palette["hex"], palette["shares"]):
        right = left + share * width
        painter.fillRect(round(left), 0, max(1, round(right) - round(left)), height, QColor(colour))
        left = right
    painter.end()
    return pixmap


class CompareDialog(WorkerDialog):
    def __init__(self, runner: TaskRunner, first: Path, second: Path, parent: QWidget | None = None, *,
                 max_file_bytes: int = images.MAX_FILE_BYTES):
        super().__init__(runner, "compare", parent)
        self.setWindowTitle(f"Compare {first.name} and {second.name}")
        self._paths = (first, second)
        self._max_file_bytes = max_file_bytes
        self.result: PairComparison | None = None
        layout = QVBoxLayout(self)
        pair = QGridLayout()
        self.image_labels, self.palette_labels = [], []
        for column, path in enumerate(self._paths):
            image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
            image.setMinimumSize(PREVIEW_SIDE, PREVIEW_SIDE)
            palette = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
            palette.setMinimumHeight(PALETTE_HEIGHT)
            pair.addWidget(image, 0, column)
            pair.addWidget(QLabel(path.name, alignment=Qt.AlignmentFlag.AlignCenter), 1, column)
            pair.addWidget(palette, 2, column)
            self.image_labels.append(image)
            self.palette_labels.append(palette)
        layout.addLayout(pair)
        self.table = QTableWidget(len(INDICES), 4)
        self.table.setHorizontalHeaderLabels(["Index", "Score", "How to read it", "Found"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        for row, index in enumerate(INDICES):
            self.table.setItem(row, 0, QTableWidgetItem(INDEX_SPECS[index].label))
            self.table.setItem(row, 2, QTableWidgetItem(INDEX_SPECS[index].reading))
        self.table.resizeColumnsToContents()
        layout.addWidget(self.table)
        self.add_status(layout)
        buttons = QHBoxLayout()
        self.compare_button = add_button(buttons, "Compare Again", self.start)
        buttons.addStretch(1)
        add_button(buttons, "Close", self.close)
        layout.addLayout(buttons)
        self.resize(820, 620)
        self.refresh()

    def refresh(self) -> None:
        super().refresh()
        self.compare_button.setEnabled(not self.busy)

    def start(self) -> None:
        (first, second), limit = self._paths, self._max_file_bytes
        self.run(lambda context: compare_files(first, second, context, limit), self._compared, "Comparing…")

    def _compared(self, result: PairComparison) -> None:
        self.result = result
        for label, preview in zip(self.image_labels, result.previews):
            label.setPixmap(to_pixmap(preview))
        for row, comparison in enumerate(result.comparisons):
            score = QTableWidgetItem(f"{comparison.score:.4g}")
            score.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, score)
            self.table.setItem(row, 3, QTableWidgetItem(details_text(comparison)))
            if comparison.index == "emd":
                for label, key in zip(self.palette_labels, ("palette_a", "palette_b")):
                    label.setPixmap(palette_strip(comparison.details[key]))
        self.table.resizeColumnsToContents()
        self.status.setText(f"Compared by {len(result.comparisons)} indices.")
