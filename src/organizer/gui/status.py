"""The status bar: its message, and the progress (stage, count, rate and ETA, a bar and a Cancel button)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..folder.adaptation import ADAPTING_NOTE
from ..folder.extractor import PREPARING_NOTES

#: The scan's steps before and after embedding (preparing, adapting) that report in their own words, counted
#: in their own units, with no rate.
OWN_WORDS = (*PREPARING_NOTES, ADAPTING_NOTE)
STAGE_NAMES = {"scan": "Embedding", "map": "Laying out the map", "clusters": "Clustering",
               "similar": "Searching", "split": "Splitting"}


class StatusMessage(QLabel):
    """The status bar's message. Words for a job at work ("Scanning…") go when that job ends,
    unless a newer message has replaced them."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._working: tuple[str, str] | None = None

    def show_working(self, slot: str, text: str) -> None:
        self.setText(text)
        self._working = (slot, text)

    def job_ended(self, slot: str) -> None:
        if self._working is None or self._working[0] != slot:
            return
        if self.text() == self._working[1]:
            self.clear()
        self._working = None


class Notice(QLabel):
    """A note that lasts while the folder is shown: why the app chose otherwise than asked.

    Wrapped, never cut, and in warning tones, because it must be read whole; empty text hides it.
    """

    def __init__(self, colour: str):
        super().__init__(wordWrap=True, visible=False)
        self.setStyleSheet(f"color: {colour};")

    def show_text(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))


class ProgressStatus(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._stages: dict[str, tuple[int, int, str]] = {}
        self._failures = 0
        self.setVisible(False)

    def set_failures(self, count: int) -> None:
        self._failures = count

    def update_stage(self, stage: str, done: int, total: int, note: str) -> None:
        """Record a stage's progress; a finished stage (done >= total) leaves the display."""
        if not stage:
            self._stages.clear()
        elif done >= total:
            self._stages.pop(stage, None)
        else:
            self._stages[stage] = (done, total, note)
        self._show()

    def job_ended(self, slot: str) -> None:
        """A job ended however it did (a cancelled one reports nothing more): its stage leaves the display."""
        self.update_stage(slot, 1, 1, "")

    def _show(self) -> None:
        if not self._stages:
            self.setVisible(False)
            return
        # The scan leads when it runs: map and clusters wait for it.
        stage = "scan" if "scan" in self._stages else next(iter(self._stages))
        done, total, note = self._stages[stage]
        failed = f" · {self._failures} failed" if stage == "scan" and self._failures else ""
        # A step of the scan that names itself (adapting to the folder, say) counts its own units, not images.
        if stage == "scan" and note and note.startswith(OWN_WORDS):
            self.label.setText(f"{note[0].upper()}{note[1:]} {done}/{total}{failed}")
        else:
            unit = f" {done}/{total} images" if stage == "scan" else ""
            extra = f" · {note}" if note else ""
            self.label.setText(f"{STAGE_NAMES.get(stage, stage.capitalize())}{unit}{extra}{failed}")
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.setVisible(True)
