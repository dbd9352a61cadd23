"""The shared worker dialog: Cancel stops the job and the dialog becomes usable again."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QVBoxLayout

from organizer.gui.dialogs.worker_dialog import WorkerDialog
from organizer.jobs.tasks import Cancelled


def wait_to_be_stopped(context) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if context.should_stop():
            raise Cancelled()
        time.sleep(0.01)


def test_cancel_reports_cancelled_and_ends_the_busy_state(qtbot, runner):
    dialog = WorkerDialog(runner, "tool")
    dialog.add_status(QVBoxLayout(dialog))
    qtbot.addWidget(dialog)
    finished = []
    dialog.run(wait_to_be_stopped, finished.append, "Working…")
    assert dialog.busy and dialog.cancel_button.isVisibleTo(dialog)
    dialog.cancel_button.click()
    assert dialog.status.text() == "Stopping…" and not dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=5000)
    assert dialog.status.text() == "Cancelled." and finished == []
    assert not dialog.cancel_button.isVisibleTo(dialog) and not dialog.progress.isVisibleTo(dialog)

    dialog.run(lambda _context: 42, finished.append, "Again…")
    assert dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: finished == [42], timeout=5000)
