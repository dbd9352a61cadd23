"""Align near-identical images (scans of one pattern) to a reference and show their aligned mean.

The registration runs in a worker with progress and cancel; the dialog shows the mean
image, each image's recovered motion, and can save the mean or write aligned copies into
a new folder. The originals are only read. It aligns the selected images; the whole
folder only when chosen, and never more images than the core's cap, with the memory the
choice takes shown before it runs.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ...io.images import MAX_FILE_BYTES
from ...tools.align import (MODELS, REFERENCES, AlignmentResult, align_images, check_count, megabytes, memory_estimate,
                            save_mean_image, write_aligned)
from ..workers import TaskRunner
from .worker_dialog import WorkerDialog, add_button, to_pixmap

MODEL_LABELS = {"translation": "Translation", "rigid": "Rigid (shift and turn)",
                "scaled-rotation": "Scaled rotation", "affine": "Affine", "bilinear": "Bilinear"}
REFERENCE_LABELS = {"first": "The first image", "mean": "The mean image", "sequential": "Each the one before"}
MEAN_SIDE = 360


class AlignDialog(WorkerDialog):
    """Aligns ``selected``, or ``folder`` (every image of the open folder) when the user picks it."""

    def __init__(self, runner: TaskRunner, selected: list[Path], folder: list[Path] | None = None,
                 parent: QWidget | None = None, *, max_file_bytes: int = MAX_FILE_BYTES):
        super().__init__(runner, "align", parent)
        self.setWindowTitle("Align Images")
        self._choices = {"selection": list(selected), "folder": list(folder or [])}
        self._max_file_bytes = max_file_bytes
        self.result: AlignmentResult | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.scope_combo = QComboBox()
        self.scope_combo.addItem(f"The {len(selected)} selected images", "selection")
        if folder:
            self.scope_combo.addItem(f"The whole folder ({len(folder)} images)", "folder")
        self.estimate_label = QLabel(wordWrap=True)
        self.model_combo = self._combo(MODELS, MODEL_LABELS, "rigid")
        self.reference_combo = self._combo(REFERENCES, REFERENCE_LABELS, "first")
        form.addRow("Images:", self.scope_combo)
        form.addRow("Memory:", self.estimate_label)
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
        self.add_status(layout)
        buttons = QHBoxLayout()
        self.align_button = add_button(buttons, "Align", self.start)
        buttons.addStretch(1)
        self.save_button = add_button(buttons, "Save Mean Image…", self.save_mean)
        self.copies_button = add_button(buttons, "Write Aligned Copies…", self.write_copies)
        add_button(buttons, "Close", self.close)
        layout.addLayout(buttons)
        self.model_combo.currentIndexChanged.connect(lambda _index: self.refresh())
        self.scope_combo.currentIndexChanged.connect(lambda _index: self.refresh())
        self.refresh()

    @property
    def paths(self) -> list[Path]:
        """The images the chosen scope holds."""
        return self._choices[self.scope_combo.currentData()]

    def _refusal(self) -> str:
        """Why the chosen images cannot be aligned, or "" when they can."""
        if len(self.paths) < 2:
            return "Select two or more images, or choose the whole folder."
        try:
            check_count(len(self.paths))
        except ValueError as exc:
            return str(exc)
        return ""

    @staticmethod
    def _combo(values, labels: dict[str, str], current: str) -> QComboBox:
        combo = QComboBox()
        for value in values:
            combo.addItem(labels[value], value)
        combo.setCurrentIndex(combo.findData(current))
        return combo

    def refresh(self) -> None:
        super().refresh()
        busy = self.busy
        # pystackreg cannot chain bilinear transforms, so sequential alignment is off for it.
        sequential = self.reference_combo.model().item(REFERENCES.index("sequential"))
        sequential.setEnabled(self.model_combo.currentData() != "bilinear")
        if self.model_combo.currentData() == "bilinear" and self.reference_combo.currentData() == "sequential":
            self.reference_combo.setCurrentIndex(REFERENCES.index("first"))
        refusal = self._refusal()
        count = len(self.paths)
        self.estimate_label.setText(refusal or f"about {megabytes(memory_estimate(count))} for {count} images "
                                               f"while aligning")
        for widget in (self.scope_combo, self.model_combo, self.reference_combo):
            widget.setEnabled(not busy)
        self.align_button.setEnabled(not busy and not refusal)
        for button in (self.save_button, self.copies_button):
            button.setEnabled(not busy and self.result is not None)

    def start(self) -> None:
        refusal = self._refusal()
        if refusal:
            self.status.setText(refusal)
            return
        paths, model, reference = self.paths, self.model_combo.currentData(), self.reference_combo.currentData()
        limit = self._max_file_bytes
        self.run(lambda ctx: align_images(paths, model, reference, progress=ctx.progress, should_stop=ctx.should_stop,
                                          max_file_bytes=limit), self._aligned, "Aligning…")

    def _aligned(self, result: AlignmentResult) -> None:
        self.result = result
        self.refresh()
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
        self.run(lambda _ctx: save_mean_image(result, target), lambda path: self.status.setText(f"Saved {path}"),
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

        limit = self._max_file_bytes
        self.run(lambda ctx: write_aligned(result, folder, progress=ctx.progress, should_stop=ctx.should_stop,
                                           max_file_bytes=limit), done, "Writing aligned copies…")
