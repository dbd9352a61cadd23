"""A dialog whose work runs in a worker: a status line, a progress bar and Cancel.

The tool dialogs (align, compare, equalization report) each run core work that can take
seconds to minutes; they share this so the window never blocks, every run can be
cancelled, and closing the dialog stops its work.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QBoxLayout, QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..thumbnails import rgb_qimage
from ..workers import Task, TaskContext, TaskRunner


def to_pixmap(image) -> QPixmap:
    """A PIL image as an RGB pixmap; the bytes are copied, so the PIL image may go."""
    return QPixmap.fromImage(rgb_qimage(image))


def add_button(row: QHBoxLayout, text: str, slot: Callable[[], Any]) -> QPushButton:
    button = QPushButton(text)
    button.clicked.connect(lambda _=False: slot())
    row.addWidget(button)
    return button


class WorkerDialog(QDialog):
    """Subclasses lay out their widgets, call :meth:`add_status`, and start work with :meth:`run`.

    :meth:`refresh` is called whenever :attr:`busy` changes; a subclass overrides it to
    enable or disable its own controls, and calls the base to show or hide the progress.
    """

    def __init__(self, runner: TaskRunner, slot: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._runner, self._slot = runner, slot
        self._task: Task | None = None
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.progress = QProgressBar(visible=False)
        self.cancel_button = QPushButton("Cancel", visible=False)
        self.cancel_button.clicked.connect(lambda _=False: self.cancel())

    def add_status(self, layout: QBoxLayout) -> None:
        layout.addWidget(self.status)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)

    @property
    def busy(self) -> bool:
        return self._task is not None

    def refresh(self) -> None:
        self.cancel_button.setVisible(self.busy)
        self.progress.setVisible(self.busy)

    def cancel(self) -> None:
        """Ask the running job to stop; it reports "Cancelled." once it has.

        This stops the task itself rather than the runner's slot: cancelling the slot drops
        the task's late signals, its cancellation too, and the dialog would stay busy."""
        if self._task is not None:
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Stopping…")

    def run(self, job: Callable[[TaskContext], Any], on_finished: Callable[[Any], None], note: str) -> None:
        """Run ``job`` in this dialog's worker slot (cancelling any run before it)."""
        self.status.setText(note)
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)

        def finished(value) -> None:
            self._ended()
            on_finished(value)

        def failed(message: str) -> None:
            self._ended()
            self.status.setText(message)

        def cancelled() -> None:
            self._ended()
            self.status.setText("Cancelled.")

        self._task = self._runner.start(self._slot, job, on_finished=finished, on_progress=self._progressed,
                                        on_failed=failed, on_cancelled=cancelled)
        self.refresh()

    def _ended(self) -> None:
        self._task = None
        self.refresh()

    def _progressed(self, done: int, total: int, note: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{note}: %v / %m" if note else "%v / %m")

    def closeEvent(self, event) -> None:
        self._runner.cancel(self._slot)
        super().closeEvent(event)
