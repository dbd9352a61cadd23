"""Align near-identical images (scans of one pattern) to a reference and show their aligned mean.

The registration runs in a worker with progress and cancel; the dialog shows the mean
image, each image's recovered motion, and can save the mean or write aligned copies into
a new folder. The originals are only read.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.align import MODELS, REFERENCES, AlignmentResult, align_images, save_mean_image, write_aligned
from .workers import TaskRunner

MODEL_LABELS = {"translation": "Translation", "rigid": "Rigid (shift and turn)",
                "scaled-rotation": "Scaled rotation", "affine": "Affine", "bilinear": "Bilinear"}
REFERENCE_LABELS = {"first": "The first image", "mean": "The mean image", "sequential": "Each the one before"}
MEAN_SIDE = 360


def to_pixmap(image) -> QPixmap:
    """A PIL RGB image as a pixmap; the bytes are copied, so the PIL image may go."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class AlignDialog(QDialog):
    def __init__(self, runner: TaskRunner, paths: list[Path], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Align {len(paths)} Images")
        self._runner, self._paths = runner, paths
        self.result: AlignmentResult | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.model_combo = self._combo(MODELS, MODEL_LABELS, "rigid")
        self.reference_combo = self._combo(REFERENCES, REFERENCE_LABELS, "first")
        form.addRow("Allowed motion:", self.model_combo)
        form.addRow("Align to:", self.reference_combo)
        layout.addLayout(form)
        self.mean_label = QLabel("The aligned mean image appears here.", alignment=Qt.AlignmentFlag.AlignCenter)
        self.mean_label.setMinimumSize(MEAN_SIDE, MEAN_SIDE)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Image", "Shift x (px)", "Shift y (px)", "Turn (°)", "Scale"])
        self.table.horizontalHeader().setStretchLastSection(True)
        results = QHBoxLayout()
        results.addWidget(self.mean_label)
        results.addWidget(self.table, 1)
        layout.addLayout(results)
        self.status = QLabel()
        self.progress = QProgressBar(visible=False)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.align_button = self._button(buttons, "Align", self.start)
        self.cancel_button = self._button(buttons, "Cancel", lambda: self._runner.cancel("align"))
        self.cancel_button.setVisible(False)
        buttons.addStretch(1)
        self.save_button = self._button(buttons, "Save Mean Image…", self.save_mean)
        self.copies_button = self._button(buttons, "Write Aligned Copies…", self.write_copies)
        self._button(buttons, "Close", self.close)
        layout.addLayout(buttons)
        self.model_combo.currentIndexChanged.connect(self._update)
        self._update()

    @staticmethod
    def _combo(values, labels: dict[str, str], current: str) -> QComboBox:
        combo = QComboBox()
        for value in values:
            combo.addItem(labels[value], value)
        combo.setCurrentIndex(combo.findData(current))
        return combo

    @staticmethod
    def _button(row: QHBoxLayout, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda _=False: slot())
        row.addWidget(button)
        return button

    def _update(self, busy: bool = False) -> None:
        # pystackreg cannot chain bilinear transforms, so sequential alignment is off for it.
        sequential = self.reference_combo.model().item(REFERENCES.index("sequential"))
        sequential.setEnabled(self.model_combo.currentData() != "bilinear")
        if self.model_combo.currentData() == "bilinear" and self.reference_combo.currentData() == "sequential":
            self.reference_combo.setCurrentIndex(REFERENCES.index("first"))
        for widget in (self.model_combo, self.reference_combo, self.align_button):
            widget.setEnabled(not busy)
        for button in (self.save_button, self.copies_button):
            button.setEnabled(not busy and self.result is not None)
        self.cancel_button.setVisible(busy)
        self.progress.setVisible(busy)

    def start(self) -> None:
        paths, model, reference = self._paths, self.model_combo.currentData(), self.reference_combo.currentData()
        self._run(lambda ctx: align_images(paths, model, reference, progress=ctx.progress,
                                           should_stop=ctx.should_stop), self._aligned, "Aligning…")

    def _run(self, job, on_finished, note: str) -> None:
        self.status.setText(note)
        self.progress.setRange(0, 0)
        self._update(busy=True)

        def finished(value) -> None:
            self._update()
            on_finished(value)

        def failed(message: str) -> None:
            self._update()
            self.status.setText(message)

        def cancelled() -> None:
            self._update()
            self.status.setText("Cancelled.")

        self._runner.start("align", job, on_finished=finished, on_progress=self._progressed,
                           on_failed=failed, on_cancelled=cancelled)

    def _progressed(self, done: int, total: int, note: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(note or "%v / %m")

    def _aligned(self, result: AlignmentResult) -> None:
        self.result = result
        self._update()
        pixmap = to_pixmap(result.mean_image)
        self.mean_label.setPixmap(pixmap.scaled(MEAN_SIDE, MEAN_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.SmoothTransformation))
        motions = result.to_json()["motions"]
        self.table.setRowCount(len(motions))
        for row, (path, motion) in enumerate(zip(result.paths, motions)):
            values = (path.name, f"{motion['tx']:.2f}", f"{motion['ty']:.2f}", f"{motion['rotation']:.2f}",
                      f"{motion['scale']:.3f}")
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        skipped = f"; {len(result.failures)} could not be read" if result.failures else ""
        self.status.setText(f"Aligned {len(result.paths)} images{skipped}.")

    def save_mean(self, target: Path | None = None) -> None:
        if self.result is None:
            return
        if target is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save Mean Image", "aligned-mean.png", "PNG images (*.png)")
            if not chosen:
                return
            target = Path(chosen)
        result = self.result
        self._run(lambda _ctx: save_mean_image(result, target), lambda path: self.status.setText(f"Saved {path}"),
                  "Saving…")

    def write_copies(self, folder: Path | None = None) -> None:
        if self.result is None:
            return
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Write Aligned Copies Into")
            if not chosen:
                return
            folder = Path(chosen)
        result = self.result

        def done(outcome) -> None:
            written, failed = outcome
            problems = f", {len(failed)} failed" if failed else ""
            self.status.setText(f"Wrote {len(written)} aligned copies to {folder}{problems}")

        self._run(lambda ctx: write_aligned(result, folder, progress=ctx.progress, should_stop=ctx.should_stop),
                  done, "Writing aligned copies…")

    def closeEvent(self, event) -> None:
        self._runner.cancel("align")
        super().closeEvent(event)
